"""contact-service's own metrics (HTTP, consumer and outbox metrics come from arrears)."""

from __future__ import annotations

from prometheus_client import Counter

from contact_service.policy.model import Decision

GUARD_DECISIONS = Counter(
    "arrears_guard_decisions_total",
    "Contact guard decisions, by what asked (permission, outcome, queue, daily_run) and outcome",
    ["use", "outcome", "profile"],
)


def counted(decision: Decision, use: str) -> Decision:
    """Count a guard decision and hand it back unchanged."""
    GUARD_DECISIONS.labels(
        use, "allowed" if decision.allowed else "refused", decision.profile
    ).inc()
    return decision
