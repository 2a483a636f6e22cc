"""Case events -> contact-service read models."""

from contact_service.projections.handlers import HANDLERS
from contact_service.projections.projection import Projection
from contact_service.projections.store import fingerprint

__all__ = ["HANDLERS", "Projection", "fingerprint"]
