"""`GET /v1/kpis`: collections measures by strategy arm and period."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any

from arrears.errors import Problem
from arrears.input import BusinessDate
from fastapi import APIRouter, Query

from contact_service.api.deps import Analyst, ConnDep, ContextDep
from contact_service.readmodel import repository as repo

router = APIRouter(prefix="/v1", tags=["kpis"])
BUCKETS = ("M0", "M1", "M2", "M3", "M4+")
CURED = {"cured", "paid_in_full", "settled"}


def _ratio(num: Decimal | int, den: Decimal | int) -> str | None:
    if not den:
        return None
    return str((Decimal(num) / Decimal(den)).quantize(Decimal("0.0001")))


def summarise(raw: dict[str, Any]) -> dict[str, Any]:
    """Per arm: roll-rate matrix, cure rate, promise-kept rate, RPC rate, contacts/recovered."""
    arms: dict[str, dict[str, Any]] = defaultdict(
        lambda: {
            "strategies": set(),
            "moves": defaultdict(lambda: defaultdict(int)),
            "closures": defaultdict(int),
            "recovered": Decimal("0"),
            "kept": 0,
            "broken": 0,
            "attempts": 0,
            "rpc": 0,
            "cases": 0,
        }
    )
    for r in raw["moves"]:
        arms[r["arm"]]["moves"][r["from_bucket"]][r["to_bucket"]] += r["n"]
        arms[r["arm"]]["strategies"].add(r["strategy"])
    for r in raw["closures"]:
        arms[r["arm"]]["closures"][r["reason"]] += r["n"]
    for r in raw["recovered"]:
        arms[r["arm"]]["recovered"] += r["total"]
    for r in raw["promises"]:
        arms[r["arm"]][r["status"]] += r["n"]
    for r in raw["attempts"]:
        arms[r["arm"]]["attempts"] += r["n"]
        arms[r["arm"]]["rpc"] += r["rpc"]
    for r in raw["cases"]:
        arms[r["arm"]]["cases"] += r["n"]
        arms[r["arm"]]["strategies"].add(r["strategy"])
    out: dict[str, Any] = {}
    for arm, a in sorted(arms.items()):
        matrix = {
            f: {
                t: {
                    "count": a["moves"][f][t],
                    "rate": _ratio(a["moves"][f][t], sum(a["moves"][f].values())),
                }
                for t in BUCKETS
                if a["moves"][f][t]
            }
            for f in BUCKETS
            if a["moves"][f]
        }
        cured = sum(n for reason, n in a["closures"].items() if reason in CURED)
        out[arm] = {
            "strategies": sorted(a["strategies"]),
            "cases": a["cases"],
            "roll_rates": matrix,
            "cure_rate": _ratio(cured, a["cases"]),
            "closures": dict(a["closures"]),
            "promise_kept_rate": _ratio(a["kept"], a["kept"] + a["broken"]),
            "promises": {"kept": a["kept"], "broken": a["broken"]},
            "right_party_contact_rate": _ratio(a["rpc"], a["attempts"]),
            "contact_attempts": a["attempts"],
            "recovered": str(a["recovered"].quantize(Decimal("0.01"))),
            "contacts_per_recovered_1000": _ratio(a["attempts"] * 1000, a["recovered"]),
        }
    return out


PERIODS = ("day", "week", "month")


def periods(start: date, end: date, every: str | None) -> list[tuple[date, date]]:
    """[start, end) cut into days, ISO weeks (from Monday) or calendar months."""
    if every is None:
        return [(start, end)]
    cuts: list[tuple[date, date]] = []
    at = start
    while at < end:
        if every == "day":
            nxt = at + timedelta(days=1)
        elif every == "week":
            nxt = at + timedelta(days=7 - at.weekday())
        else:
            nxt = (at.replace(day=1) + timedelta(days=32)).replace(day=1)
        cuts.append((at, min(nxt, end)))
        at = nxt
    return cuts


@router.get("/kpis", summary="Roll rates, cure, promise-kept and RPC rates, by strategy arm")
async def kpis(
    ctx: ContextDep,
    conn: ConnDep,
    _caller: Analyst,
    start: Annotated[BusinessDate | None, Query(alias="from")] = None,
    end: Annotated[BusinessDate | None, Query(alias="to")] = None,
    every: Annotated[str | None, Query(pattern="^(day|week|month)$")] = None,
) -> dict[str, Any]:
    """Over [from, to) (default: the last 30 days up to today inclusive), and with `every`
    also per day, week or month. Roll rates: of the cases that left a bucket in the period,
    the share that went to each bucket."""
    today = ctx.clock.now().date()
    end = end or today + timedelta(days=1)
    start = start or end - timedelta(days=30)
    if start >= end:
        raise Problem(422, "Unprocessable Content", "from must be before to", field="from")
    async with ctx.engine.begin() as maintenance:  # the deltas so far into the counters
        await repo.compact_kpis(maintenance)
    cuts = periods(start, end, every)
    if len(cuts) > 366:
        raise Problem(422, "Unprocessable Content", "at most 366 periods", field="every")
    body: dict[str, Any] = {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "by_arm": summarise(await repo.kpis(conn, start, end)),
    }
    if every is not None:
        body["every"] = every
        body["periods"] = [
            {
                "from": a.isoformat(),
                "to": b.isoformat(),
                "by_arm": summarise(await repo.kpis(conn, a, b)),
            }
            for a, b in cuts
        ]
    return body
