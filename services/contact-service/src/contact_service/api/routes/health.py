"""Liveness and readiness probes (arrears.health): the database and the broker."""

from __future__ import annotations

from arrears.health import ReadinessInputs, probes_router

from contact_service.api.deps import ContextDep


def _checked(ctx: ContextDep) -> ReadinessInputs:
    return ctx.engine, ctx.settings.kafka_bootstrap_servers


router = probes_router(_checked)
