"""Every test can ask for real PostgreSQL and broker fixtures (started lazily)."""

pytest_plugins = ["arrears_dev.testing.pytest_plugin"]
