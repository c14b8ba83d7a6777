"""Retry a transaction that Postgres aborted to break a deadlock (40P01) or a serialization conflict (40001)."""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.db import OperationalError, transaction
from psycopg import errors as pg_errors

from celerity.observability.metrics import DB_RETRIES_EXHAUSTED_TOTAL, DB_RETRIES_TOTAL

P = ParamSpec("P")
R = TypeVar("R")

RETRYABLE: dict[type[BaseException], str] = {
    pg_errors.DeadlockDetected: "deadlock",
    pg_errors.SerializationFailure: "serialization",
}


def retry_reason(exc: BaseException) -> str | None:
    """'deadlock' or 'serialization' when exc (or what Django wrapped) is worth retrying, else None."""
    for candidate in (exc, exc.__cause__):
        for kind, reason in RETRYABLE.items():
            if isinstance(candidate, kind):
                return reason
    return None


def atomic_with_retry(
    *, lock: str, attempts: int = 5, base_delay: float = 0.02, max_delay: float = 1.0
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run the function in its own transaction; on deadlock/serialization failure, back off and rerun.

    The whole transaction reruns, so the function must not have side effects outside the database. The backoff is
    "full jitter" (a uniform draw below an exponentially growing cap), so the transactions a deadlock aborted do not
    collide again in lockstep. Called inside someone else's transaction it runs once, without retrying: the outer
    transaction keeps the locks that closed the cycle, so only its owner can retry usefully.
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if transaction.get_connection().in_atomic_block:
                with transaction.atomic():
                    return func(*args, **kwargs)
            for attempt in range(1, attempts + 1):
                try:
                    with transaction.atomic():
                        return func(*args, **kwargs)
                except OperationalError as exc:
                    reason = retry_reason(exc)
                    if reason is None:
                        raise
                    if attempt == attempts:
                        DB_RETRIES_EXHAUSTED_TOTAL.labels(lock=lock, reason=reason).inc()
                        raise
                    DB_RETRIES_TOTAL.labels(lock=lock, reason=reason).inc()
                    delay = min(max_delay, base_delay * 2 ** (attempt - 1))
                    time.sleep(random.uniform(0, delay))  # noqa: S311 - jitter, not cryptography
            raise AssertionError("unreachable")  # pragma: no cover

        return wrapper

    return decorate
