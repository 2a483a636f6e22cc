"""`POST /v1/contact-permissions`: may I contact this party, on this channel, now?"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncConnection

from contact_service.api import schemas as s
from contact_service.api.deps import ConnDep, ContextDep, Reader, not_found
from contact_service.context import Context
from contact_service.policy import guard
from contact_service.policy import model as m
from contact_service.readmodel import repository as repo

router = APIRouter(prefix="/v1", tags=["contact permissions"])


async def evaluate(
    ctx: Context,
    conn: AsyncConnection,
    case_id: UUID,
    request: m.ContactRequest,
    *,
    exclude: str | None = None,
) -> tuple[repo.PolicyInputs, m.Decision]:
    """The guard's decision on the case as the read model has it (404 if unknown)."""
    now = ctx.clock.now()
    inputs = (await repo.policy_inputs(conn, [str(case_id)], now, exclude)).get(str(case_id))
    if inputs is None:
        raise not_found(case_id)
    return inputs, guard.decide(inputs.view, inputs.history, ctx.profile, request, now)


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


@router.post(
    "/contact-permissions",
    response_model=s.ContactPermissionPublic,
    summary="May this party be contacted on this channel at this point now (or at `at`)?",
    responses={404: {"description": "no such case"}, 422: {"description": "invalid body"}},
)
async def ask_permission(
    body: s.ContactPermissionCreate, ctx: ContextDep, conn: ConnDep, _caller: Reader
) -> s.ContactPermissionPublic:
    at = body.at or ctx.clock.now()
    request = m.ContactRequest(
        party=body.party,
        channel=body.channel,
        contact_point=body.contact_point,
        at=at,
        purpose=body.purpose,
        inbound=body.direction == "inbound",
    )
    _, decision = await evaluate(ctx, conn, body.case_id, request)
    return public(body.case_id, decision, body.contact_point, at)
