"""The case-event catalogue as consumers see it: one typed class per event's `data`."""

from arrears.events.catalogue import CASE_EVENT_TYPES
from arrears.events.types import CaseEventData, EventDataError

__all__ = ["CASE_EVENT_TYPES", "CaseEventData", "EventDataError"]
