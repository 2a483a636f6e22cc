"""Turning an HTTP command into a queued case command, and its outcome into a response."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import orjson
from arrears.errors import Problem
from pydantic import BaseModel
from starlette.responses import Response
from starlette.types import Send

from case_service.api.deps import expected_version, scoped_claim
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


class CommandResponse(Response):
    """A command's answer, as JSONResponse would give it: compact JSON in UTF-8 (orjson writes
    these few plain fields byte for byte as json.dumps does, for less), its length and type,
    the case's version as ETag. Built directly rather than through Response's generic header
    handling; the lean path sends it with `send_to`, without Starlette's response call."""

    media_type = "application/json"

    def __init__(self, outcome: Outcome) -> None:
        self.status_code = outcome.status
        self.background = None
        self.body = orjson.dumps(outcome.body())
        self.raw_headers = [(b"etag", b'"%d"' % outcome.version)]
        if outcome.replayed:
            self.raw_headers.append((b"idempotent-replayed", b"true"))
        self.raw_headers.append((b"content-length", b"%d" % len(self.body)))
        self.raw_headers.append((b"content-type", b"application/json"))

    async def send_to(self, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        await send({"type": "http.response.body", "body": self.body})


def outcome_response(outcome: Outcome) -> CommandResponse:
    if outcome.error is not None:
        raise problem_for(outcome.error)
    return CommandResponse(outcome)


async def dispatch(
    cases: CaseApplication,
    scope: str,
    case_id: UUID,
    body: BaseModel,
    action: Callable[[CollectionCase], None],
    idempotency_key: str | None,
    if_match: str | None,
) -> CommandResponse:
    """Run `action` on the case, honouring Idempotency-Key, If-Match and the body's currency.
    `scope` ("POST <path>") is what an Idempotency-Key is scoped to."""
    claim = (
        None
        if idempotency_key is None
        else scoped_claim(scope, idempotency_key, body.model_dump_json())
    )
    currency = getattr(body, "currency", None)

    def checked(case: CollectionCase) -> None:
        if currency is not None and currency != case.currency:
            raise InvalidCommand(
                f"the case is in {case.currency}, not {currency}", field="currency"
            )
        action(case)

    command = Command(case_id, checked, expected_version(if_match), claim)
    return outcome_response(await cases.execute_async(command))
