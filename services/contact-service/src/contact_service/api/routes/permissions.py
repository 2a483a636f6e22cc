"""`POST /v1/contact-permissions`: may I contact this party, on this channel, now?"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import orjson
from arrears.errors import Problem
from fastapi import APIRouter, Response

from contact_service.api import schemas as s
from contact_service.api.deps import ContextDep, Reader, not_found
from contact_service.metrics import counted
from contact_service.policy import guard
from contact_service.policy import model as m
from contact_service.readmodel import repository as repo

router = APIRouter(prefix="/v1", tags=["contact permissions"])


# How far ahead a caller may ask (a dialer plans its day, not next year's).
ASK_AHEAD = timedelta(days=366)
ASK_BEHIND = timedelta(days=3653)


def check_at(at: datetime | None, now: datetime, field: str) -> None:
    """`at` within the business window: 422 naming the field, never an error deeper in."""
    if at is None:
        return
    if at > now + ASK_AHEAD or at < now - ASK_BEHIND:
        raise Problem(
            422,
            "Unprocessable Content",
            "must lie within ten years before and a year after now",
            field=field,
        )


def public(
    case_id: UUID, decision: m.Decision, point: str, at: datetime
) -> s.ContactPermissionPublic:
    return s.ContactPermissionPublic(
        case_id=case_id,
        allowed=decision.allowed,
        reasons=[s.ReasonPublic(**r.to_dict()) for r in decision.reasons],
        next_allowed_at=decision.next_allowed_at,
        at=at,
        contact_point=m.mask_point(point),
        profile=s.ProfilePublic(name=decision.profile, version=decision.profile_version),
        notes=list(decision.notes),
    )


def _json(permission: dict[str, Any]) -> Response:
    return Response(orjson.dumps(permission), media_type="application/json")


@router.post(
    "/contact-permissions",
    response_model=s.ContactPermissionPublic,
    summary="May this party be contacted on this channel at this point now (or at `at`)?",
    responses={404: {"description": "no such case"}, 422: {"description": "invalid body"}},
)
async def ask_permission(
    body: s.ContactPermissionCreate, ctx: ContextDep, caller: Reader
) -> Response:
    now = ctx.clock.now()
    check_at(body.at, now, "at")
    request = _request(body, now)
    at = request.at or now
    pool = await ctx.read_pool.get()
    inputs = await repo.policy_inputs_one(pool, str(body.case_id), now)
    if inputs is None:
        raise not_found(body.case_id)
    profile = ctx.profile_of(inputs.view.jurisdiction)
    decision = counted(
        guard.decide(inputs.view, inputs.history, profile, request, now), "permission"
    )
    row = repo.decision_row(
        str(body.case_id),
        request,
        decision,
        profile,
        use="permission",
        asked_by=caller.subject,
        decided_at=now,
    )
    await repo.store_decisions(pool, [row])
    return _json(_answer(str(body.case_id), decision, body.contact_point, at))


def _request(body: s.ContactPermissionCreate, now: datetime) -> m.ContactRequest:
    return m.ContactRequest(
        party=body.party,
        channel=body.channel,
        contact_point=body.contact_point,
        at=body.at or now,
        purpose=body.purpose,
        inbound=body.direction == "inbound",
    )


def _answer(case_id: str, decision: m.Decision, point: str, at: datetime) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "allowed": decision.allowed,
        "reasons": [r.to_dict() for r in decision.reasons],
        "next_allowed_at": _utc(decision.next_allowed_at),
        "at": _utc(at),
        "contact_point": m.mask_point(point),
        "profile": {"name": decision.profile, "version": decision.profile_version},
        "notes": list(decision.notes),
    }


@router.post(
    "/contact-permissions:batch",
    response_model=s.ContactPermissionBatchPublic,
    summary="Many questions at once (a dialer screening its list): one answer each, in order",
    responses={422: {"description": "invalid body (the field names the item)"}},
)
async def ask_permissions(
    body: s.ContactPermissionBatchCreate, ctx: ContextDep, caller: Reader
) -> Response:
    now = ctx.clock.now()
    for n, question in enumerate(body.requests):
        check_at(question.at, now, f"requests.{n}.at")
    stored: list[tuple[Any, ...]] = []
    pool = await ctx.read_pool.get()
    inputs = await repo.policy_inputs_many(pool, [str(q.case_id) for q in body.requests], now)
    answers: list[dict[str, Any]] = []
    for question in body.requests:
        found = inputs.get(str(question.case_id))
        request = _request(question, now)
        at = request.at or now
        if found is None:
            answers.append(
                {
                    "case_id": str(question.case_id),
                    "allowed": False,
                    "reasons": [
                        {"code": "unknown_case", "message": "no such case", "rule": "all.case"}
                    ],
                    "next_allowed_at": None,
                    "at": _utc(at),
                    "contact_point": m.mask_point(question.contact_point),
                    "profile": {"name": ctx.profile.name, "version": ctx.profile.version},
                    "notes": [],
                }
            )
            continue
        profile = ctx.profile_of(found.view.jurisdiction)
        decision = counted(
            guard.decide(found.view, found.history, profile, request, now), "permission"
        )
        stored.append(
            repo.decision_row(
                str(question.case_id),
                request,
                decision,
                profile,
                use="permission",
                asked_by=caller.subject,
                decided_at=now,
            )
        )
        answers.append(_answer(str(question.case_id), decision, question.contact_point, at))
    await repo.store_decisions(pool, stored)
    return _json({"decisions": answers})


def _utc(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
