"""GET /v1/events: the global feed of case events, for rebuilds, gap filling and auditors.

Each item is exactly the CloudEvent the relay publishes to `collections.case-events.v1`.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import orjson
from arrears.auth import Principal, require_roles
from arrears.errors import Problem
from arrears.input import Position
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from case_service.api.deps import CasesDep
from case_service.application import CaseApplication
from case_service.relay.envelopes import CaseEventEncoder
from case_service.relay.store import RelayStore

router = APIRouter(prefix="/v1", tags=["events"])
FeedReader = Annotated[Principal, Depends(require_roles("auditor", "service"))]


class EventPage(BaseModel):
    events: list[dict[str, Any]]
    next_after: int
    head: int


def _tools(request: Request, cases: CaseApplication) -> tuple[CaseEventEncoder, RelayStore]:
    tools: tuple[CaseEventEncoder, RelayStore] | None = getattr(
        request.app.state, "feed_tools", None
    )
    if tools is None or tools[0].source_mapper is not cases.mapper:
        tools = (CaseEventEncoder(cases.mapper), RelayStore(cases.recorder_))
        request.app.state.feed_tools = tools
    return tools


@router.get(
    "/events",
    summary="Case events in notification order, as CloudEvents",
    response_model=None,
    responses={200: {"model": EventPage}},
)
def list_events(
    request: Request,
    cases: CasesDep,
    _: FeedReader,
    after: Annotated[Position, Query(description="Return events with sequence > after")] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    case_id: Annotated[UUID | None, Query(description="Only this case's events")] = None,
    after_version: Annotated[
        Position | None, Query(description="With case_id only: caseversion > this")
    ] = None,
) -> Response:
    if after_version is not None and case_id is None:
        raise Problem(
            422, "Unprocessable Content", "after_version needs case_id", field="after_version"
        )
    if case_id is not None and after:
        raise Problem(
            422, "Unprocessable Content", "give after or case_id, not both", field="after"
        )
    after_version = after_version or 0
    encoder, store = _tools(request, cases)
    head = store.max_notification_id()
    if case_id is None:  # the hot path (rebuilds): the relay's bytes, joined as they are
        rows = store.rows_between(after, head, limit)
        last = rows[-1][0] if rows else after
        body = b"".join(
            (
                b'{"events":[',
                b",".join(encoder.values(rows)),
                b'],"next_after":%d,"head":%d}' % (last, head),
            )
        )
        return Response(content=body, media_type="application/json")
    notifications = store.case_notifications(case_id, after_version, limit)
    correlations = store.correlations(notifications)
    events = [e.to_dict() for e in encoder.envelopes(notifications, correlations)]
    next_after = after
    body = orjson.dumps({"events": events, "next_after": next_after, "head": head})
    return Response(content=body, media_type="application/json")
