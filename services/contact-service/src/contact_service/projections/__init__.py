"""Case events -> contact-service read models."""

from contact_service.projections.handlers import HANDLERS, Projection, fingerprint

__all__ = ["HANDLERS", "Projection", "fingerprint"]
