"""The contact guard: may this party be contacted on this channel at this point, now?

`decide(case, history, profile, request, now)` is a pure function. Reasons are either
lasting (a do-not-contact request, a wrong number: `next_allowed_at` is None) or timed (the
hour, a daily cap, the 7-day windows: `next_allowed_at` is the first instant at which every
timed reason has cleared, found by stepping from one unblocking instant to the next).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from contact_service.policy import model as m
from contact_service.policy.lasting import lasting_reasons
from contact_service.policy.profiles import OBLIGATIONS, Profile

Timed = tuple[m.Reason, datetime | None]  # a reason and when it clears (None: not by time)
_MAX_STEPS = 30


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_date(moment: datetime, tz: str) -> date:
    return moment.astimezone(zone(tz)).date()


def local_midnight(day: date, tz: str) -> datetime:
    """The first instant of `day` in `tz` (midnight; no zone skips midnight here)."""
    return datetime.combine(day, time(0), tzinfo=zone(tz))


# Channels whose contact point is an address or the app, not a number or e-mail address.
_NOT_A_POINT = frozenset({"letter", "visit", "app_push"})


def decide(
    case: m.CaseView,
    history: Sequence[m.Attempt],
    profile: Profile,
    request: m.ContactRequest,
    now: datetime,
) -> m.Decision:
    at = request.at or now
    notes = _notes(profile, request)
    if request.inbound and request.party == "borrower":
        # The borrower called us: answering is always lawful; it is recorded as usual.
        evaluated = _evaluated(profile, ())
        return m.Decision(
            True, (), None, profile.name, profile.version, ("inbound", *notes), evaluated
        )
    lasting = list(lasting_reasons(case, history, profile, request))
    timed = _timed(case, history, profile, request, at)
    reasons = tuple(lasting + [r for r, _ in timed])
    evaluated = _evaluated(profile, reasons)
    if not reasons:
        return m.Decision(True, (), None, profile.name, profile.version, notes, evaluated)
    next_at = None if lasting else _next_allowed(case, history, profile, request, timed)
    return m.Decision(False, reasons, next_at, profile.name, profile.version, notes, evaluated)


def _evaluated(profile: Profile, reasons: Sequence[m.Reason]) -> tuple[tuple[str, str], ...]:
    refused = {r.rule for r in reasons}
    return tuple(
        (rule, "obligation" if rule in OBLIGATIONS else "refused" if rule in refused else "passed")
        for rule in sorted(profile.rules)
    )


def _notes(profile: Profile, request: m.ContactRequest) -> tuple[str, ...]:
    notes: list[str] = []
    if request.channel == "call" and profile.has("call_recording"):
        notes.append("record the call and send its recording_ref")
    if request.channel in {"sms", "email"} and profile.has("opt_out_notice"):
        notes.append("include the opt-out instructions")
    if request.party in m.THIRD_PARTIES:
        notes.append("do not disclose the debt to a third party")
    return tuple(notes)


def _next_allowed(
    case: m.CaseView,
    history: Sequence[m.Attempt],
    profile: Profile,
    request: m.ContactRequest,
    timed: list[Timed],
) -> datetime | None:
    for _ in range(_MAX_STEPS):
        clears = [c for _, c in timed]
        if any(c is None for c in clears):
            return None
        moment = max(c for c in clears if c is not None)
        timed = _timed(case, history, profile, request, moment)
        if not timed:
            return moment.astimezone(UTC)
    return None


# --- timed reasons: hours, daily caps, 7-day windows ----------------------------------


def _timed(
    case: m.CaseView,
    history: Sequence[m.Attempt],
    profile: Profile,
    request: m.ContactRequest,
    at: datetime,
) -> list[Timed]:
    found: list[Timed] = []
    hours = _hours(case, profile, request, at)
    if hours is not None:
        found.append(hours)
    if request.channel == "call":
        found.extend(_call_caps(case, history, profile, request, at))
    return found


def permitted_at(profile: Profile, moment: datetime, tz: str) -> bool:
    local = moment.astimezone(zone(tz)).timetz().replace(tzinfo=None)
    if local < profile.earliest:
        return False
    return local < profile.latest or (profile.latest_inclusive and local == profile.latest)


def _window_start_after(profile: Profile, moment: datetime, tz: str) -> datetime:
    local = moment.astimezone(zone(tz))
    day = local.date() if local.time() < profile.earliest else local.date() + timedelta(days=1)
    return datetime.combine(day, profile.earliest, tzinfo=zone(tz))


def _hours(
    case: m.CaseView, profile: Profile, request: m.ContactRequest, at: datetime
) -> Timed | None:
    if request.channel == "letter":
        return None
    if profile.consent_overrides_hours and m.FLAG_QUIET_HOURS_CONSENT in case.flags:
        return None
    zones = case.zones if profile.all_candidate_zones else (case.timezone,)
    bad = [z for z in zones if not permitted_at(profile, at, z)]
    if not bad:
        return None
    clears = max(_window_start_after(profile, at, z) for z in bad)
    where = bad[0] if len(zones) == 1 else ", ".join(bad)
    local = at.astimezone(zone(bad[0])).strftime("%H:%M")
    latest = profile.latest.strftime("%H:%M")
    message = (
        f"outside permitted hours {profile.earliest:%H:%M}-{latest} local time ({local} in {where})"
    )
    return m.Reason("outside_hours", message, "hours"), clears


def _call_caps(
    case: m.CaseView,
    history: Sequence[m.Attempt],
    profile: Profile,
    request: m.ContactRequest,
    at: datetime,
) -> Iterable[Timed]:
    tz = case.timezone
    today = local_date(at, tz)
    calls = [
        (local_date(a.occurred_at, tz), a)
        for a in history
        if a.channel == "call" and not a.inbound and a.occurred_at <= at
    ]
    tomorrow = local_midnight(today + timedelta(days=1), tz)
    limit = profile.max_connected_calls_per_day
    if limit is not None:
        connected = sum(
            1
            for d, a in calls
            if d == today and a.party == request.party and a.outcome in m.CONNECTED_OUTCOMES
        )
        if connected >= limit:
            yield (
                m.Reason(
                    "connected_calls_per_day",
                    f"{connected} connected calls with the {request.party} today (limit {limit})",
                    "calls.connected_per_day",
                ),
                tomorrow,
            )
    limit = profile.max_unanswered_dials_per_number_per_day
    if limit is not None:
        key = m.point_key(request.contact_point)
        unanswered = sum(
            1
            for d, a in calls
            if d == today
            and m.point_key(a.contact_point) == key
            and a.outcome in m.UNANSWERED_OUTCOMES
        )
        if unanswered >= limit:
            yield (
                m.Reason(
                    "unanswered_dials_per_day",
                    f"{unanswered} unanswered dials to this number today (limit {limit})",
                    "calls.unanswered_per_number",
                ),
                tomorrow,
            )
    person = [(d, a) for d, a in calls if a.party == request.party]
    yield from _seven_days(profile, person, today, tz, request.party)


def _seven_days(
    profile: Profile,
    person: list[tuple[date, m.Attempt]],
    today: date,
    tz: str,
    party: str,
) -> Iterable[Timed]:
    cooldown = profile.conversation_cooldown_days
    if cooldown is not None:
        talks = [d for d, a in person if a.outcome in m.CONVERSATION_OUTCOMES]
        if talks and (today - max(talks)).days < cooldown:
            last = max(talks)
            yield (
                m.Reason(
                    "conversation_cooldown",
                    f"a telephone conversation on {last.isoformat()}: no call for {cooldown} days",
                    "calls.after_conversation",
                ),
                local_midnight(last + timedelta(days=cooldown), tz),
            )
    limit = profile.max_calls_per_7_days
    if limit is None:
        return
    per_day: dict[date, int] = {}
    for d, a in person:
        if a.outcome not in m.NOT_CONNECTED_TO_NUMBER and (today - d).days < 7:
            per_day[d] = per_day.get(d, 0) + 1
    placed = sum(per_day.values())
    if placed < limit:
        return
    day = today + timedelta(days=1)
    while sum(n for d, n in per_day.items() if (day - d).days < 7) >= limit:
        day += timedelta(days=1)
    yield (
        m.Reason(
            "calls_in_7_days",
            f"{placed} calls to the {party} in 7 consecutive days (limit {limit})",
            "calls.per_7_days",
        ),
        local_midnight(day, tz),
    )
