"""Arrears legal-service."""
