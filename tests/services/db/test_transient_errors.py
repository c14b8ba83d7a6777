"""Transient database errors are retried, with the connection renewed, and only permanent ones are raised at once."""

from __future__ import annotations

import psycopg
import pytest
from django.db import IntegrityError, InterfaceError, OperationalError, connection
from psycopg import errors as pg_errors

from celerity.db.retrying import (
    Backoff,
    DatabaseUnavailableError,
    TransientDatabaseError,
    retry_reason,
    retrying,
)
from celerity.observability.metrics import DB_RETRIES_EXHAUSTED_TOTAL, DB_RETRIES_TOTAL

pytestmark = pytest.mark.django_db(transaction=True)
FAST = Backoff(attempts=4, base_delay=0.001, max_delay=0.01)


def wrapped(cause: BaseException, kind: type[Exception] = OperationalError) -> Exception:
    """What Django raises: its own class, the driver's error as the cause."""
    error = kind(str(cause))
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (wrapped(pg_errors.DeadlockDetected()), "deadlock"),
        (wrapped(pg_errors.SerializationFailure()), "serialization"),
        (wrapped(pg_errors.AdminShutdown("terminating connection due to administrator command")), "shutdown"),
        (wrapped(pg_errors.CannotConnectNow("the database system is starting up")), "shutdown"),
        (wrapped(psycopg.OperationalError("connection failed: the database system is shutting down")), "shutdown"),
        (wrapped(psycopg.OperationalError("server closed the connection unexpectedly")), "connection"),
        (wrapped(psycopg.OperationalError("connection refused")), "connection"),
        (wrapped(psycopg.InterfaceError("the connection is closed"), InterfaceError), "connection"),
        (InterfaceError("connection already closed"), "connection"),
        (wrapped(pg_errors.QueryCanceled("canceling statement due to statement timeout")), None),
        (wrapped(pg_errors.UniqueViolation(), IntegrityError), None),
    ],
)
def test_each_error_is_classified_by_what_happened(error: Exception, reason: str | None) -> None:
    assert retry_reason(error) == reason


def test_a_lost_connection_is_renewed_and_the_work_runs_again() -> None:
    """Our own backend is terminated (as a Postgres restart does); the retry reconnects and the write lands once."""
    retried = DB_RETRIES_TOTAL.labels(lock="test_lost", reason="shutdown")
    before, calls = retried._value.get(), []

    @retrying(lock="test_lost", atomic=True, restart=FAST)
    def write_once_lost() -> int:
        calls.append(1)
        with connection.cursor() as cursor:
            if len(calls) == 1:
                pid = connection.connection.info.backend_pid
                with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
                    other.execute("SELECT pg_terminate_backend(%s)", [pid])
            cursor.execute("SELECT 41 + 1")
            return int(cursor.fetchone()[0])

    assert write_once_lost() == 42
    assert len(calls) == 2
    assert retried._value.get() == before + 1


def test_a_server_that_stays_away_raises_an_error_the_tasks_retry() -> None:
    exhausted = DB_RETRIES_EXHAUSTED_TOTAL.labels(lock="test_away", reason="connection")
    before, calls = exhausted._value.get(), []

    @retrying(lock="test_away", restart=FAST)
    def always_refused() -> None:
        calls.append(1)
        raise wrapped(psycopg.OperationalError("connection refused"))

    with pytest.raises(DatabaseUnavailableError) as caught:
        always_refused()
    assert (len(calls), caught.value.reason) == (FAST.attempts, "connection")
    assert exhausted._value.get() == before + 1


def test_exhausted_contention_is_transient_but_not_an_outage() -> None:
    @retrying(lock="test_contention", contention=FAST)
    def always_deadlocks() -> None:
        raise wrapped(pg_errors.DeadlockDetected())

    with pytest.raises(TransientDatabaseError) as caught:
        always_deadlocks()
    assert not isinstance(caught.value, DatabaseUnavailableError)


def test_a_permanent_error_is_raised_at_once() -> None:
    calls: list[int] = []

    @retrying(lock="test_permanent", restart=FAST)
    def broken() -> None:
        calls.append(1)
        raise wrapped(pg_errors.UndefinedTable("no such table"))

    with pytest.raises(OperationalError):
        broken()
    assert calls == [1]


def test_nested_wrappers_retry_only_at_the_outermost() -> None:
    calls: list[str] = []

    @retrying(lock="test_inner", contention=FAST)
    def inner() -> None:
        calls.append("inner")
        raise wrapped(pg_errors.DeadlockDetected())

    @retrying(lock="test_outer", contention=FAST)
    def outer() -> None:
        inner()

    with pytest.raises(TransientDatabaseError):
        outer()
    assert len(calls) == FAST.attempts
