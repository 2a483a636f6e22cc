"""Consistency between two signed checkpoints: the proof made from the store, and its offline
check with the published key alone (RFC 9162 §2.1.4)."""

from __future__ import annotations

from itertools import islice
from typing import Any

from case_service.audit.merkle import ProofError, consistency_proof, leaf_hash, verify_consistency
from case_service.audit.note import NoteError, VerifierKey, open_note
from case_service.audit.store import AuditStore, StoredCheckpoint

FORMAT = "arrears.consistency.v1"


class ConsistencyError(ValueError):
    """Two checkpoints that are not shown consistent; the message says why."""


def prove(store: AuditStore, old: StoredCheckpoint, new: StoredCheckpoint) -> dict[str, Any]:
    """The proof that `old`'s tree is a prefix of `new`'s, with both signed notes. It reads
    the first `new.tree_size` chain hashes: O(n), for auditors, not for hot paths."""
    leaves = [leaf_hash(h) for _, h in islice(store.leaves(0), new.tree_size)]
    if len(leaves) < new.tree_size:
        raise ConsistencyError(f"the store holds fewer events than checkpoint {new.tree_size}")
    return {
        "format": FORMAT,
        "old_checkpoint": old.note,
        "new_checkpoint": new.note,
        "proof": [p.hex() for p in consistency_proof(old.tree_size, leaves)],
    }


def check(document: dict[str, Any], key: VerifierKey) -> str:
    """A one-line summary if both notes are signed by `key` and the proof links them."""
    try:
        if document.get("format") != FORMAT:
            raise ConsistencyError(f"not an {FORMAT} document")
        old = open_note(document["old_checkpoint"], key)
        new = open_note(document["new_checkpoint"], key)
        proof = [bytes.fromhex(p) for p in document["proof"]]
        verify_consistency(old.tree_size, new.tree_size, proof, old.root, new.root)
    except (NoteError, ProofError) as exc:
        raise ConsistencyError(str(exc)) from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, ConsistencyError):
            raise
        raise ConsistencyError(f"malformed proof document: {exc!r}") from None
    return (
        f"consistent: the checkpoint of {old.tree_size} events ({old.time.isoformat()}) is a "
        f"prefix of the checkpoint of {new.tree_size} ({new.time.isoformat()}), both signed by "
        f"{key.name}"
    )
