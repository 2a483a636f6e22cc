"""Contact policy: the guard (lawful contact), jurisdiction profiles and strategies.

Pure functions of (case view, contact history, profile or strategy, now): no I/O.
"""

from contact_service.policy.guard import decide
from contact_service.policy.model import (
    Attempt,
    CaseView,
    ContactPoint,
    ContactRequest,
    Decision,
    Reason,
)
from contact_service.policy.profiles import (
    CN,
    PROFILES,
    UK_CONC,
    US_REG_F,
    Profile,
    profile_for,
)

__all__ = [
    "CN",
    "PROFILES",
    "UK_CONC",
    "US_REG_F",
    "Attempt",
    "CaseView",
    "ContactPoint",
    "ContactRequest",
    "Decision",
    "Profile",
    "Reason",
    "decide",
    "profile_for",
]
