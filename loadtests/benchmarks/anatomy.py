"""Where one Celerity chunk task's time goes: `job_chunk_run` on chunks of no-op items, called in a child process
exactly as the worker's pool child calls it (Django set up, metrics written to a multiprocess directory), against the
bench stack's Postgres, with a timer on each of its steps and on every SQL statement and commit.

The steps are the module-level functions `job_chunk_run` calls, timed by wrapping them for this process only (the
services are not changed): running the items, the recording transaction (its statement, its commit), counting the
items in metrics, and the completion check. What is left is the retry decorator and the calls between them. A second
pass runs under cProfile for the functions that take the time. Celery's own work around a task (the signals, the
message, the acknowledgement, events) is not in here: the instrumentation and knobs sections measure it.
"""

from __future__ import annotations

import cProfile
import json
import pstats
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from loadtests.benchmarks import child

STEPS = {  # recording's module-level function -> the step it is
    "items_run": "run the items (the job type's function and the cancel check per item)",
    "items_write": "record: the transaction (BEGIN, the statement, COMMIT: three round trips)",
    "count_recorded": "count the items in metrics",
    "finish_if_complete": "is the job complete? (one indexed read)",
}
STATEMENTS = (  # (what the SQL holds, what it is), first match wins
    (("WITH job AS", "INSERT INTO"), "the recording statement (RECORD)"),
    (('AS "a"', 'FROM "jobs_jobchunk"'), "completion check"),
    (('SELECT "jobs_job"."status"',), "cancel check (once per 0.5 s)"),
)


def statement_kind(sql: str) -> str:
    found = (what for marks, what in STATEMENTS if all(mark in sql for mark in marks))
    return next(found, sql.lstrip().split(None, 1)[0].upper())


def _timed(times: dict[str, list[float]], key: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            times[key].append(time.perf_counter() - started)

    return timed


def _job(chunks: int, size: int) -> str:
    from django.utils import timezone

    from celerity.jobs.models import Job, JobChunk, JobStatus

    job = Job.objects.create(
        job_type="chunked", workload="chunked", items=chunks * size, chunk_size=size, queue="bulk",
        status=JobStatus.RUNNING, started_at=timezone.now(),
    )  # fmt: skip  # one row's fields
    JobChunk.objects.bulk_create(
        [JobChunk(job=job, index=k, start=k * size, stop=(k + 1) * size) for k in range(chunks)]
    )
    return str(job.id)


def _chunks(job_id: str, first: int, count: int, size: int) -> None:
    from celerity.jobs.services import recording

    for k in range(first, first + count):
        recording.job_chunk_run(
            job_id=job_id, job_type="chunked", chunk_index=k, start=k * size, stop=(k + 1) * size,
            has_inputs=False, options={},
        )  # fmt: skip  # the task's arguments


def _profile(job_id: str, first: int, count: int, size: int, top: int = 12) -> list[dict[str, Any]]:
    profile = cProfile.Profile()
    profile.runcall(_chunks, job_id, first, count, size)
    stats = pstats.Stats(profile)
    rows = []
    for (filename, line, name), (_, calls, own, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]  # pstats' table is untyped
        short = filename.split("site-packages/")[-1].split("/services/")[-1]
        if short.startswith("/"):  # the standard library's: its module is enough
            short = "/".join(short.rsplit("/", 2)[-2:])
        rows.append(
            {"function": f"{short}:{line}({name})", "calls": calls, "own": own / count, "cum": cumulative / count}
        )
    return sorted(rows, key=lambda r: -r["own"])[:top]


def _measure(args: dict[str, Any]) -> dict[str, Any]:
    child.setup_django()
    from django.db import connections

    from celerity.jobs.models import Job
    from celerity.jobs.services import recording

    size, chunks, warmup = int(args["chunk_size"]), int(args["chunks"]), int(args.get("warmup", 20))
    job_id = _job(warmup + 2 * chunks, size)
    steps: dict[str, list[float]] = defaultdict(list)
    sql: dict[str, list[float]] = defaultdict(list)
    connection = connections["default"]
    try:
        _chunks(job_id, 0, warmup, size)  # connections open, caches warm, as in a worker that has run a while
        for name in STEPS:
            setattr(recording, name, _timed(steps, name, getattr(recording, name)))
        connection.commit = _timed(sql, "COMMIT", connection.commit)  # type: ignore[method-assign]  # this process only

        def wrapper(execute: Callable[..., Any], statement: str, params: Any, many: bool, context: Any) -> Any:
            return _timed(sql, statement_kind(statement), execute)(statement, params, many, context)

        totals = []
        with connection.execute_wrapper(wrapper):
            for k in range(warmup, warmup + chunks):
                started = time.perf_counter()
                _chunks(job_id, k, 1, size)
                totals.append(time.perf_counter() - started)
        steps, sql = {k: list(v) for k, v in steps.items()}, {k: list(v) for k, v in sql.items()}  # not the profile's
        profiled = _profile(job_id, warmup + chunks, chunks, size)
    finally:
        Job.objects.filter(id=job_id).delete()
    per_chunk = len(totals)
    return {
        "chunk_size": size,
        "chunks": per_chunk,
        "total_mean": statistics.fmean(totals),
        "total_median": statistics.median(totals),
        "steps": {STEPS[name]: sum(values) / per_chunk for name, values in steps.items()},
        "statements": {
            kind: {
                "per_chunk": len(values) / per_chunk,
                "mean": statistics.fmean(values),
                "total": sum(values) / per_chunk,
            }
            for kind, values in sql.items()
        },
        "profile": profiled,
    }


def measure(database_url: str, redis_url: str, *, chunk_size: int = 100, chunks: int = 200) -> dict[str, Any]:
    found: dict[str, Any] = child.run(
        "loadtests.benchmarks.anatomy",
        env=child.django_env(database_url, redis_url),
        args={"chunk_size": chunk_size, "chunks": chunks},
    )
    return found


def bare_task(chunk_size: int = 100, runs: int = 2000) -> float:
    """The plain baseline's chunk task body on its own (seconds per call): what its worker runs besides Celery."""
    from loadtests.baseline.app import chunk_square

    started = time.perf_counter()
    for k in range(runs):
        chunk_square.run(k * chunk_size, (k + 1) * chunk_size)
    return (time.perf_counter() - started) / runs


if __name__ == "__main__":
    print(json.dumps(_measure(child.arguments())))
