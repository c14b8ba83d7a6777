"""Retry what Postgres aborted or dropped for a transient reason, so that a deadlock, a restart or a lost connection
never fails a job. Anything else (a bug, bad data, a constraint) is raised at once.

- `deadlock`, `serialization`: Postgres aborted one transaction of a cycle (40P01) or a conflict (40001).
  5 attempts, full-jitter backoff from 20 ms, capped at 1 s (`CONTENTION`).
- `shutdown`: the server is stopping or starting (57P01 admin_shutdown, 57P02, 57P03 cannot_connect_now).
- `connection`: the connection was lost or refused (class 08, no SQLSTATE at all, or Django's InterfaceError).
  These two: 8 attempts from 0.25 s, capped at 4 s (`RESTART`), about 10 s: a fast Postgres restart.

A lost connection is closed before the retry, so Django opens a fresh one. When the attempts run out the error is
raised as `TransientDatabaseError` (still a Django `OperationalError`), or as its subclass `DatabaseUnavailableError`
for the `shutdown`/`connection` reasons: the job tasks retry that one through Celery with a longer backoff, so a
restart longer than this budget still fails no job.
"""

from __future__ import annotations

import functools
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

import psycopg
from django.db import InterfaceError, OperationalError, connection, transaction
from psycopg import errors as pg_errors

from celerity.observability.metrics import DB_RETRIES_EXHAUSTED_TOTAL, DB_RETRIES_TOTAL

P = ParamSpec("P")
R = TypeVar("R")

RETRYABLE: dict[type[BaseException], str] = {
    pg_errors.DeadlockDetected: "deadlock",
    pg_errors.SerializationFailure: "serialization",
    pg_errors.AdminShutdown: "shutdown",
    pg_errors.CrashShutdown: "shutdown",
    pg_errors.CannotConnectNow: "shutdown",
}
RESTART_REASONS = frozenset({"shutdown", "connection"})  # the server went away: worth waiting longer for


@dataclass(frozen=True)
class Backoff:
    attempts: int
    base_delay: float
    max_delay: float

    def delay(self, attempt: int) -> float:
        """Full jitter: uniform below an exponentially growing cap, so aborted peers do not collide in lockstep."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))  # noqa: S311 - jitter


CONTENTION = Backoff(attempts=5, base_delay=0.02, max_delay=1.0)
RESTART = Backoff(attempts=8, base_delay=0.25, max_delay=4.0)  # about 10 s on average: a fast Postgres restart


class TransientDatabaseError(OperationalError):
    """A transient error that outlasted the in-process attempts; `reason` says which."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class DatabaseUnavailableError(TransientDatabaseError):
    """The server stayed away longer than the in-process attempts (a restart, a failover): the job tasks retry this
    one through Celery, with a longer backoff, instead of failing the job."""


def exhausted(reason: str, exc: BaseException) -> TransientDatabaseError:
    kind = DatabaseUnavailableError if reason in RESTART_REASONS else TransientDatabaseError
    return kind(reason, f"{reason}: {exc}")


def retry_reason(exc: BaseException) -> str | None:
    """The reason exc (or what Django wrapped) is worth retrying, or None for a permanent error."""
    if isinstance(exc, TransientDatabaseError):
        return exc.reason
    for candidate in (exc, exc.__cause__):
        for kind, reason in RETRYABLE.items():
            if isinstance(candidate, kind):
                return reason
    if isinstance(exc, InterfaceError) or isinstance(exc.__cause__, psycopg.InterfaceError):
        return "connection"
    cause = exc.__cause__ if isinstance(exc.__cause__, psycopg.OperationalError) else None
    if cause is not None:
        text = str(cause)
        if "shutting down" in text or "starting up" in text or "recovery mode" in text:
            return "shutdown"  # refused at connect time, where psycopg attaches no SQLSTATE
        if cause.sqlstate is None or cause.sqlstate.startswith("08"):
            return "connection"
    return None


_state = threading.local()  # how deep we are in retrying wrappers: only the outermost one retries


def retrying(
    *, lock: str, atomic: bool = False, contention: Backoff = CONTENTION, restart: Backoff = RESTART
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Rerun the function when it raises a transient database error, with backoff and bounded attempts.

    The function must be safe to rerun: with `atomic` its transaction is rolled back first; without, it must be
    idempotent (every job write is: guarded UPDATEs, outcomes written only while pending). Nested wrappers and calls
    inside someone else's transaction run once: the outermost owner retries, so attempts never multiply and a
    deadlock is retried by whoever holds the locks that closed it.
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if getattr(_state, "depth", 0) or transaction.get_connection().in_atomic_block:
                return _once(func, atomic, *args, **kwargs)
            attempt = {"contention": 0, "restart": 0}
            _state.depth = 1
            try:
                while True:
                    try:
                        return _once(func, atomic, *args, **kwargs)
                    except (OperationalError, InterfaceError) as exc:
                        reason = retry_reason(exc)
                        if reason is None:
                            raise
                        kind = "restart" if reason in RESTART_REASONS else "contention"
                        backoff = restart if kind == "restart" else contention
                        attempt[kind] += 1
                        if reason in RESTART_REASONS:
                            connection.close()  # a broken connection is never reused; the next query reconnects
                        if attempt[kind] >= backoff.attempts:
                            DB_RETRIES_EXHAUSTED_TOTAL.labels(lock=lock, reason=reason).inc()
                            if isinstance(exc, TransientDatabaseError):
                                raise
                            raise exhausted(reason, exc) from exc
                        DB_RETRIES_TOTAL.labels(lock=lock, reason=reason).inc()
                        time.sleep(backoff.delay(attempt[kind]))
            finally:
                _state.depth = 0

        return wrapper

    return decorate


def _once(func: Callable[P, R], atomic: bool, *args: P.args, **kwargs: P.kwargs) -> R:
    if not atomic:
        return func(*args, **kwargs)
    with transaction.atomic():
        return func(*args, **kwargs)


def atomic_with_retry(
    *,
    lock: str,
    attempts: int = CONTENTION.attempts,
    base_delay: float = CONTENTION.base_delay,
    max_delay: float = CONTENTION.max_delay,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run the function in its own transaction, retried as `retrying` says (the whole transaction reruns, so it must
    have no side effects outside the database). `attempts` and the delays are for deadlocks and conflicts."""
    return retrying(lock=lock, atomic=True, contention=Backoff(attempts, base_delay, max_delay))
