"""`/queue`: the collector's work queue from contact-service, and "Next case" (a lease)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from console_service.backends import BackendError
from console_service.web.core import ContextDep, FormDep, SessionDep, render, require, token

router = APIRouter()
QUEUES = ("all", "m1", "m2", "m3", "m4plus", "lost-contact", "promises-due")
QueueName = Annotated[str, Query(pattern="^(" + "|".join(QUEUES) + ")$")]
PAGE = 25


def reasons(item: dict[str, Any]) -> list[str]:
    """Why the case is in the queue, as message ids the template translates."""
    found = [f"bucket {item['bucket']}"]
    if item.get("promise_due"):
        found.append("promise due")
    if item.get("near_payday"):
        found.append("near payday")
    if item.get("contactability") == "lost":
        found.append("lost contact")
    strategy = item.get("strategy") or {}
    if strategy.get("name"):
        found.append(f"{strategy['name']} / {strategy.get('arm', '')}".rstrip(" /"))
    return found


async def _last_contact(ctx: ContextDep, bearer: str, case_id: str) -> dict[str, Any] | None:
    try:
        view = await ctx.backends.contact.get(f"/v1/cases/{case_id}/contact-view", bearer)
    except BackendError:
        return None
    attempts = view.get("recent_attempts") or []
    latest: dict[str, Any] | None = max(attempts, key=lambda a: a["occurred_at"], default=None)
    return latest


@router.get("/queue", response_class=HTMLResponse)
async def queue_page(
    request: Request, ctx: ContextDep, session: SessionDep, queue: QueueName = "all"
) -> Response:
    require(session.user, "work_cases")
    bearer = token(ctx, session)
    error: BackendError | None = None
    items: list[dict[str, Any]] = []
    try:
        page = await ctx.backends.contact.get(f"/v1/queues/{queue}", bearer, {"limit": PAGE})
        items = page.get("items", [])
    except BackendError as exc:
        error = exc
    # Each row's last contact loads after the page (htmx, one small request per row): the
    # queue shows at once and the rows fill in.
    rows = [{**item, "reasons": reasons(item)} for item in items]
    return render(
        request,
        ctx,
        "queue.html",
        queue=queue,
        queues=QUEUES,
        rows=rows,
        error=error,
        notice=request.query_params.get("notice"),
    )


@router.get("/queue/last-contact/{case_id}", response_class=HTMLResponse)
async def last_contact_cell(
    request: Request, case_id: UUID, ctx: ContextDep, session: SessionDep
) -> Response:
    require(session.user, "work_cases")
    last = await _last_contact(ctx, token(ctx, session), str(case_id))
    return render(request, ctx, "_last_contact.html", last=last)


@router.post("/queue/next")
async def next_case(ctx: ContextDep, session: SessionDep, form: FormDep) -> Response:
    require(session.user, "work_cases")
    queue = form.get("queue", "all")
    if queue not in QUEUES:
        queue = "all"
    try:
        claim = await ctx.backends.contact.post(
            f"/v1/queues/{queue}/claims", token(ctx, session), {}
        )
    except BackendError as exc:
        notice = "nothing-to-claim" if exc.status == 404 else "claim-failed"
        return RedirectResponse(f"/queue?queue={queue}&notice={notice}", status_code=303)
    return RedirectResponse(f"/cases/{claim['case_id']}", status_code=303)
