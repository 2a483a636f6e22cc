"""Development tooling for Arrears: the embedded PostgreSQL and broker, `make run`'s devstack,
the portfolio simulator and the pytest plugin. No production image installs this package, and
no service imports it."""
