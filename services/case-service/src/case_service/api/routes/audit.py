"""GET /v1/audit/...: the checkpoints' verifier key and the signed checkpoints (auditors).

An auditor fetches the key once, compares it with the one the bank published out of band,
then checks checkpoints and bundles offline with `arrears-audit` (docs/audit.md).
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from arrears.auth import Principal, require_roles
from arrears.errors import Problem
from fastapi import APIRouter, Depends, Query, Request

from case_service.api.deps import CasesDep
from case_service.application import CaseApplication
from case_service.audit.consistency import ConsistencyError, prove
from case_service.audit.note import NoteError, VerifierKey
from case_service.audit.store import AuditStore

router = APIRouter(prefix="/v1/audit", tags=["audit"])
Auditor = Annotated[Principal, Depends(require_roles("auditor"))]
MAX_TREE_SIZE = 2**62


def _store(request: Request, cases: CaseApplication) -> AuditStore:
    store: AuditStore | None = getattr(request.app.state, "audit_store", None)
    if store is None or store.datastore is not cases.recorder_.datastore:
        store = AuditStore(cases.recorder_)
        request.app.state.audit_store = store
    return store


@router.get("/public-key")
def public_key(cases: CasesDep, _: Auditor) -> dict[str, Any]:
    """The Ed25519 key the checkpoints are signed with, in signed-note verifier form."""
    text = cases.settings.checkpoint_public_key
    if not text:
        raise Problem(404, "Not Found", "no checkpoint public key is configured")
    try:
        key = VerifierKey.parse(text)
    except NoteError as exc:
        raise Problem(503, "Service Unavailable", f"CHECKPOINT_PUBLIC_KEY: {exc}") from None
    return {
        "algorithm": "Ed25519",
        "key_name": key.name,
        "key_id": key.key_id.hex(),
        "public_key": base64.b64encode(key.public).decode(),
        "verifier_key": key.text(),
    }


@router.get("/checkpoints")
def checkpoints(
    request: Request,
    cases: CasesDep,
    _: Auditor,
    after: Annotated[int, Query(ge=0, le=MAX_TREE_SIZE, description="a tree size")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Signed checkpoints larger than tree size `after`, oldest first; `note` is the signed
    C2SP checkpoint, the rest repeats it for convenience."""
    items = _store(request, cases).checkpoints(after, limit)
    return {
        "items": [c.public() for c in items],
        "next_after": items[-1].tree_size if items else after,
    }


@router.get("/consistency")
def consistency(
    request: Request,
    cases: CasesDep,
    _: Auditor,
    old: Annotated[int, Query(alias="from", ge=1, le=MAX_TREE_SIZE, description="a tree size")],
    new: Annotated[int, Query(alias="to", ge=1, le=MAX_TREE_SIZE, description="a tree size")],
) -> dict[str, Any]:
    """The RFC 9162 consistency proof between two signed checkpoints (by tree size), with
    both notes: `arrears-audit verify-consistency` checks it offline with the public key."""
    if old > new:
        raise Problem(422, "Unprocessable Content", "from must not exceed to", field="from")
    store = _store(request, cases)
    older, newer = store.checkpoint_at(old), store.checkpoint_at(new)
    if older is None:
        raise Problem(404, "Not Found", f"no signed checkpoint of size {old}", field="from")
    if newer is None:
        raise Problem(404, "Not Found", f"no signed checkpoint of size {new}", field="to")
    try:
        return prove(store, older, newer)
    except ConsistencyError as exc:
        raise Problem(409, "Conflict", str(exc)) from None
