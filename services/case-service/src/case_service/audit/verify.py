"""`verify`: recompute every case's chain and every checkpoint from the store.

The chain pass names the first case and version whose stored bytes, order or presence no
longer match; the tree pass then checks that each signed checkpoint is the root of the
store's chain hashes up to its size (so consecutive checkpoints are consistent: both are
prefixes of the same sequence), signed by the published key.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from uuid import UUID

from case_service.audit.canonical import GENESIS, event_hash
from case_service.audit.merkle import CompactRange, leaf_hash
from case_service.audit.note import NoteError, VerifierKey, open_note
from case_service.audit.store import AuditStore, ChainedEvent, StoredCheckpoint


@dataclass(frozen=True)
class Finding:
    what: str
    case_id: UUID | None = None
    version: int | None = None

    def __str__(self) -> str:
        if self.case_id is None:
            return self.what
        return f"case {self.case_id} version {self.version}: {self.what}"


@dataclass
class Report:
    events: int = 0
    cases: int = 0
    checkpoints: int = 0
    finding: Finding | None = None


def verify_chains(events: Iterator[ChainedEvent], report: Report) -> Finding | None:
    case: UUID | None = None
    expected, prev = 1, GENESIS
    for row in events:
        if row.originator_id != case:
            case, expected, prev = row.originator_id, 1, GENESIS
            report.cases += 1
        found = _check_event(row, expected, prev)
        if found is not None:
            return found
        assert row.hash is not None
        prev, expected = row.hash, expected + 1
        report.events += 1
    return None


def _check_event(row: ChainedEvent, expected: int, prev: bytes) -> Finding | None:
    """`prev`: the hash of the case's previous event as stored (the link this one's hash
    covers), so a changed hash shows at its own version, a broken link at the next."""
    case, version = row.originator_id, row.originator_version
    if version != expected:
        return Finding(f"missing (the case goes on at version {version})", case, expected)
    if row.state is None or row.topic is None:
        return Finding("the event has no state or topic", case, version)
    if row.hash is None or row.recorded_at is None:
        return Finding("the event has no chain entry (inserted outside the store?)", case, version)
    digest = event_hash(prev, case, version, row.topic, row.state, row.recorded_at)
    if digest != row.hash:
        return Finding("the stored event does not match its hash", case, version)
    return None


def verify_checkpoints(store: AuditStore, key: VerifierKey, report: Report) -> Finding | None:
    leaves = store.leaves(0)
    tree = CompactRange()
    position = 0
    for checkpoint in store.all_checkpoints():
        found = _check_signature(checkpoint, key)
        if found is not None:
            return found
        previous = position
        while tree.size < checkpoint.tree_size:
            step = next(leaves, None)
            if step is None:
                return Finding(
                    f"checkpoint {checkpoint.tree_size} signed {checkpoint.tree_size} events; "
                    f"the store holds {tree.size} (events deleted after notification {previous})"
                )
            position = step[0]
            tree.append(leaf_hash(step[1]))
        if tree.root() != checkpoint.root or position != checkpoint.last_notification_id:
            return Finding(
                f"checkpoint {checkpoint.tree_size}: the store's events between notification "
                f"{previous} and {checkpoint.last_notification_id} are not the ones it signed "
                "(an event inserted, deleted or moved)"
            )
        report.checkpoints += 1
    return None


def _check_signature(checkpoint: StoredCheckpoint, key: VerifierKey) -> Finding | None:
    try:
        signed = open_note(checkpoint.note, key)
    except NoteError as exc:
        return Finding(f"checkpoint {checkpoint.tree_size}: {exc}")
    if (signed.tree_size, signed.root) != (checkpoint.tree_size, checkpoint.root):
        return Finding(f"checkpoint {checkpoint.tree_size}: its columns differ from its note")
    if signed.origin != key.name:
        return Finding(f"checkpoint {checkpoint.tree_size}: origin {signed.origin!r}")
    return None


def verify_kept(store: AuditStore, key: VerifierKey, notes: Sequence[str]) -> Finding | None:
    """Checkpoints an auditor kept from earlier (files, the API): the store must still hold
    their trees, whatever checkpoints it holds now (a re-signed rewrite shows here)."""
    kept = []
    for note in notes:
        try:
            kept.append(open_note(note, key))
        except NoteError as exc:
            return Finding(f"a kept checkpoint: {exc}")
    tree = CompactRange()
    leaves = store.leaves(0)
    for checkpoint in sorted(kept, key=lambda c: c.tree_size):
        while tree.size < checkpoint.tree_size:
            step = next(leaves, None)
            if step is None:
                return Finding(
                    f"kept checkpoint {checkpoint.tree_size}: the store holds {tree.size} events"
                )
            tree.append(leaf_hash(step[1]))
        if tree.root() != checkpoint.root:
            return Finding(
                f"kept checkpoint {checkpoint.tree_size}: the store's history up to it was "
                "rewritten since it was signed"
            )
    return None


def verify_store(store: AuditStore, key: VerifierKey, kept: Sequence[str] = ()) -> Report:
    report = Report()
    report.finding = (
        verify_chains(store.chained_events(), report)
        or verify_checkpoints(store, key, report)
        or verify_kept(store, key, kept)
    )
    return report
