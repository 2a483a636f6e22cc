"""contact-service's own metrics (HTTP, consumer and outbox metrics come from arrears)."""

from __future__ import annotations

from prometheus_client import Counter

from contact_service.policy.model import Decision

GUARD_DECISIONS = Counter(
    "arrears_guard_decisions_total",
    "Contact guard decisions, by what asked (permission, outcome, queue, daily_run) and outcome",
    ["use", "outcome", "profile"],
)

DECIDED_AGAIN = Counter(
    "arrears_contact_decided_again_total",
    "Attempts and promises decided again under the case's lock: the guard's inputs changed"
    " between their reading and the checked write (readmodel/repository/commands.py)",
)


def counted(decision: Decision, use: str) -> Decision:
    """Count a guard decision and hand it back unchanged."""
    GUARD_DECISIONS.labels(
        use, "allowed" if decision.allowed else "refused", decision.profile
    ).inc()
    return decision
