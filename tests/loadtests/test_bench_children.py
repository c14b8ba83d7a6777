"""The bench's measurements that run Celerity's own code in a child process, against the test session's real
Postgres: the chunk task's anatomy must still find the recorder's steps it times (a renamed step would silently
drop out of docs/benchmarks.md), and the physical-limit writers must write every row once and leave nothing behind."""

from __future__ import annotations

import psycopg
import pytest

from loadtests.benchmarks import anatomy, pglimit
from loadtests.checking import _libpq_url

pytestmark = pytest.mark.slow


def jobs(database_url: str) -> int:
    with psycopg.connect(_libpq_url(database_url)) as connection:
        row = connection.execute("SELECT count(*) FROM jobs_job").fetchone()
    assert row is not None
    return int(row[0])


def test_a_chunk_task_is_timed_step_by_step_and_its_job_removed(
    django_db_setup: None, database_url: str, redis_url: str
) -> None:
    before = jobs(database_url)
    found = anatomy.measure(database_url, redis_url, chunk_size=10, chunks=5)
    assert set(found["steps"]) == set(anatomy.STEPS.values()), "every step of job_chunk_run was called and timed"
    assert all(seconds > 0 for seconds in found["steps"].values())
    assert sum(found["steps"].values()) <= found["total_mean"], "the steps are parts of the whole"
    statements = found["statements"]
    for kind in ("the recording statement (RECORD)", "completion check", "COMMIT"):
        assert statements[kind]["per_chunk"] == 1.0, f"{kind}: {statements}"
    assert found["profile"], "the profiled pass found the functions that take the time"
    assert jobs(database_url) == before


def test_postgres_alone_takes_every_row_once_from_several_writers(
    django_db_setup: None, database_url: str, redis_url: str
) -> None:
    before = jobs(database_url)
    found = pglimit.measure(
        database_url,
        redis_url,
        seconds=0.2,
        writers=[1, 2],
        methods=["copy100", "record100"],
        max_rows=3000,
    )
    assert [(p["method"], p["writers"]) for p in found] == [
        (method, writers) for method in ("copy100", "record100") for writers in (1, 2)
    ]
    assert all(p["correct"] and p["rows"] >= 100 * p["writers"] and p["rows_per_second"] > 0 for p in found), found
    assert pglimit.rate(found, "record100", 2) == found[-1]["rows_per_second"]
    assert jobs(database_url) == before, "the writers' jobs are deleted with their rows"
