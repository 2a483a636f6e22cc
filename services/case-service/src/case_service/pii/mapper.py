"""The library's mapper with one step added: personal leaves sealed with their subject's key.

Order on write: the event's state -> personal leaves sealed with the subject's data key
(fields.py) -> JSON -> the whole-record cipher (master key). The stored bytes, which the
audit chain hashes, are therefore the same before and after erasure: erasure destroys a
key, never a byte of the record. A snapshot (a cache, not the record) is sealed whole with
the borrower's key and deleted when the case is erased.

On read, `open_personal` decides what a sealed leaf becomes: its clear value (the API, the
write side, `arrears-audit`) or, unchanged, the sealed object (the relay and the feed,
which publish it so that only consumers holding the key read it).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable
from json import JSONDecoder
from typing import Any, cast
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.domain import DomainEventProtocol, Snapshot
from eventsourcing.persistence import (
    JSONTranscoder,
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
    find_id_convertor,
)
from eventsourcing.utils import get_topic, resolve_topic

from case_service.cipher import fresh_nonce
from case_service.pii.fields import (
    ERASED,
    SEALED_KEYS,
    copy_containers,
    leaves,
    open_all,
    open_sealed,
    seal,
)
from case_service.pii.keys import SubjectErased, SubjectKeys

SNAPSHOT_MAGIC = b"PII1"  # then the subject id (32 ASCII), nonce (12), sealed state


class _OpeningFailed(Exception):
    """What opening a sealed leaf raised while the JSON was parsed, carried out of the
    parser to be raised as it is (as when leaves were opened after parsing)."""

    def __init__(self, error: Exception) -> None:
        self.error = error


def _opening_decoder(transcoder: JSONTranscoder, keys: SubjectKeys) -> JSONDecoder:
    """The transcoder's JSON decoder that also opens each sealed leaf as it is parsed: what
    `open_all` does to the decoded state, without a second walk over every value of it (a
    fifth of a cold case's read). A sealed leaf has three keys, a transcoded value two."""
    decode_obj: Callable[[dict[str, Any]], Any] = transcoder._decode_obj
    key_for = keys.for_reading

    def hook(d: dict[str, Any]) -> Any:
        if len(d) == 3 and d.keys() == SEALED_KEYS:
            try:
                return open_sealed(key_for(d["key_id"]), d)
            except Exception as exc:
                raise _OpeningFailed(exc) from exc
        return decode_obj(d)

    return JSONDecoder(object_hook=hook)


class PersonalDataMapper(Mapper[UUID]):
    keys: SubjectKeys | None = None  # bound by the application once its store exists
    open_personal: bool = True

    def sealed_view(self) -> PersonalDataMapper:
        """The same mapper, leaving personal leaves sealed on read (the relay, the feed)."""
        view = copy.copy(self)
        view.open_personal = False
        return view

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        topic = get_topic(domain_event.__class__)
        event_state = dict(vars(domain_event))
        originator_id = event_state.pop("originator_id")
        originator_version = event_state.pop("originator_version")
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            event_state["class_version"] = class_version
        personal = tuple(getattr(type(domain_event), "personal_data", ()))
        if self.keys is not None and personal:
            new_case = originator_version == 1
            event_state = self._seal_leaves(originator_id, event_state, personal, new_case)
        stored_state = self.transcoder.encode(event_state)
        if self.keys is not None and isinstance(domain_event, Snapshot):
            stored_state = self._seal_snapshot(originator_id, stored_state)
        if self.compressor:
            stored_state = self.compressor.compress(stored_state)
        if self.cipher:
            stored_state = self.cipher.encrypt(stored_state)
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=topic,
            state=stored_state,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        cls = resolve_topic(stored_event.topic)
        opening = self._opener() if bool(getattr(cls, "personal_data", ())) else None
        stored_state = stored_event.state
        try:
            if self.cipher:
                stored_state = self.cipher.decrypt(stored_state)
            if self.compressor:
                stored_state = self.compressor.decompress(stored_state)
            if stored_state.startswith(SNAPSHOT_MAGIC):
                stored_state = self._open_snapshot(stored_state)
            if opening is None:
                event_state: dict[str, Any] = self.transcoder.decode(stored_state)
            else:
                event_state = opening.decode(stored_state.decode("utf8"))
        except _OpeningFailed as failed:
            raise failed.error from failed.error.__cause__
        except Exception as e:
            msg = (
                f"Failed to deserialise state of stored event with topic '{stored_event.topic}', "
                f"originator_id '{stored_event.originator_id}' and "
                f"originator_version {stored_event.originator_version}: {e}"
            )
            raise MapperDeserialisationError(msg) from e
        personal = bool(getattr(cls, "personal_data", ()))
        if personal and opening is None and self.open_personal and self.keys is not None:
            open_all(event_state, self.keys.for_reading)  # another transcoder than JSON's
        id_convertor = find_id_convertor(cls, cast(Hashable, type(stored_event.originator_id)))
        event_state["originator_id"] = id_convertor(stored_event.originator_id)
        event_state["originator_version"] = stored_event.originator_version
        class_version = getattr(cls, "class_version", 1)
        from_version = event_state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(event_state)
            from_version += 1
        domain_event = object.__new__(cls)
        object.__setattr__(domain_event, "__dict__", event_state)
        return cast(DomainEventProtocol[UUID], domain_event)

    def _opener(self) -> JSONDecoder | None:
        """The decoder that opens sealed leaves as it parses, when they are to be opened."""
        if not self.open_personal or self.keys is None:
            return None
        if not isinstance(self.transcoder, JSONTranscoder):
            return None
        made = self.__dict__.get("_opening")
        if made is None or made[0] is not self.keys or made[1] is not self.transcoder:
            made = (self.keys, self.transcoder, _opening_decoder(self.transcoder, self.keys))
            self.__dict__["_opening"] = made
        decoder: JSONDecoder = made[2]
        return decoder

    def _seal_leaves(
        self, case_id: UUID, state: dict[str, Any], personal: tuple[str, ...], new_case: bool
    ) -> dict[str, Any]:
        assert self.keys is not None
        # Copies of the personal attributes' containers only (the aggregate keeps the clear
        # values it applied); a whole attribute (a str) is replaced in `state`, the caller's
        # own copy of the event's attributes, and the rest of the state is not touched, so
        # neither is copied.
        for name in personal:
            value = state.get(name)
            if isinstance(value, (dict, list)):
                state[name] = copy_containers(value)
        # Each subject's id and key, found once per event (an event's leaves mostly share one).
        subjects: dict[str, tuple[str, bytes, AESGCM] | None] = {}
        for container, key, role in leaves(state, personal):
            if role in subjects:
                subject = subjects[role]
            else:
                subject = subjects[role] = self._subject(case_id, role, new_case)
            if subject is None:
                container[key] = ERASED  # nothing may be kept for an erased subject
                continue
            subject_id, subject_ad, aead = subject
            container[key] = seal(aead, subject_id, container[key], subject_ad)
        return state

    def _subject(
        self, case_id: UUID, role: str, new_case: bool
    ) -> tuple[str, bytes, AESGCM] | None:
        """The subject's id (also as bytes: the associated data) and key; None once erased."""
        assert self.keys is not None
        subject_id = self.keys.ref(case_id, role)
        try:
            aead = self.keys.for_writing(subject_id, case_id, role, new_case=new_case)
        except SubjectErased:
            return None
        return subject_id, subject_id.encode(), aead

    def _seal_snapshot(self, case_id: UUID, state: bytes) -> bytes:
        assert self.keys is not None
        subject_id = self.keys.ref(case_id, "borrower")
        try:
            aead = self.keys.for_writing(subject_id, case_id, "borrower")
        except SubjectErased:
            return state  # an erased case's state holds only ERASED where data was
        nonce = fresh_nonce()
        sealed = aead.encrypt(nonce, state, subject_id.encode())
        return SNAPSHOT_MAGIC + subject_id.encode() + nonce + sealed

    def _open_snapshot(self, stored: bytes) -> bytes:
        if self.keys is None:
            raise ValueError("a sealed snapshot needs the subject keys")
        start = len(SNAPSHOT_MAGIC)
        subject_id = stored[start : start + 32].decode()
        aead = self.keys.for_reading(subject_id)
        if aead is None:
            raise InvalidTag(f"the snapshot's subject {subject_id} was erased")
        body = stored[start + 32 :]
        return aead.decrypt(body[:12], body[12:], subject_id.encode())
