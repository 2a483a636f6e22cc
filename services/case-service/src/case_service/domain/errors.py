"""Errors raised by the domain when a command breaks a rule.

`InvalidCommand` means the command itself is malformed or implausible (HTTP 422);
`CommandForbidden` means it is well formed but the case's state forbids it (HTTP 409).
Both name the offending `field` where there is one. A command that raises never
records an event: every check runs before the first `trigger_event`.
"""

from __future__ import annotations


class DomainError(Exception):
    """A command broke a domain rule."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, field={self.field!r})"


class InvalidCommand(DomainError):
    """The command's data is invalid or implausible (maps to HTTP 422)."""


class CommandForbidden(DomainError):
    """The command conflicts with the case's current state (maps to HTTP 409)."""
