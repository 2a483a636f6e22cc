"""Follows the chain in notification order and signs a checkpoint every N events or T seconds."""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import Gauge

from case_service.audit.merkle import CompactRange, leaf_hash
from case_service.audit.note import Checkpoint, NoteError, SignerKey
from case_service.audit.store import AuditStore, StoredCheckpoint
from case_service.settings import CaseServiceSettings

_log = logging.getLogger(__name__)
TREE_SIZE = Gauge("arrears_checkpoint_tree_size", "events covered by the latest signed checkpoint")
UNSIGNED = Gauge("arrears_checkpoint_unsigned_events", "chained events not yet in a checkpoint")


class CheckpointerSettings(CaseServiceSettings):
    # The Ed25519 signing key: a base64 32-byte seed, or a file holding one (a mounted secret).
    checkpoint_signing_key: str = ""
    checkpoint_signing_key_file: str = ""
    checkpoint_every_events: int = 1000
    checkpoint_every_seconds: float = 10.0
    checkpoint_poll_seconds: float = 1.0
    checkpointer_metrics_port: int = 0


class StoreTampered(Exception):
    """The store no longer holds what an earlier checkpoint signed: refuse to sign over it."""


def signer_from(settings: CheckpointerSettings) -> SignerKey:
    text = settings.checkpoint_signing_key
    if not text and settings.checkpoint_signing_key_file:
        text = Path(settings.checkpoint_signing_key_file).read_text()
    if not text:
        raise NoteError("no CHECKPOINT_SIGNING_KEY or CHECKPOINT_SIGNING_KEY_FILE is set")
    return SignerKey.from_base64(settings.checkpoint_origin, text)


class Checkpointer:
    def __init__(
        self,
        store: AuditStore,
        signer: SignerKey,
        *,
        every_events: int = 1000,
        every_seconds: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.signer = signer
        self.every_events = every_events
        self.every_seconds = every_seconds
        self._monotonic = monotonic
        self.tree = CompactRange()
        self.position = 0  # the last notification id in the tree
        self.signed_size = 0
        self._signed_at = monotonic()

    def resume(self) -> None:
        """Rebuild the tree from the store, checking it still holds the last checkpoint."""
        latest = self.store.latest_checkpoint()
        for notification_id, chain_hash in self.store.leaves(0):
            if latest is not None and self.tree.size == latest.tree_size:
                self._check(latest)
            self.tree.append(leaf_hash(chain_hash))
            self.position = notification_id
        if latest is not None:
            if self.tree.size < latest.tree_size:
                raise StoreTampered(
                    f"the checkpoint of size {latest.tree_size} signed more events than the "
                    f"store holds ({self.tree.size})"
                )
            if self.tree.size == latest.tree_size:
                self._check(latest)
            self.signed_size = latest.tree_size
        UNSIGNED.set(self.tree.size - self.signed_size)

    def _check(self, latest: StoredCheckpoint) -> None:
        if self.tree.root() != latest.root or self.position != latest.last_notification_id:
            raise StoreTampered(
                f"the store no longer matches the checkpoint of size {latest.tree_size}"
            )

    def step(self) -> StoredCheckpoint | None:
        """Take in new events; sign if N are waiting or T seconds passed. The new checkpoint."""
        for notification_id, chain_hash in self.store.leaves(self.position):
            self.tree.append(leaf_hash(chain_hash))
            self.position = notification_id
        waiting = self.tree.size - self.signed_size
        UNSIGNED.set(waiting)
        due = self._monotonic() - self._signed_at >= self.every_seconds
        if waiting == 0 or (waiting < self.every_events and not due):
            return None
        return self.sign()

    def sign(self) -> StoredCheckpoint:
        now = datetime.now(UTC)  # the real clock: checkpoints are never on business time
        checkpoint = Checkpoint(self.signer.name, self.tree.size, self.tree.root(), now)
        note = checkpoint.sign(self.signer)
        signature = base64.b64decode(note.rsplit(" ", 1)[1])[4:]
        stored = StoredCheckpoint(
            tree_size=checkpoint.tree_size,
            last_notification_id=self.position,
            root=checkpoint.root,
            recorded_at=now,
            key_name=self.signer.name,
            key_id=self.signer.verifier.key_id,
            signature=signature,
            note=note,
        )
        self.store.save_checkpoint(stored)
        self.signed_size = stored.tree_size
        self._signed_at = self._monotonic()
        TREE_SIZE.set(stored.tree_size)
        UNSIGNED.set(0)
        _log.info("checkpoint signed", extra={"tree_size": stored.tree_size})
        return stored

    def run(self, stop: threading.Event, poll_seconds: float) -> None:
        self.resume()
        while not stop.is_set():
            try:
                self.step()
            except StoreTampered:
                raise
            except Exception:  # the database away for a moment: try again on the next poll
                _log.exception("checkpoint step failed")
            stop.wait(poll_seconds)
