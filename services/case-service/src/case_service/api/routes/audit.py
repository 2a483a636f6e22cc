"""GET /v1/audit/...: the checkpoints' verifier key and the signed checkpoints (auditors);
one case's chain verified and its evidence bundle (`/v1/audit/cases/{case_id}/...`).

An auditor fetches the key once, compares it with the one the bank published out of band,
then checks checkpoints and bundles offline with `arrears-audit` (docs/audit.md).
"""

from __future__ import annotations

import base64
from typing import Annotated, Any
from uuid import UUID

from arrears.auth import Principal, require_roles
from arrears.errors import Problem
from fastapi import APIRouter, Depends, Query, Request, Response

from case_service.api.deps import CasesDep
from case_service.application import CaseApplication
from case_service.audit.bundle import BundleError, export_bundle, render, verify_bundle
from case_service.audit.consistency import ConsistencyError, prove
from case_service.audit.note import NoteError, VerifierKey
from case_service.audit.store import AuditStore
from case_service.audit.verify import Report, verify_chains

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


def _case_bundle(store: AuditStore, case_id: UUID) -> dict[str, Any]:
    try:
        return export_bundle(store, case_id)
    except BundleError as exc:
        raise Problem(404, "Not Found", str(exc)) from None


@router.get("/cases/{case_id}/verification")
def case_verification(
    case_id: UUID, request: Request, cases: CasesDep, _: Auditor
) -> dict[str, Any]:
    """One case's hash chain recomputed from the stored bytes (versions 1, 2, 3... each link
    and each hash), then its evidence bundle checked as `arrears-audit verify-bundle` checks it
    (the signed checkpoint opened with the configured public key, each inclusion proof).
    `verified` is false with the first `finding` when anything does not hold. Reads the
    store's chain up to the latest checkpoint: an auditor's check, not a page's figure."""
    store = _store(request, cases)
    report = Report()
    finding = verify_chains(store.chained_events(case_id), report)
    if report.cases == 0 and finding is None:
        raise Problem(404, "Not Found", f"no case {case_id}")
    answer: dict[str, Any] = {
        "case_id": str(case_id),
        "events": report.events,
        "chain_verified": finding is None,
        "checkpoint": None,
        "bundle_summary": None,
    }
    if finding is not None:
        return {**answer, "verified": False, "finding": str(finding)}
    latest = store.latest_checkpoint()
    if latest is not None:
        answer["checkpoint"] = {
            "tree_size": latest.tree_size,
            "recorded_at": latest.recorded_at.isoformat(),
            "key_name": latest.key_name,
        }
    text = cases.settings.checkpoint_public_key
    if not text or latest is None:
        reason = "no checkpoint public key is configured" if not text else "no checkpoint yet"
        return {**answer, "verified": True, "finding": f"chain only: {reason}"}
    try:
        key = VerifierKey.parse(text)
        answer["bundle_summary"] = verify_bundle(render(_case_bundle(store, case_id)), key)
    except (NoteError, BundleError) as exc:
        return {**answer, "verified": False, "finding": str(exc)}
    return {**answer, "verified": True, "finding": None}


@router.get("/cases/{case_id}/bundle")
def case_bundle(case_id: UUID, request: Request, cases: CasesDep, _: Auditor) -> Response:
    """The case's evidence bundle (`arrears.case-bundle.v1`, as `arrears-audit export` writes
    it), for `arrears-audit verify-bundle` offline."""
    body = render(_case_bundle(_store(request, cases), case_id))
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="case-{case_id}.bundle.json"'},
    )
