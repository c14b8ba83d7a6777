"""What the jobs services refuse, as exceptions the API turns into 4xx answers (never a 500 for client input)."""

from __future__ import annotations


class JobInputError(ValueError):
    """The request is well-formed but asks for something we will not do; names the field (422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class JobNotFoundError(LookupError):
    """No job with that id (404)."""


class JobStateError(RuntimeError):
    """The job's state forbids the operation, e.g. cancelling a finished job (409)."""
