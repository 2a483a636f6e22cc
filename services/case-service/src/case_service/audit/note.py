"""Checkpoints as C2SP signed notes (c2sp.org/signed-note, c2sp.org/tlog-checkpoint), Ed25519.

A checkpoint's body (the signed text, every line ending in a newline):

    <origin>
    <tree size, decimal>
    <root hash, standard base64>
    time <recorded time, RFC 3339 UTC>        (an extension line; note verifiers ignore it)

and the note is the body, an empty line, and one signature line per signer:

    — <key name> <base64(key id (4 bytes) ‖ Ed25519 signature (64 bytes))>

key id = SHA-256(key name ‖ "\\n" ‖ 0x01 ‖ public key)[:4]. A verifier key is published in
the signed-note text form `<name>+<key id, 8 hex>+<base64(0x01 ‖ public key)>`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = 0x01
DASH = "\u2014"


class NoteError(ValueError):
    """A note, key or signature that is malformed or does not verify."""


def _key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public).digest()[:4]


def _check_name(name: str) -> str:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise NoteError("a key name is non-empty, with no spaces or '+'")
    return name


@dataclass(frozen=True)
class VerifierKey:
    name: str
    public: bytes  # the raw 32-byte Ed25519 public key

    @property
    def key_id(self) -> bytes:
        return _key_id(self.name, self.public)

    def text(self) -> str:
        encoded = base64.b64encode(bytes([ED25519]) + self.public).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        try:
            name, key_id, encoded = text.strip().split("+", 2)
            raw = base64.b64decode(encoded, validate=True)
        except (ValueError, binascii.Error):
            raise NoteError("a verifier key reads <name>+<key id>+<base64 key>") from None
        if len(raw) != 33 or raw[0] != ED25519:
            raise NoteError("not an Ed25519 verifier key")
        key = cls(_check_name(name), raw[1:])
        if key.key_id.hex() != key_id.lower():
            raise NoteError("the verifier key's id does not match its name and key")
        return key

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class SignerKey:
    name: str
    private: Ed25519PrivateKey

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> SignerKey:
        if len(seed) != 32:
            raise NoteError("an Ed25519 signing key is a 32-byte seed")
        return cls(_check_name(name), Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_base64(cls, name: str, text: str) -> SignerKey:
        try:
            seed = base64.b64decode(text.strip(), validate=True)
        except binascii.Error:
            raise NoteError("the signing key is not base64") from None
        return cls.from_seed(name, seed)

    @property
    def verifier(self) -> VerifierKey:
        public = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return VerifierKey(self.name, public)

    def sign_line(self, body: bytes) -> str:
        signature = self.private.sign(body)
        encoded = base64.b64encode(self.verifier.key_id + signature).decode()
        return f"{DASH} {self.name} {encoded}\n"


def new_seed_base64() -> str:
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    raw = Ed25519PrivateKey.generate().private_bytes(
        Encoding.Raw, PrivateFormat.Raw, NoEncryption()
    )
    return base64.b64encode(raw).decode()


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    tree_size: int
    root: bytes
    time: datetime

    def body(self) -> bytes:
        stamp = self.time.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        root = base64.b64encode(self.root).decode()
        return f"{self.origin}\n{self.tree_size}\n{root}\ntime {stamp}\n".encode()

    def sign(self, key: SignerKey) -> str:
        return self.body().decode() + "\n" + key.sign_line(self.body())


def open_note(note: str, key: VerifierKey) -> Checkpoint:
    """The checkpoint in `note` if `key` signed it; NoteError otherwise."""
    body, sep, signatures = note.partition("\n\n")
    if not sep or not body:
        raise NoteError("a signed note is a body, an empty line and signature lines")
    body_bytes = (body + "\n").encode()
    signed = False
    for line in signatures.splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH:
            raise NoteError("a signature line reads '— <name> <base64>'")
        try:
            raw = base64.b64decode(parts[2], validate=True)
        except binascii.Error:
            raise NoteError("a signature is not base64") from None
        if base64.b64encode(raw).decode() != parts[2]:
            raise NoteError("a signature is not in canonical base64")
        if parts[1] != key.name or raw[:4] != key.key_id:
            continue  # another signer's line (a witness): not ours to check
        if len(raw) != 68 or not key.verify(body_bytes, raw[4:]):
            raise NoteError(f"the signature by {key.name} does not verify")
        signed = True
    if not signed:
        raise NoteError(f"not signed by {key.name} (key id {key.key_id.hex()})")
    return parse_body(body_bytes)


def parse_body(body: bytes) -> Checkpoint:
    lines = body.decode().split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise NoteError("a checkpoint body has an origin, a size and a root hash")
    origin, size, root = lines[0], lines[1], lines[2]
    if not size.isdigit() or (size != "0" and size.startswith("0")):
        raise NoteError("the tree size is a decimal number")
    try:
        root_hash = base64.b64decode(root, validate=True)
    except binascii.Error:
        raise NoteError("the root hash is not base64") from None
    if len(root_hash) != 32:
        raise NoteError("the root hash is 32 bytes")
    times = [line[5:] for line in lines[3:-1] if line.startswith("time ")]
    if len(times) != 1:
        raise NoteError("the checkpoint has no time line")
    moment = datetime.fromisoformat(times[0].replace("Z", "+00:00"))
    return Checkpoint(origin, int(size), root_hash, moment)
