"""What goes wrong on a job's route, decided in one place: what the jobs services refuse (exceptions the API turns
into 4xx answers, never a 500 for client input), and whether an error is the broker's fault (`broker_failure`)."""

from __future__ import annotations

import traceback

from kombu.exceptions import KombuError
from redis.exceptions import RedisError


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


def broker_failure(exc: BaseException) -> bool:
    """The broker could not take or give a message: its own errors (kombu's, redis-py's, the socket's), or kombu
    tripping over a connection lost meanwhile (an AttributeError from inside kombu, docs/reliability.md). Every
    caller that tolerates a broker away asks this; anything else is a bug and is raised."""
    if isinstance(exc, KombuError | RedisError | OSError):
        return True
    frames = traceback.extract_tb(exc.__traceback__)
    return isinstance(exc, AttributeError) and bool(frames) and "/kombu/" in frames[-1].filename
