"""Arrears contact-service."""
