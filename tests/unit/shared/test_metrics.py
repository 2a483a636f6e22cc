"""The HTTP metrics middleware counts every request under its route and status."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from arrears.metrics import REQUESTS, MetricsMiddleware
from starlette.types import Message, Receive, Scope, Send


@dataclass
class _Route:
    path: str


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    # Answers the status and route the test put in the path: "/<status>/<route>".
    _, status, route = scope["path"].split("/", 2)
    scope["route"] = _Route(f"/{route}")
    await send({"type": "http.response.start", "status": int(status), "headers": []})
    await send({"type": "http.response.body", "body": b""})


def _count(route: str, status: str) -> float:
    return float(REQUESTS.labels("metrics-test", "POST", route, status)._value.get())


def _call(middleware: MetricsMiddleware, path: str) -> None:
    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        return None

    scope: Scope = {"type": "http", "method": "POST", "path": path, "headers": []}
    asyncio.run(middleware(scope, receive, send))


def test_each_request_is_counted_under_its_own_route_and_status() -> None:
    middleware = MetricsMiddleware(_app, "metrics-test")
    series = [("/v1/things", "201"), ("/v1/things", "409"), ("/v1/others", "201")]
    before = [_count(route, status) for route, status in series]

    for path in ["/201/v1/things"] * 3 + ["/409/v1/things", "/201/v1/others", "/201/v1/things"]:
        _call(middleware, path)

    after = [_count(route, status) for route, status in series]
    assert [a - b for a, b in zip(after, before, strict=True)] == [4, 1, 1]
