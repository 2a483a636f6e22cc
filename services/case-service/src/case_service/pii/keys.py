"""Data keys per data subject, wrapped by the master key, kept in case-service's store.

A subject is a person as this case knows them: the borrower, or one guarantor, of one case.
Its id is a keyed pseudonym (HMAC-SHA-256 of the case id and role, under the subject-ref
key), so the table and every published reference name no borrower. Keys are scoped to the
case because retention runs per case (a person with two loans has two records, each erased
when its own retention ends). Erasing a subject destroys its wrapped key: every value sealed
with it, in events, snapshots, Kafka messages and backups, is then unreadable.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from base64 import b64decode
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Identifier

from case_service.cipher import FastAESCipher

KEY_BYTES = 32

# The table is case_service.schema.SUBJECT_KEYS, created by migration 0002.


class SubjectErased(Exception):
    """The subject's key was destroyed: its personal data can no longer be read or written."""


@dataclass(frozen=True)
class _Cached:
    aead: AESGCM | None  # None: erased (or never created)
    until: float


class SubjectKeys:
    """Creates, unwraps, caches (for a bounded time) and destroys subjects' data keys."""

    def __init__(
        self,
        datastore: PostgresDatastore,
        master: FastAESCipher,
        ref_key: bytes,
        ttl_seconds: float = 300.0,
        max_cached: int = 50_000,
    ) -> None:
        self._datastore = datastore
        self._master = master
        self._ref_key = ref_key
        self._ttl = ttl_seconds
        self._max = max_cached
        self._cache: dict[str, _Cached] = {}
        self._refs: dict[tuple[UUID, str], str] = {}
        self._committing: dict[str, AESGCM] = {}
        self._lock = threading.Lock()
        # Keys made for a case's first events, inserted by the recorder in their transaction
        # (no round trip of their own) and cached once that commits: case id -> rows.
        self._pending: dict[UUID, list[tuple[str, UUID, str, bytes, AESGCM]]] = {}
        table = Identifier(datastore.schema or "public"), Identifier("subject_keys")
        self._upsert = SQL(
            "WITH ins AS (INSERT INTO {}.{} (subject_id, case_id, role, wrapped_key) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (subject_id) DO NOTHING RETURNING wrapped_key) "
            "SELECT wrapped_key FROM ins UNION ALL "
            "SELECT wrapped_key FROM {}.{} WHERE subject_id = %s"
        ).format(*table, *table)
        # The new cases' keys and their case-index rows in one statement (one round trip),
        # composed once to bytes, the wrapped keys sent in binary and prepared by the recorder,
        # as the writer's other statements are (no measurable change in an opening's CPU).
        self.insert_with_cases = (
            SQL(
                "WITH k AS (INSERT INTO {}.{} (subject_id, case_id, role, wrapped_key) "
                "SELECT * FROM unnest(%s::text[], %s::uuid[], %s::text[], %b::bytea[]) "
                "ON CONFLICT (subject_id) DO NOTHING) "
                "INSERT INTO {}.case_index (case_id) SELECT unnest(%s::uuid[])"
            )
            .format(*table, table[0])
            .as_bytes(None)
        )
        self._select = SQL("SELECT wrapped_key FROM {}.{} WHERE subject_id = %s").format(*table)
        # Every subject of these cases (a cold case's borrower and guarantors), read with the
        # cases themselves by the command writer (persistence.CaseEventRecorder.read_batch).
        self.select_for_cases = SQL(
            "SELECT subject_id, wrapped_key FROM {}.{} WHERE case_id = ANY(%s::uuid[])"
        ).format(*table)
        self._select_many = SQL(
            "SELECT subject_id, wrapped_key FROM {}.{} WHERE subject_id = ANY(%s::text[])"
        ).format(*table)
        self._erase = SQL(
            "UPDATE {}.{} SET wrapped_key = NULL, erased_at = now() "
            "WHERE case_id = %s AND wrapped_key IS NOT NULL RETURNING subject_id"
        ).format(*table)

    def ref(self, case_id: UUID, role: str) -> str:
        """The subject's pseudonymous id: stable, and meaningless without the ref key."""
        found = self._refs.get((case_id, role))
        if found is None:
            digest = hmac.new(self._ref_key, f"{case_id}|{role}".encode(), hashlib.sha256)
            found = digest.hexdigest()[:32]
            if len(self._refs) >= self._max:
                self._refs.clear()
            self._refs[(case_id, role)] = found
        return found

    def for_writing(
        self, subject_id: str, case_id: UUID, role: str, *, new_case: bool = False
    ) -> AESGCM:
        """The subject's key, created on first use; SubjectErased once destroyed. For a
        case's first event (`new_case`) the key is made here and stored with the event."""
        cached = self._cached(subject_id)
        if cached is None:
            # A key made for this new case's first event and not yet stored: the case's later
            # events in the same save use it too (not a second key, stored on its own, that
            # the first event's insert would then lose to).
            with self._lock:
                for pending in self._pending.get(case_id, ()):
                    if pending[0] == subject_id:
                        return pending[4]
        if cached is None and new_case:
            key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
            aead = AESGCM(key)
            made = (subject_id, case_id, role, self._master.encrypt(key), aead)
            with self._lock:
                self._pending.setdefault(case_id, []).append(made)
            return aead
        if cached is None:
            wrapped = self._master.encrypt(AESGCM.generate_key(bit_length=KEY_BYTES * 8))
            with self._datastore.transaction(commit=True) as curs:
                curs.execute(self._upsert, (subject_id, case_id, role, wrapped, subject_id))
                row = curs.fetchone()
            cached = self._remember(subject_id, row["wrapped_key"] if row else None)
        if cached.aead is None:
            raise SubjectErased(subject_id)
        return cached.aead

    def take_pending(self, case_ids: Sequence[UUID]) -> list[tuple[str, UUID, str, bytes]]:
        """The rows to insert with these new cases' events (the recorder calls this)."""
        with self._lock:
            taken = [row for case_id in case_ids for row in self._pending.pop(case_id, [])]
            self._committing.update({row[0]: row[4] for row in taken})
        return [(subject, case, role, wrapped) for subject, case, role, wrapped, _ in taken]

    def committed(self, rows: Sequence[tuple[str, UUID, str, bytes]]) -> None:
        """Cache keys whose rows committed (a failed insert leaves the store's key to read)."""
        until = time.monotonic() + self._ttl
        with self._lock:
            for subject_id, *_ in rows:
                aead = self._committing.pop(subject_id, None)
                if aead is not None:
                    if len(self._cache) >= self._max:
                        self._cache.clear()
                    self._cache[subject_id] = _Cached(aead, until)

    def abandoned(self, rows: Sequence[tuple[str, UUID, str, bytes]]) -> None:
        """Forget keys whose rows did not commit (the case was opened by another writer)."""
        with self._lock:
            for subject_id, *_ in rows:
                self._committing.pop(subject_id, None)

    def for_reading(self, subject_id: str) -> AESGCM | None:
        """The subject's key, or None when erased (or never created)."""
        return self._entry(subject_id).aead

    def uncached_cases(self, case_ids: Sequence[UUID]) -> list[UUID]:
        """Those of these cases whose borrower's key is not cached (to read with the case)."""
        return [c for c in case_ids if self._cached(self.ref(c, "borrower")) is None]

    def remember_rows(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Cache keys read by `select_for_cases` (wrapped; an erased one as erased)."""
        for row in rows:
            self._remember(row["subject_id"], row["wrapped_key"])

    def prefetch(self, subject_ids: Sequence[str]) -> None:
        """Cache these subjects' keys with one query (bulk readers: the daily file)."""
        missing = list({s for s in subject_ids if self._cached(s) is None})
        if not missing:
            return
        with self._datastore.transaction(commit=False) as curs:
            curs.execute(self._select_many, (missing,))
            rows = curs.fetchall()
        for row in rows:
            self._remember(row["subject_id"], row["wrapped_key"])

    def fetch(self, subject_id: str) -> tuple[str, bytes | None]:
        """("active", key) | ("erased", None) | ("unknown", None), read from the store (not
        the cache), for a consumer entitled to the clear values."""
        return self.fetch_many([subject_id])[subject_id]

    def fetch_many(self, subject_ids: Sequence[str]) -> dict[str, tuple[str, bytes | None]]:
        """`fetch` for many subjects in one query (a consumer's rebuild): each id given ->
        its state and key."""
        wanted = list(dict.fromkeys(subject_ids))
        with self._datastore.transaction(commit=False) as curs:
            curs.execute(self._select_many, (wanted,))
            rows = {row["subject_id"]: row["wrapped_key"] for row in curs.fetchall()}
        found: dict[str, tuple[str, bytes | None]] = {}
        for subject_id in wanted:
            if subject_id not in rows:
                found[subject_id] = ("unknown", None)
            elif rows[subject_id] is None:
                found[subject_id] = ("erased", None)
            else:
                found[subject_id] = ("active", self._master.decrypt(bytes(rows[subject_id])))
        return found

    def erase_case(self, case_id: UUID) -> list[str]:
        """Destroy the keys of every subject of this case; the subjects erased now."""
        with self._datastore.transaction(commit=True) as curs:
            curs.execute(self._erase, (case_id,))
            erased = [row["subject_id"] for row in curs.fetchall()]
        self.forget(erased)
        return erased

    def forget(self, subject_ids: Sequence[str]) -> None:
        with self._lock:
            for subject_id in subject_ids:
                self._cache.pop(subject_id, None)

    def _entry(self, subject_id: str) -> _Cached:
        cached = self._cached(subject_id)
        if cached is None:
            with self._datastore.transaction(commit=False) as curs:
                curs.execute(self._select, (subject_id,))
                row = curs.fetchone()
            if row is None:  # not (yet) known: never cached, so a later key is seen at once
                return _Cached(None, 0.0)
            cached = self._remember(subject_id, row["wrapped_key"])
        return cached

    def _cached(self, subject_id: str) -> _Cached | None:
        cached = self._cache.get(subject_id)
        if cached is None or cached.until < time.monotonic():
            return None
        return cached

    def _remember(self, subject_id: str, wrapped: bytes | None) -> _Cached:
        key = self._master.decrypt(bytes(wrapped)) if wrapped is not None else None
        cached = _Cached(AESGCM(key) if key else None, time.monotonic() + self._ttl)
        with self._lock:
            if len(self._cache) >= self._max:
                self._cache.clear()  # bounded: a cold refill costs one query per subject
            self._cache[subject_id] = cached
        return cached


def ref_key_from(master_key_b64: str, explicit: str = "") -> bytes:
    """The subject-ref key: SUBJECT_REF_KEY if set, else derived from the master key. Keep
    it fixed across master-key rotations so a case's subjects keep their ids."""
    if explicit:
        return b64decode(explicit)
    return hmac.new(b64decode(master_key_b64), b"arrears/subject-ref", hashlib.sha256).digest()
