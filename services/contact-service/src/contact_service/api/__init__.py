"""contact-service HTTP API."""
