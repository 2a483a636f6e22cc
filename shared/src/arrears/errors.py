"""RFC 9457 problem+json errors, and the handlers that render every failure as one."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PROBLEM_JSON = "application/problem+json"
_log = logging.getLogger(__name__)


class FieldError(dict[str, str]):
    """One field-level message: {"field": "amount", "message": "must be greater than 0"}."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(field=field, message=message)


class Problem(Exception):
    """An error that becomes a problem+json response."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        field: str | None = None,
        errors: Sequence[FieldError] = (),
        type_: str = "about:blank",
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_
        self.errors = list(errors)
        if field is not None and not self.errors:
            self.errors = [FieldError(field, detail)]
        self.extra = extra or {}
        self.headers = headers or {}

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


def problem_response(problem: Problem, instance: str | None = None) -> JSONResponse:
    return JSONResponse(
        problem.body(instance),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


def _field_path(loc: Sequence[int | str]) -> str:
    # Drop the leading "body"/"query"/"path"/"header" so the name matches what the client sent.
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


def _message(error: dict[str, Any]) -> str:
    # Our validators raise ValueError("must be ..."); pydantic prefixes "Value error, ".
    return str(error.get("msg", "")).removeprefix("Value error, ")


def validation_problem(exc: RequestValidationError) -> Problem:
    errors = [FieldError(_field_path(e.get("loc", ())), _message(e)) for e in exc.errors()]
    first = errors[0] if errors else FieldError("body", "invalid request")
    return Problem(
        422,
        "Unprocessable Content",
        f"{first['field']}: {first['message']}",
        errors=errors,
    )


async def send_problem(send: Send, problem: Problem, instance: str | None = None) -> None:
    """Answer with a problem from ASGI middleware, before any route runs."""
    response = problem_response(problem, instance)
    await send(
        {
            "type": "http.response.start",
            "status": response.status_code,
            "headers": response.raw_headers,
        }
    )
    await send({"type": "http.response.body", "body": response.body})


class NeverFail:
    """The last line: an exception no handler took becomes a 500 problem and the connection
    stays open. (Starlette's own last handler answers 500 and then re-raises, which makes the
    server drop the keep-alive connection.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            _log.exception("unhandled error on %s", scope.get("path"))
            if not started:
                problem = Problem(500, "Internal Server Error", "an unexpected error occurred")
                await send_problem(send, problem, scope.get("path"))


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(exc, request.url.path)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem_response(validation_problem(exc), request.url.path)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        problem = Problem(
            exc.status_code,
            _TITLES.get(exc.status_code, "Error"),
            str(exc.detail),
            headers=dict(exc.headers or {}),
        )
        return problem_response(problem, request.url.path)

    async def on_unexpected(request: Request, _exc: Exception) -> JSONResponse:
        _log.exception("unhandled error on %s", request.url.path)
        problem = Problem(500, "Internal Server Error", "an unexpected error occurred")
        return problem_response(problem, request.url.path)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)


_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    428: "Precondition Required",
    503: "Service Unavailable",
}
