"""legal-service settings, from the environment (one typed object; DESIGN §6)."""

from __future__ import annotations

from decimal import Decimal

from arrears.db import async_url
from arrears.messaging import LEGAL_TASKS_TOPIC
from arrears.service import ConsumerServiceSettings
from pydantic import Field

from legal_service.policy.thresholds import LegalPolicy


class LegalServiceSettings(ConsumerServiceSettings):
    service_name: str = "legal-service"
    http_port: int = 8003
    database_url: str = "postgresql://postgres@127.0.0.1:5433/arrears_legal"
    consumer_group: str = "legal-service"
    # The consumer's broker fetch may wait 250 ms and its loop turns every 500 ms (as
    # contact-service's, whose settings say why; the shared defaults are 50/100): each empty
    # fetch is work here and at the broker, and nothing legal-service decides needs events
    # sooner than that.
    consumer_fetch_max_wait_ms: int = Field(default=250, ge=1, le=5_000)
    consumer_poll_timeout_ms: int = Field(default=500, ge=1, le=60_000)
    # Records arriving are gathered for 50 ms and applied together: case events trickle in
    # one or two at a time, each batch costing a transaction and its statements whatever its
    # size; 50 ms more projection lag changes nothing for collectors (ConsumerConfig).
    consumer_linger_ms: int = Field(default=50, ge=0, le=5_000)
    legal_tasks_topic: str = LEGAL_TASKS_TOPIC
    daily_run_batch: int = 1000
    # How long an API call waits for case-service before answering 202 (queued).
    forward_wait_seconds: float = 5.0

    # --- legal policy (legal_service.policy.thresholds.LegalPolicy documents each) ------
    limitation_years: int = 3
    limitation_alert_days: tuple[int, ...] = (180, 90, 30)
    referral_min_days_past_due: int = 90
    referral_min_arrears: Decimal = Decimal("5000")
    effective_collection_gap_days: int = 30
    min_net_benefit: Decimal = Decimal("0")
    write_off_min_days_past_due: int = 90
    promise_counts_as_acknowledgement: bool = True

    def policy(self) -> LegalPolicy:
        return LegalPolicy(
            limitation_years=self.limitation_years,
            limitation_alert_days=tuple(sorted(set(self.limitation_alert_days), reverse=True)),
            referral_min_days_past_due=self.referral_min_days_past_due,
            referral_min_arrears=self.referral_min_arrears,
            effective_collection_gap_days=self.effective_collection_gap_days,
            min_net_benefit=self.min_net_benefit,
            write_off_min_days_past_due=self.write_off_min_days_past_due,
            promise_counts_as_acknowledgement=self.promise_counts_as_acknowledgement,
        )


__all__ = ["LegalServiceSettings", "async_url"]  # async_url: re-exported from arrears.db
