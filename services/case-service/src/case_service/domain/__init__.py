"""The pure domain model of Arrears: the CollectionCase aggregate, its events and rules.

Imports only the standard library and eventsourcing.domain: no web, database or broker.
"""

from .aggregate import CASE_NAMESPACE, CollectionCase
from .catalogue import EVENT_CLASSES, event_payload
from .errors import CommandForbidden, DomainError, InvalidCommand
from .events import CaseEvent
from .policy import DEFAULT_POLICY, CasePolicy
from .risk import RiskAssessment

__all__ = [
    "CASE_NAMESPACE",
    "DEFAULT_POLICY",
    "EVENT_CLASSES",
    "CaseEvent",
    "CasePolicy",
    "CollectionCase",
    "CommandForbidden",
    "DomainError",
    "InvalidCommand",
    "RiskAssessment",
    "event_payload",
]
