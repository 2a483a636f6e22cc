"""A case's offline evidence: its events as stored, their chain, and inclusion proofs against
a signed checkpoint. `verify_bundle` needs only the bundle's bytes and the verifier key.

The file is canonical JSON (`render`): every value is checked, then the whole file is rebuilt
from the checked values and must equal the bytes given, so no byte can change unnoticed.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any
from uuid import UUID

from case_service.audit.canonical import FORMAT_TAG, GENESIS, event_hash
from case_service.audit.merkle import ProofError, Tree, leaf_hash, verify_inclusion
from case_service.audit.note import NoteError, VerifierKey, open_note
from case_service.audit.store import AuditStore

FORMAT = "arrears.case-bundle.v1"


class BundleError(ValueError):
    """The bundle does not prove what it claims; the message names where."""


def render(bundle: dict[str, Any]) -> bytes:
    return (json.dumps(bundle, indent=2, ensure_ascii=True) + "\n").encode()


def _event(
    version: int,
    topic: str,
    state: bytes,
    recorded_at: datetime,
    prev: bytes,
    digest: bytes,
    position: int | None,
    proof: list[bytes] | None,
) -> dict[str, Any]:
    return {
        "version": version,
        "topic": topic,
        "state": base64.b64encode(state).decode(),
        "recorded_at": recorded_at.isoformat(timespec="microseconds"),
        "prev_hash": prev.hex(),
        "hash": digest.hex(),
        "leaf_index": position,
        "inclusion_proof": [p.hex() for p in proof] if proof is not None else None,
    }


def _bundle(case_id: UUID, events: list[dict[str, Any]], note: str | None) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "canonical": FORMAT_TAG.decode(),
        "case_id": str(case_id),
        "events": events,
        "checkpoint": note,
    }


def export_bundle(store: AuditStore, case_id: UUID) -> dict[str, Any]:
    rows = list(store.chained_events(case_id))
    if not rows:
        raise BundleError(f"no case {case_id}")
    checkpoint = store.latest_checkpoint()
    index: dict[int, int] = {}
    hashes: list[bytes] = []
    if checkpoint is not None:
        for leaf_index, (notification_id, chain_hash) in enumerate(store.leaves(0)):
            if leaf_index == checkpoint.tree_size:
                break
            hashes.append(leaf_hash(chain_hash))
            index[notification_id] = leaf_index
    tree = Tree(hashes)
    events = []
    prev = GENESIS  # each event's previous hash: its previous version's, as stored
    for row in rows:
        if row.state is None or row.topic is None or row.hash is None or row.recorded_at is None:
            raise BundleError(f"case {case_id} version {row.originator_version} is not chained")
        position = index.get(row.notification_id)
        proof = tree.inclusion_proof(position) if position is not None else None
        events.append(
            _event(
                row.originator_version,
                row.topic,
                row.state,
                row.recorded_at,
                prev,
                row.hash,
                position,
                proof,
            )
        )
        prev = row.hash
    return _bundle(case_id, events, checkpoint.note if checkpoint else None)


def verify_bundle(data: bytes, key: VerifierKey) -> str:
    """A one-line summary if the bundle holds; BundleError naming the first failure."""
    try:
        bundle = json.loads(data)
        summary = _verify(bundle, key)
    except BundleError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BundleError(f"malformed bundle: {exc!r}") from None
    if render(bundle) != data:
        raise BundleError("the bundle's bytes are not the ones its values render to (edited?)")
    return summary


def _verify(bundle: dict[str, Any], key: VerifierKey) -> str:
    if not isinstance(bundle, dict) or bundle.get("format") != FORMAT:
        raise BundleError(f"not an {FORMAT} bundle")
    case_id = UUID(bundle["case_id"])
    if not isinstance(bundle["checkpoint"], str):
        raise BundleError("the bundle has no signed checkpoint")
    try:
        checkpoint = open_note(bundle["checkpoint"], key)
    except NoteError as exc:
        raise BundleError(f"checkpoint: {exc}") from None
    prev, covered, rebuilt = GENESIS, 0, []
    for expected, event in enumerate(bundle["events"], start=1):
        where = f"case {case_id} version {expected}"
        if event["version"] != expected:
            raise BundleError(f"{where}: missing")
        recorded_at = datetime.fromisoformat(event["recorded_at"])
        state = base64.b64decode(event["state"], validate=True)
        digest = event_hash(prev, case_id, expected, event["topic"], state, recorded_at)
        if event["hash"] != digest.hex():
            raise BundleError(f"{where}: the event does not match its hash")
        proof = None
        if event["inclusion_proof"] is not None:
            if covered != expected - 1:
                raise BundleError(f"{where}: an earlier event is not in the checkpoint")
            proof = [bytes.fromhex(p) for p in event["inclusion_proof"]]
            try:
                verify_inclusion(
                    event["leaf_index"],
                    checkpoint.tree_size,
                    leaf_hash(digest),
                    proof,
                    checkpoint.root,
                )
            except ProofError as exc:
                raise BundleError(f"{where}: not in the signed checkpoint ({exc})") from None
            covered += 1
        rebuilt.append(
            _event(
                expected,
                event["topic"],
                state,
                recorded_at,
                prev,
                digest,
                event["leaf_index"] if proof is not None else None,
                proof,
            )
        )
        if rebuilt[-1] != event:
            raise BundleError(f"{where}: a field is not as the checked values render")
        prev = digest
    if not rebuilt:
        raise BundleError(f"case {case_id}: the bundle holds no events")
    if _bundle(case_id, rebuilt, bundle["checkpoint"]) != bundle:
        raise BundleError("the bundle has fields that are not as the checked values render")
    total = len(rebuilt)
    tail = f"; {total - covered} later event(s) not yet checkpointed" if covered < total else ""
    return (
        f"bundle verified: case {case_id}, {total} events, {covered} included in the "
        f"checkpoint of {checkpoint.tree_size} events signed by {key.name} at "
        f"{checkpoint.time.isoformat()}{tail}"
    )
