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
from contact_service.policy.profiles import Profile

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
        return m.Decision(True, (), None, profile.name, profile.version, ("inbound", *notes))
    lasting = list(_lasting(case, history, profile, request))
    timed = _timed(case, history, profile, request, at)
    reasons = tuple(lasting + [r for r, _ in timed])
    if not reasons:
        return m.Decision(True, (), None, profile.name, profile.version, notes)
    next_at = None if lasting else _next_allowed(case, history, profile, request, timed)
    return m.Decision(False, reasons, next_at, profile.name, profile.version, notes)


def _notes(profile: Profile, request: m.ContactRequest) -> tuple[str, ...]:
    notes: list[str] = []
    if request.channel == "call" and profile.require_call_recording:
        notes.append("record the call and send its recording_ref")
    if request.channel in {"sms", "email"} and profile.require_opt_out_notice:
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


# --- lasting reasons: flags, states, parties -------------------------------------------


def _lasting(
    case: m.CaseView,
    history: Sequence[m.Attempt],
    profile: Profile,
    request: m.ContactRequest,
) -> Iterable[m.Reason]:
    flags = case.flags
    if case.status != "open":
        yield m.Reason("case_closed", "the case is closed", "all.case_open")
    if m.FLAG_DO_NOT_CONTACT in flags:
        yield m.Reason("do_not_contact", "a do-not-contact request is on file", "all.dnc")
    if m.FLAG_DECEASED in flags:
        yield m.Reason("deceased", "the borrower is deceased", "all.deceased")
    if m.FLAG_BANKRUPT in flags:
        yield m.Reason("bankrupt", "the borrower is in bankruptcy", "all.bankrupt")
    if m.FLAG_CEASE in flags:
        yield m.Reason("cease", "the borrower asked in writing to cease contact", "all.cease")
    if profile.honour_attorney and m.FLAG_ATTORNEY in flags:
        yield m.Reason("attorney", "the borrower is represented by an attorney", "attorney")
    if profile.honour_dispute and case.in_dispute:
        yield m.Reason("dispute", "the debt is disputed and not yet verified", "dispute")
    if profile.honour_open_complaint and case.open_complaints:
        yield m.Reason("open_complaint", "a complaint is open", "complaint")
    if request.channel in case.opted_out_channels:
        yield m.Reason("opted_out", f"the borrower opted out of {request.channel}", "opt_out")
    yield from _point(case, profile, request)
    if request.party in m.THIRD_PARTIES:
        yield from _third_party(case, history, profile, request)


def _point(case: m.CaseView, profile: Profile, request: m.ContactRequest) -> Iterable[m.Reason]:
    point = case.point(request.contact_point)
    if point is None:
        return
    if point.state == m.WRONG_NUMBER:
        yield m.Reason("wrong_number", "this number was marked as a wrong number", "point")
    elif point.state == m.DO_NOT_CONTACT:
        yield m.Reason("point_do_not_contact", "do not contact this point", "point")
    elif point.state == m.UNREACHABLE:
        yield m.Reason("unreachable", "this point is out of service", "point")
    if request.channel in point.opted_out:
        yield m.Reason("opted_out", f"opted out of {request.channel} here", "opt_out")
    if (
        profile.honour_workplace_ban
        and point.workplace
        and m.FLAG_WORKPLACE_FORBIDDEN in case.flags
    ):
        yield m.Reason("workplace", "contact at the workplace is forbidden", "workplace")


def _third_party(
    case: m.CaseView,
    history: Sequence[m.Attempt],
    profile: Profile,
    request: m.ContactRequest,
) -> Iterable[m.Reason]:
    if profile.third_party_only_when_unreachable and not case.borrower_unreachable():
        yield m.Reason(
            "borrower_reachable",
            "third parties only when the borrower cannot be reached",
            "third_party.unreachable",
        )
    if not profile.third_party_may_discuss_debt and request.purpose not in {"locate", "message"}:
        yield m.Reason(
            "third_party_purpose",
            "a third party may only be asked to locate the borrower or pass on a message",
            "third_party.purpose",
        )
    limit = profile.max_location_inquiries_per_third_party
    if limit is not None:
        key = m.point_key(request.contact_point)
        asked = sum(
            1
            for a in history
            if not a.inbound
            and a.party == request.party
            and a.contact_point == key
            and a.outcome == "third_party_contact"
        )
        if asked >= limit:
            yield m.Reason(
                "location_inquiry_done",
                f"this third party was already asked {asked} time(s)",
                "third_party.once",
            )


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
            if d == today and a.contact_point == key and a.outcome in m.UNANSWERED_OUTCOMES
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
