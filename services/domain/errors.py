"""Domain errors; the API maps each to one status code in one place."""

from __future__ import annotations


class DomainError(Exception):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    code = 404


class Conflict(DomainError):
    code = 409


class Invalid(DomainError):
    """A value that passed the schema but not the rules (e.g. a key pair that does not match)."""

    code = 400


class Forbidden(DomainError):
    code = 403
