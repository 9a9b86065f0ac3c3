"""Domain errors: what a rule refused, in the domain's words.

They carry no transport detail; the API maps each kind to its status code in one place
(`services.api.errors`), the CLI prints the message.
"""

from __future__ import annotations


class DomainError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    pass


class Conflict(DomainError):
    pass


class Invalid(DomainError):
    """A value that passed the schema but not the rules (e.g. a key pair that does not match)."""


class Forbidden(DomainError):
    pass
