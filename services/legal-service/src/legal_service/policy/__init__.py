"""The legal policy: pure functions of (case view, today, policy); no I/O."""

from legal_service.policy.model import CaseView, Recommendation
from legal_service.policy.recommend import TASK_TYPES, recommend
from legal_service.policy.thresholds import DEFAULT_POLICY, LegalPolicy

__all__ = ["DEFAULT_POLICY", "TASK_TYPES", "CaseView", "LegalPolicy", "Recommendation", "recommend"]
