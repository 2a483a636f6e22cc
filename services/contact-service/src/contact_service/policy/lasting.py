"""The guard's lasting reasons: flags, the state and owner of a contact point, parties,
vulnerability and escalation. A lasting reason does not clear with time
(`next_allowed_at` is None): it clears when a fact of the case changes."""

from __future__ import annotations

from collections.abc import Generator, Iterable, Sequence

from contact_service.policy import model as m
from contact_service.policy.profiles import Profile

# Channels whose contact point is an address or the app, not a number or e-mail address.
_NOT_A_POINT = frozenset({"letter", "visit", "app_push"})


# --- lasting reasons: flags, states, parties -------------------------------------------


def lasting_reasons(
    case: m.CaseView,
    history: Sequence[m.Attempt],
    profile: Profile,
    request: m.ContactRequest,
) -> Iterable[m.Reason]:
    flags = case.flags
    if case.status != "open" and profile.has("all.case_open"):
        yield m.Reason("case_closed", "the case is closed", "all.case_open")
    for flag, code, message, rule in _FLAG_RULES:
        if flag in flags and profile.has(rule):
            yield m.Reason(code, message, rule)
    if profile.honour_dispute and case.in_dispute:
        yield m.Reason("dispute", "the debt is disputed and not yet verified", "dispute")
    if profile.honour_open_complaint and case.open_complaints:
        yield m.Reason("open_complaint", "a complaint is open", "complaint")
    if request.channel in case.opted_out_channels and profile.has("opt_out"):
        yield m.Reason("opted_out", f"the borrower opted out of {request.channel}", "opt_out")
    point = case.point(request.contact_point)
    if request.channel not in _NOT_A_POINT:
        owner = yield from _ownership(point, profile, request)
        if owner is None:
            return  # an unknown number: no other rule can speak for it
        if point is not None:
            yield from _point(case, point, profile, request)
    yield from _vulnerable_and_escalation(case, profile, request)
    if request.party in m.THIRD_PARTIES:
        yield from _third_party(case, history, profile, request)


_FLAG_RULES = (
    (m.FLAG_DO_NOT_CONTACT, "do_not_contact", "a do-not-contact request is on file", "all.dnc"),
    (m.FLAG_DECEASED, "deceased", "the borrower is deceased", "all.deceased"),
    (m.FLAG_BANKRUPT, "bankrupt", "the borrower is in bankruptcy", "all.bankrupt"),
    (m.FLAG_CEASE, "cease", "the borrower asked in writing to cease contact", "all.cease"),
    (m.FLAG_ATTORNEY, "attorney", "the borrower is represented by an attorney", "attorney"),
)


def _ownership(
    point: m.ContactPoint | None, profile: Profile, request: m.ContactRequest
) -> Generator[m.Reason, None, str | None]:
    """The party behind the number is the case's record: an unknown number is refused, a
    caller's label that differs from the record is refused. Returns the recorded owner."""
    if point is None:
        if profile.has("point.known"):
            yield m.Reason(
                "unknown_contact_point",
                "the case does not know this contact point; add it (with its owner and "
                "source) at case-service first",
                "point.known",
            )
            return None
        return request.party
    if point.party != request.party and profile.has("point.owner"):
        yield m.Reason(
            "party_mismatch",
            f"the case records this contact point as the {point.party}'s, not the "
            f"{request.party}'s",
            "point.owner",
        )
    return point.party


def _vulnerable_and_escalation(
    case: m.CaseView, profile: Profile, request: m.ContactRequest
) -> Iterable[m.Reason]:
    third = request.party in m.THIRD_PARTIES
    if m.FLAG_VULNERABLE in case.flags and profile.has("vulnerable"):
        barred = set(profile.param("vulnerable", "barred_channels", []) or [])
        no_third = third and not profile.param("vulnerable", "third_parties", True)
        if request.channel in barred or no_third:
            yield m.Reason(
                "vulnerable",
                "the customer is vulnerable: no field visit or third-party contact",
                "vulnerable",
            )
    for rule, flag, missing in _ESCALATION:
        if not profile.has(rule) or flag in case.flags:
            continue
        channels = set(profile.param(rule, "channels", []) or [])
        if request.channel in channels or (third and profile.param(rule, "third_parties")):
            yield m.Reason("escalation_too_early", f"no escalation before {missing}", rule)


_ESCALATION = (
    ("escalation.forbearance_first", m.FLAG_FORBEARANCE_OFFERED, "forbearance was offered"),
    (
        "escalation.arrears_sheet_first",
        m.FLAG_ARREARS_SHEET_SENT,
        "the arrears information sheet was sent",
    ),
)


def _point(
    case: m.CaseView, point: m.ContactPoint, profile: Profile, request: m.ContactRequest
) -> Iterable[m.Reason]:
    if not profile.has("point"):
        pass
    elif point.state == m.WRONG_NUMBER:
        yield m.Reason("wrong_number", "this number was marked as a wrong number", "point")
    elif point.state == m.DO_NOT_CONTACT:
        yield m.Reason("point_do_not_contact", "do not contact this point", "point")
    elif point.state == m.UNREACHABLE:
        yield m.Reason("unreachable", "this point is out of service", "point")
    if request.channel in point.opted_out and profile.has("opt_out"):
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
            and m.point_key(a.contact_point) == key
            and a.outcome == "third_party_contact"
        )
        if asked >= limit:
            yield m.Reason(
                "location_inquiry_done",
                f"this third party was already asked {asked} time(s)",
                "third_party.once",
            )
