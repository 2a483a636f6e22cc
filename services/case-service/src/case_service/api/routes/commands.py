"""`POST /v1/cases/{case_id}/<command>`: one route per domain command, from one table.

Each body's fields are named exactly as the domain command's keyword arguments, so a route
is just: which body, which command, which roles may send it.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from arrears.auth import Principal, require_roles
from arrears.input import Text
from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel

from case_service.api import schemas as s
from case_service.api.commands import CommandResponse, dispatch
from case_service.api.deps import CasesDep, IdempotencyKey, IfMatch, claim_scope
from case_service.application import CaseApplication
from case_service.domain import CollectionCase

router = APIRouter(prefix="/v1/cases", tags=["commands"])

PAYMENTS = ("origination", "service")  # payments come from the bank's ledger, not a collector
COLLECTION = ("collector", "supervisor", "service")
LEGAL = ("legal", "supervisor", "service")
NOTICES = ("legal", "collector", "supervisor", "service")


@dataclass(frozen=True)
class CommandRoute:
    path: str
    body: type[BaseModel]
    method: str  # the CollectionCase command it calls
    roles: tuple[str, ...]
    summary: str
    path_fields: tuple[str, ...] = ()  # fields taken from the URL, e.g. a complaint id


ROUTES = (
    CommandRoute("missed-payments", s.MissedPaymentCreate, "record_missed_payment", ("origination", "service"), "Report a missed installment"),
    CommandRoute("payments", s.PaymentCreate, "record_payment", PAYMENTS, "Report a payment received"),
    CommandRoute("contact-attempts", s.ContactAttemptCreate, "record_contact_attempt", COLLECTION, "Record a contact attempt and its outcome"),
    CommandRoute("promises", s.PromiseCreate, "make_promise", COLLECTION, "Record a promise to pay"),
    CommandRoute("notices", s.NoticeCreate, "serve_notice", NOTICES, "Record a reminder or notice served"),
    CommandRoute("field-visits", s.FieldVisitCreate, "record_field_visit", COLLECTION, "Record a field visit"),
    CommandRoute("payment-plans", s.PaymentPlanCreate, "agree_payment_plan", ("supervisor", "service"), "Agree an extension or restructuring"),
    CommandRoute("agency-placements", s.AgencyPlacementCreate, "place_with_agency", ("supervisor", "service"), "Place the case with an external agency"),
    CommandRoute("agency-recalls", s.AgencyRecallCreate, "recall_from_agency", ("supervisor", "service"), "Recall the case from its agency"),
    CommandRoute("guarantor-demands", s.GuarantorDemandCreate, "demand_from_guarantor", LEGAL, "Demand payment from a guarantor"),
    CommandRoute("complaints", s.ComplaintCreate, "receive_complaint", NOTICES, "Record a complaint"),
    CommandRoute("complaints/{complaint_id}/resolutions", s.ComplaintResolutionCreate, "resolve_complaint", ("supervisor", "legal", "service"), "Resolve a complaint", ("complaint_id",)),
    CommandRoute("disputes", s.DisputeCreate, "raise_dispute", NOTICES, "Record a dispute of the debt"),
    CommandRoute("lawsuits", s.LawsuitCreate, "file_lawsuit", LEGAL, "Record a lawsuit filed"),
    CommandRoute("asset-preservations", s.AssetPreservationCreate, "grant_asset_preservation", LEGAL, "Record asset preservation granted"),
    CommandRoute("judgments", s.JudgmentCreate, "enter_judgment", LEGAL, "Record a judgment"),
    CommandRoute("enforcements", s.EnforcementCreate, "start_enforcement", LEGAL, "Record enforcement started"),
    CommandRoute("legal-costs", s.LegalCostCreate, "record_legal_cost", LEGAL, "Record a cost of the legal track"),
    CommandRoute("write-offs", s.WriteOffCreate, "write_off", ("legal", "supervisor", "service"), "Write the case off"),
    CommandRoute("closures", s.ClosureCreate, "close", ("origination", "supervisor", "service"), "Close the case"),
    CommandRoute("reopenings", s.ReopeningCreate, "reopen", ("origination", "supervisor", "service"), "Reopen a closed case"),
    CommandRoute("jurisdiction-changes", s.JurisdictionChangeCreate, "change_jurisdiction", ("origination", "supervisor", "service"), "Change the jurisdiction whose contact rules govern the case"),
    CommandRoute("contact-points", s.ContactPointCreate, "add_contact_point", COLLECTION, "Add a number or e-mail address with its owner and source"),
    CommandRoute("timezone-candidates", s.TimezoneCandidateCreate, "add_timezone_candidate", COLLECTION, "Add a time zone the borrower may be in"),
)  # fmt: skip


async def run_route(
    route: CommandRoute,
    cases: CaseApplication,
    scope: str,
    case_id: UUID,
    body: BaseModel,
    idempotency_key: str | None,
    if_match: str | None,
    path_params: Mapping[str, Any] | None = None,
) -> CommandResponse:
    """What the route does once FastAPI (or the lean path, api/fast.py) has checked its
    input: call the case's command with the body's fields. `scope` is "POST <path>", what
    an Idempotency-Key is scoped to; `path_params` carry the route's extra path fields."""
    kwargs: dict[str, Any] = body.model_dump(exclude={"currency"})
    kwargs.update({name: (path_params or {})[name] for name in route.path_fields})
    now = cases.clock.now()
    method = route.method

    def action(case: CollectionCase) -> None:
        getattr(case, method)(**kwargs, now=now)

    return await dispatch(cases, scope, case_id, body, action, idempotency_key, if_match)


def _endpoint(route: CommandRoute) -> Callable[..., Awaitable[Response]]:
    # Async: the command waits for the writer thread on the event loop, not in a thread.
    async def endpoint(
        case_id: UUID,
        body: BaseModel,
        request: Request,
        cases: CasesDep,
        _principal: Principal,  # checked by FastAPI (the role dependency below)
        idempotency_key: IdempotencyKey = None,
        if_match: IfMatch = None,
        **_path_fields: str,  # e.g. complaint_id; FastAPI validates them (signature below)
    ) -> Response:
        return await run_route(
            route,
            cases,
            claim_scope(request),
            case_id,
            body,
            idempotency_key,
            if_match,
            request.path_params,
        )

    # FastAPI reads this signature to validate the body, check the caller's role and
    # take any extra path fields; the function itself is shared by every route.
    signature = inspect.signature(endpoint, eval_str=True)
    params = [
        p.replace(annotation=route.body)
        if p.name == "body"
        else p.replace(annotation=Annotated[Principal, Depends(require_roles(*route.roles))])
        if p.name == "_principal"
        else p
        for p in signature.parameters.values()
        if p.kind is not inspect.Parameter.VAR_KEYWORD
    ]
    params[1:1] = [
        inspect.Parameter(
            name,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            annotation=Annotated[Text, Path()],
        )
        for name in route.path_fields
    ]
    endpoint.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    endpoint.__name__ = route.method
    return endpoint


for _route in ROUTES:
    router.add_api_route(
        f"/{{case_id}}/{_route.path}",
        _endpoint(_route),
        methods=["POST"],
        status_code=201,
        response_model=s.CommandAccepted,
        summary=_route.summary,
        responses={
            200: {"description": "accepted, nothing new to record (a resend)"},
            404: {"description": "no such case"},
            409: {"description": "the case's state forbids this command"},
            412: {"description": "If-Match names another version"},
            422: {"description": "invalid body (problem+json naming the field)"},
        },
    )
