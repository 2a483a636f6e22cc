"""What a lean ASGI path beside a FastAPI route reads of a request (case-service's command
routes, contact-service's attempt route): its body, replayed for whoever runs the request
after it, a few headers, and the body as the route's own model accepts it.

Each answers None where the lean path must leave the request to FastAPI, so every error
keeps the one format and field naming the regular route gives it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Generic, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.types import Receive, Scope

from arrears.gate import replay_body
from arrears.service.deps import IDEMPOTENCY_KEY_MAX

Model = TypeVar("Model", bound=BaseModel)

REPEATED = b"repeated"  # marks a header sent twice: such a request goes the regular way


async def read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body (the gate has read it already and replays it), and a receive that
    replays it again for whoever runs the request."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    return body, replay_body(body, receive)


def read_headers(scope: Scope, names: Collection[bytes]) -> dict[bytes, str]:
    """The headers among `names` (lower-case); a repeated one also sets `REPEATED`."""
    found: dict[bytes, str] = {}
    for name, value in scope["headers"]:
        if name in names:
            if name in found:
                found[REPEATED] = "1"
            found[name] = value.decode("latin-1")
    return found


def parse_body(model: type[Model], body: bytes, headers: dict[bytes, str]) -> Model | None:
    """The body as `model`, or None: no body, a repeated header, not JSON, not an object, or
    a body the model refuses."""
    content_type = headers.get(b"content-type", "").lower()
    if REPEATED in headers or not body:
        return None
    if content_type != "application/json" and not content_type.startswith("application/json;"):
        return None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    try:
        return model.model_validate(data)
    except ValidationError:
        return None


@dataclass(frozen=True)
class LeanRequest(Generic[Model]):
    """A request the lean path runs itself: its body as the route's model, the headers it
    read, and its Idempotency-Key (None: none sent)."""

    body: Model
    headers: dict[bytes, str]
    key: str | None


async def read_request(
    scope: Scope, receive: Receive, model: type[Model], names: Collection[bytes]
) -> tuple[LeanRequest[Model] | None, Receive]:
    """The request as `model` with the headers among `names` (which must include
    content-type and idempotency-key), or None where FastAPI must run it (`parse_body`'s
    refusals, an Idempotency-Key longer than the routes admit); and a receive replaying the
    body for whoever runs the request, either way."""
    body, replay = await read_body(receive)
    headers = read_headers(scope, names)
    parsed = parse_body(model, body, headers)
    key = headers.get(b"idempotency-key")
    if parsed is None or (key is not None and len(key) > IDEMPOTENCY_KEY_MAX):
        return None, replay
    return LeanRequest(parsed, headers, key), replay
