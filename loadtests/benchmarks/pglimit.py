"""The physical limit: how fast this machine's Postgres accepts Celerity's item rows on their own, with nothing else
of Celerity running (no Celery, no messages, no items computed).

In a child process with the services loaded (the recorder's own statement, `statements.RECORD`, and the item table),
against the bench stack's Postgres; each writer is a forked process with its own connection, writing its own job's
rows, every batch its own transaction (as every chunk is):

- **COPY** of item rows, batches of 100 rows (a chunk) and of 10,000;
- **INSERT … ON CONFLICT**, 100 rows per statement from arrays, without RECORD's job check and chunk-row update;
- **RECORD**, the recorder's statement itself, one chunk of 100 outcomes per statement (it also checks the job and
  adds to the chunk's row), as `job_chunk_run` sends it;

with 1, 2 and 4 writers, each for a bounded time. The bench compares Celerity's chunked items/s with RECORD's rate at
2 writers (the `bulk` pool's processes).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from typing import Any

from loadtests.benchmarks import child

METHODS = {
    "copy100": "COPY, 100 rows per batch",
    "copy10000": "COPY, 10,000 rows per batch",
    "insert100": "INSERT … ON CONFLICT, 100 rows per statement",
    "record100": "RECORD (the recorder's statement), 100 rows per statement",
}
COLUMNS = "(job_id, index, state, output, error, attempts, writes)"


def _url() -> str:
    from loadtests.checking import _libpq_url

    return _libpq_url(os.environ["DATABASE_URL"])


def _jobs(writers: int, chunks: int, size: int) -> list[str]:
    """One running job per writer, with its chunk rows (RECORD needs them)."""
    from django.utils import timezone

    from celerity.jobs.models import Job, JobChunk, JobStatus

    ids = []
    for _ in range(writers):
        job = Job.objects.create(
            job_type="chunked", workload="chunked", items=chunks * size, chunk_size=size, queue="bulk",
            status=JobStatus.RUNNING, started_at=timezone.now(),
        )  # fmt: skip  # one row's fields
        JobChunk.objects.bulk_create(
            [JobChunk(job=job, index=k, start=k * size, stop=(k + 1) * size) for k in range(chunks)]
        )
        ids.append(str(job.id))
    return ids


def _writer(method: str, url: str, job_id: str, seconds: float, size: int, chunks: int, out: Any) -> None:
    """In a forked writer: (rows, seconds) of its batches, or (None, why) when one failed."""
    try:
        out.put(_batches(method, url, job_id, seconds, size, chunks))
    except Exception as exc:  # reported by the parent, which must not wait for rows that will not come
        out.put((None, f"{type(exc).__name__}: {exc}"[:300]))


def _batches(method: str, url: str, job_id: str, seconds: float, size: int, chunks: int) -> tuple[int, float]:
    """Batches until the time is up or the job's chunks run out."""
    import psycopg

    from celerity.jobs.models import Item
    from celerity.jobs.services.statements import RECORD

    table, rows, k = Item._meta.db_table, 0, 0
    # Client-side binding, as Django's psycopg backend does: no server-side prepared statements (whose generic plan
    # a RECORD would get after 5 runs), so each statement is planned as the recorder's is.
    with psycopg.connect(url, cursor_factory=psycopg.ClientCursor) as connection:
        started = time.perf_counter()
        while time.perf_counter() - started < seconds and k < chunks:
            first = k * size
            if method.startswith("copy"):
                data = "".join(f"{job_id}\t{i}\t1\t{i * i}\t\t1\t1\n" for i in range(first, first + size))
                with connection.cursor().copy(f"COPY {table} {COLUMNS} FROM STDIN") as copy:
                    copy.write(data)
            elif method == "insert100":
                connection.execute(
                    f"INSERT INTO {table} {COLUMNS} SELECT %s::uuid, i, 1, to_jsonb(i::bigint * i), '', 1, 1 "  # noqa: S608 - a table name from the models
                    "FROM unnest(%s::int[]) AS i ON CONFLICT (job_id, index) DO NOTHING",
                    (job_id, list(range(first, first + size))),
                )
            else:
                outputs = json.dumps([i * i for i in range(first, first + size)])
                connection.execute(RECORD, {"job": job_id, "chunk": k, "outputs": outputs, "errors": []})
            connection.commit()
            rows, k = rows + size, k + 1
        return rows, time.perf_counter() - started


def _run(method: str, writers: int, seconds: float, url: str, max_rows: int) -> dict[str, Any]:
    size = 10_000 if method == "copy10000" else 100
    chunks = max(max_rows // size, 1)  # a bound on the rows per writer, whatever the speed
    ids = _jobs(writers, chunks, size)
    from celerity.jobs.models import Item, Job

    try:
        context = multiprocessing.get_context("fork")
        out = context.Queue()
        procs = [context.Process(target=_writer, args=(method, url, j, seconds, size, chunks, out)) for j in ids]
        for p in procs:
            p.start()
        results = [out.get(timeout=seconds + 120) for _ in procs]
        for p in procs:
            p.join(30)
        if failed := [str(r[1]) for r in results if r[0] is None]:
            raise RuntimeError(f"{method} with {writers} writers: {failed[0]}")
        wrote = sum(r[0] for r in results)
        found = Item.objects.filter(job_id__in=ids, writes=1).count()
    finally:
        Job.objects.filter(id__in=ids).delete()
    return {
        "method": method,
        "writers": writers,
        "rows": wrote,
        "rows_per_second": wrote / max(r[1] for r in results),
        "correct": found == wrote,  # every row written, once
    }


def _measure(args: dict[str, Any]) -> list[dict[str, Any]]:
    child.setup_django()
    url, seconds, max_rows = _url(), float(args.get("seconds", 2.0)), int(args.get("max_rows", 400_000))
    return [
        _run(method, writers, seconds, url, max_rows)
        for method in args.get("methods", list(METHODS))
        for writers in args.get("writers", [1, 2, 4])
    ]


def measure(database_url: str, redis_url: str, **args: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = child.run(
        "loadtests.benchmarks.pglimit", env=child.django_env(database_url, redis_url), args=args, timeout=600
    )
    return found


def rate(points: list[dict[str, Any]], method: str, writers: int) -> float | None:
    return next((p["rows_per_second"] for p in points if p["method"] == method and p["writers"] == writers), None)


if __name__ == "__main__":
    print(json.dumps(_measure(child.arguments())))
