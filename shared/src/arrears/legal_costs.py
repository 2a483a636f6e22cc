"""The kinds of legal cost: one list for case-service's command and event and legal-service's
API (which forwards every cost it keeps to case-service, so they must accept the same)."""

from __future__ import annotations

from typing import Literal, get_args

LegalCostKind = Literal[
    "court_fee",  # 案件受理费 and other court fees
    "lawyer_fee",
    "preservation_fee",  # the court's fee for asset preservation (诉讼保全)
    "preservation_bond",  # security the applicant posts for preservation
    "enforcement_fee",
    "notary_fee",
    "service_fee",  # service of process
    "other",
]
LEGAL_COST_KINDS: tuple[str, ...] = get_args(LegalCostKind)
