"""Reads of the chain and the checkpoints, and the checkpoints' one write."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Identifier

from case_service.audit.chain import CHECKPOINTS
from case_service.log_pages import page_in_order

PAGE = 5000


@dataclass(frozen=True)
class StoredCheckpoint:
    tree_size: int
    last_notification_id: int
    root: bytes
    recorded_at: datetime
    key_name: str
    key_id: bytes
    signature: bytes
    note: str

    def public(self) -> dict[str, Any]:
        return {
            "tree_size": self.tree_size,
            "last_notification_id": self.last_notification_id,
            "root_hash": self.root.hex(),
            "recorded_at": self.recorded_at.isoformat(),
            "key_name": self.key_name,
            "key_id": self.key_id.hex(),
            "note": self.note,
        }


@dataclass(frozen=True)
class ChainedEvent:
    """An event row with its chain columns, which are missing (None) on an event written
    outside the store (or before the chain)."""

    originator_id: UUID
    originator_version: int
    notification_id: int
    topic: str | None
    state: bytes | None
    recorded_at: datetime | None
    hash: bytes | None


class AuditStore:
    def __init__(self, recorder: PostgresApplicationRecorder) -> None:
        self.datastore = recorder.datastore
        schema = Identifier(recorder.datastore.schema)
        events = SQL("{}.{}").format(schema, Identifier(recorder.events_table_name))
        checkpoints = SQL("{}.{}").format(schema, Identifier(CHECKPOINTS))
        # The Merkle leaves: the chained events' hashes in notification order.
        self._leaves = SQL("SELECT notification_id, hash FROM {} {}").format(
            events, SQL(page_in_order("notification_id", also="hash IS NOT NULL"))
        )
        self._rows = SQL(
            "SELECT originator_id, originator_version, notification_id, topic, state, "
            "recorded_at, hash FROM {} WHERE (originator_id, originator_version) > (%s, %s) {} "
            "ORDER BY originator_id, originator_version LIMIT %s"
        )
        self._all = self._rows.format(events, SQL(""))
        self._one_case = self._rows.format(events, SQL("AND originator_id = %s"))
        columns = SQL(
            "tree_size, last_notification_id, root, recorded_at, key_name, key_id, signature, note"
        )
        self._checkpoints_after = SQL(
            "SELECT {} FROM {} WHERE tree_size > %s ORDER BY tree_size LIMIT %s"
        ).format(columns, checkpoints)
        self._at = SQL("SELECT {} FROM {} WHERE tree_size = %s").format(columns, checkpoints)
        self._latest = SQL("SELECT {} FROM {} ORDER BY tree_size DESC LIMIT 1").format(
            columns, checkpoints
        )
        self._insert = SQL("INSERT INTO {} ({}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)").format(
            checkpoints, columns
        )

    def leaves(self, after_notification_id: int = 0) -> Iterator[tuple[int, bytes]]:
        """(notification id, chain hash) of every chained event after one, in order."""
        position = after_notification_id
        while True:
            with self.datastore.transaction(commit=False) as curs:
                curs.execute(self._leaves, (position, PAGE))
                rows = curs.fetchall()
            for row in rows:
                yield row["notification_id"], bytes(row["hash"])
            if len(rows) < PAGE:
                return
            position = rows[-1]["notification_id"]

    def chained_events(self, case_id: UUID | None = None) -> Iterator[ChainedEvent]:
        """Every event with its chain columns, by case and version (one case if named)."""
        after: tuple[UUID, int] = (UUID(int=0), 0)
        while True:
            with self.datastore.transaction(commit=False) as curs:
                if case_id is None:
                    curs.execute(self._all, (*after, PAGE))
                else:
                    curs.execute(self._one_case, (*after, case_id, PAGE))
                rows = curs.fetchall()
            for row in rows:
                yield ChainedEvent(
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    notification_id=row["notification_id"],
                    topic=row["topic"],
                    state=_bytes(row["state"]),
                    recorded_at=row["recorded_at"],
                    hash=_bytes(row["hash"]),
                )
            if len(rows) < PAGE:
                return
            after = (rows[-1]["originator_id"], rows[-1]["originator_version"])

    def checkpoints(self, after_tree_size: int = 0, limit: int = 1000) -> list[StoredCheckpoint]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._checkpoints_after, (after_tree_size, limit))
            return [_checkpoint(row) for row in curs.fetchall()]

    def all_checkpoints(self) -> Iterator[StoredCheckpoint]:
        after = 0
        while True:
            page = self.checkpoints(after, PAGE)
            yield from page
            if len(page) < PAGE:
                return
            after = page[-1].tree_size

    def checkpoint_at(self, tree_size: int) -> StoredCheckpoint | None:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._at, (tree_size,))
            row = curs.fetchone()
        return _checkpoint(row) if row else None

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._latest)
            row = curs.fetchone()
        return _checkpoint(row) if row else None

    def save_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                self._insert,
                (
                    checkpoint.tree_size,
                    checkpoint.last_notification_id,
                    checkpoint.root,
                    checkpoint.recorded_at,
                    checkpoint.key_name,
                    checkpoint.key_id,
                    checkpoint.signature,
                    checkpoint.note,
                ),
            )


def _bytes(value: Any) -> bytes | None:
    return bytes(value) if value is not None else None


def _checkpoint(row: Any) -> StoredCheckpoint:
    return StoredCheckpoint(
        tree_size=row["tree_size"],
        last_notification_id=row["last_notification_id"],
        root=bytes(row["root"]),
        recorded_at=row["recorded_at"],
        key_name=row["key_name"],
        key_id=bytes(row["key_id"]),
        signature=bytes(row["signature"]),
        note=row["note"],
    )
