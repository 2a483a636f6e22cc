"""Legal holds, the erasure job and subject keys (docs/audit.md, "Personal data and erasure").

- `POST /v1/cases/{id}/legal-holds`, `POST /v1/cases/{id}/legal-holds/{hold_id}/releases`:
  case events, so auditors see every hold in the case's history and its proof.
- `POST /v1/erasure-runs`: the scheduler's (or an administrator's) job; `as_of` not after today.
- `GET /v1/subject-keys/{ref}`: a subject's data key, to the service role only (systems
  entitled to clear personal data, e.g. contact-service, which dials); every fetch is logged
  with who asked; 410 Gone once the key was destroyed.
- `POST /v1/subject-keys:batch`: the same for up to 1,000 subjects in one request and one
  query (a consumer's rebuild opens a page's new cases at once); each key logged as above.
"""

from __future__ import annotations

import base64
import logging
import re
from typing import Annotated, Any
from uuid import UUID

from arrears.auth import Principal, require_roles
from arrears.errors import Problem
from arrears.input import BusinessDate, Identifier, Text
from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from case_service.api.commands import dispatch
from case_service.api.deps import CasesDep, IdempotencyKey, IfMatch, claim_scope
from case_service.application import CaseApplication
from case_service.domain import CollectionCase
from case_service.erasure import ErasureDayRefused, run_erasure
from case_service.pii.keys import SubjectKeys

router = APIRouter(tags=["retention"])
log = logging.getLogger("case_service.subject_keys")
HOLDERS = ("legal", "supervisor", "service")
REF = re.compile(r"^[0-9a-f]{32}$")
BATCH_MAX = 1000
SubjectRef = Annotated[str, StringConstraints(pattern=REF.pattern, max_length=32)]


class LegalHoldCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hold_id: Identifier
    basis: Text


class LegalHoldRelease(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Text


class SubjectKeyBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refs: Annotated[list[SubjectRef], Field(min_length=1, max_length=BATCH_MAX)]


class SubjectKeyOut(BaseModel):
    key_id: str
    algorithm: str
    key: str


class SubjectKeysOut(BaseModel):
    keys: list[SubjectKeyOut] = Field(description="the subjects whose keys exist, in asked order")
    erased: list[str] = Field(description="subjects whose personal data was erased (410)")
    unknown: list[str] = Field(description="subjects case-service doesn't know (404)")


class ErasureRunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    as_of: BusinessDate | None = None


@router.post("/v1/cases/{case_id}/legal-holds", status_code=201)
async def place_legal_hold(
    case_id: UUID,
    body: LegalHoldCreate,
    request: Request,
    cases: CasesDep,
    principal: Annotated[Principal, Depends(require_roles(*HOLDERS))],
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> Response:
    """Place a legal hold: the case's personal data is kept until every hold is released."""
    now = cases.clock.now()

    def action(case: CollectionCase) -> None:
        case.place_legal_hold(
            hold_id=body.hold_id, basis=body.basis, placed_by=principal.subject, now=now
        )

    return await dispatch(
        cases, claim_scope(request), case_id, body, action, idempotency_key, if_match
    )


@router.post("/v1/cases/{case_id}/legal-holds/{hold_id}/releases", status_code=201)
async def release_legal_hold(
    case_id: UUID,
    hold_id: Annotated[Identifier, Path()],
    body: LegalHoldRelease,
    request: Request,
    cases: CasesDep,
    principal: Annotated[Principal, Depends(require_roles(*HOLDERS))],
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> Response:
    """Release a legal hold; erasure may run once no hold stands and retention has ended."""
    now = cases.clock.now()

    def action(case: CollectionCase) -> None:
        case.release_legal_hold(
            hold_id=hold_id, reason=body.reason, released_by=principal.subject, now=now
        )

    return await dispatch(
        cases, claim_scope(request), case_id, body, action, idempotency_key, if_match
    )


@router.post("/v1/erasure-runs")
def run_erasure_job(
    body: ErasureRunCreate,
    cases: CasesDep,
    _: Annotated[Principal, Depends(require_roles("service"))],
) -> dict[str, Any]:
    """Erase the personal data of every closed case whose retention ended by `as_of`
    (default: today) and that no legal hold keeps; 422 for a day after today."""
    try:
        return run_erasure(cases, body.as_of).as_dict()
    except ErasureDayRefused as exc:
        raise Problem(422, "Unprocessable Content", f"as_of {exc}", field="as_of") from None


def _service_only(principal: Principal) -> None:
    if "service" not in principal.roles:  # not even an administrator reads keys
        raise Problem(403, "Forbidden", "subject keys are for the service role only")


def _sealed_keys(cases: CaseApplication) -> SubjectKeys:
    if cases.subject_keys is None:
        raise Problem(404, "Not Found", "personal data is not sealed per subject here")
    return cases.subject_keys


def _fetched(
    ref: str, state: str, key: bytes | None, principal: Principal
) -> dict[str, str] | None:
    """Every fetch logged with who asked; the key's answer, or None (erased or unknown)."""
    log.info(
        "subject key fetched",
        extra={"fields": {"subject_ref": ref, "fetched_by": principal.subject, "outcome": state}},
    )
    if key is None:
        return None
    return {"key_id": ref, "algorithm": "AES-256-GCM", "key": base64.b64encode(key).decode()}


@router.get("/v1/subject-keys/{ref}")
def subject_key(
    ref: Annotated[str, Path(max_length=64)],
    cases: CasesDep,
    principal: Annotated[Principal, Depends(require_roles("service"))],
) -> dict[str, Any]:
    """The subject's AES-256-GCM data key (base64), for a consumer entitled to clear data."""
    _service_only(principal)
    if not REF.match(ref):
        raise Problem(422, "Unprocessable Content", "not a subject reference", field="ref")
    keys = _sealed_keys(cases)
    state, key = keys.fetch(ref)
    found = _fetched(ref, state, key, principal)
    if state == "unknown":
        raise Problem(404, "Not Found", f"no subject {ref}")
    if found is None:
        raise Problem(410, "Gone", f"subject {ref}'s personal data was erased")
    return found


@router.post("/v1/subject-keys:batch", response_model=SubjectKeysOut)
def subject_keys_batch(
    body: SubjectKeyBatch,
    cases: CasesDep,
    principal: Annotated[Principal, Depends(require_roles("service"))],
) -> dict[str, Any]:
    """Many subjects' data keys in one request (e.g. a consumer's rebuild): each ref asked
    is in exactly one of `keys`, `erased`, `unknown`; every fetch logged as by the single
    read. Service role only."""
    _service_only(principal)
    keys = _sealed_keys(cases)
    out: dict[str, list[Any]] = {"keys": [], "erased": [], "unknown": []}
    for ref, (state, key) in keys.fetch_many(body.refs).items():
        found = _fetched(ref, state, key, principal)
        if state == "unknown":
            out["unknown"].append(ref)
        elif found is None:
            out["erased"].append(ref)
        else:
            out["keys"].append(found)
    return out
