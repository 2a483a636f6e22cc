"""Turning an HTTP command into a queued case command, and its outcome into a response."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from arrears.errors import Problem
from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from case_service.api.deps import expected_version, idempotency_claim
from case_service.application import CaseApplication
from case_service.commands import (
    CaseNotFound,
    Command,
    IdempotencyConflict,
    Outcome,
    VersionMismatch,
)
from case_service.domain import CollectionCase, CommandForbidden, InvalidCommand


def problem_for(error: Exception) -> Problem:
    if isinstance(error, InvalidCommand):
        return Problem(422, "Unprocessable Content", error.message, field=error.field)
    if isinstance(error, CommandForbidden):
        return Problem(409, "Conflict", error.message, field=error.field)
    if isinstance(error, CaseNotFound):
        return Problem(404, "Not Found", f"no case with id {error.case_id}")
    if isinstance(error, VersionMismatch):
        return Problem(
            412,
            "Precondition Failed",
            str(error),
            field="If-Match",
            extra={"current_version": error.actual},
        )
    if isinstance(error, IdempotencyConflict):
        return Problem(
            422,
            "Unprocessable Content",
            "this Idempotency-Key was already used with a different request",
            field="Idempotency-Key",
        )
    raise error


def outcome_response(outcome: Outcome) -> JSONResponse:
    if outcome.error is not None:
        raise problem_for(outcome.error)
    headers = {"ETag": f'"{outcome.version}"'}
    if outcome.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(outcome.body(), status_code=outcome.status, headers=headers)


async def dispatch(
    cases: CaseApplication,
    request: Request,
    case_id: UUID,
    body: BaseModel,
    action: Callable[[CollectionCase], None],
    idempotency_key: str | None,
    if_match: str | None,
) -> JSONResponse:
    """Run `action` on the case, honouring Idempotency-Key, If-Match and the body's currency."""
    claim = idempotency_claim(request, idempotency_key, body.model_dump_json())
    currency = getattr(body, "currency", None)

    def checked(case: CollectionCase) -> None:
        if currency is not None and currency != case.currency:
            raise InvalidCommand(
                f"the case is in {case.currency}, not {currency}", field="currency"
            )
        action(case)

    command = Command(case_id, checked, expected_version(if_match), claim)
    return outcome_response(await cases.execute_async(command))
