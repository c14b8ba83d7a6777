"""Compute items and record their outcomes. Idempotent by construction, because `acks_late` redelivers:

- an item row is created only when its outcome is recorded (`INSERT … ON CONFLICT DO NOTHING`), so a redelivered
  chunk or member writes nothing, and `writes` stays 1;
- a chunk row grows only by the item rows inserted *in the same statement*: an outcome is counted exactly when it is
  written, so nothing counts twice;
- the completion check runs after every recording's commit, even one that wrote nothing, so a worker lost between
  its commit and its check is made good by the redelivery.

A chunk's recording is one statement (`statements.RECORD`): it checks the job, inserts the outcomes in index order,
adds them to their chunk rows and reports what it did. Two recorders of the same items (a redelivery racing the
original) insert in the same ascending order, so the second queues behind the first on the first row they share and
can never hold a row the first still needs: they cannot deadlock (the article's pitfall, solved by the order of the
inserts).
"""

from __future__ import annotations

import time

from django.db import connection

from celerity.db.retrying import atomic_with_retry, retrying
from celerity.jobs import computing, selectors
from celerity.jobs.models import Job, JobChunk, JobStatus
from celerity.jobs.services import statements
from celerity.jobs.services.finishing import job_finish
from celerity.observability.metrics import ITEMS_PROCESSED_TOTAL, LOCK_ACQUIRED_TOTAL, LOCK_WAIT_SECONDS

ITEM_LOCK = "jobs_item"  # the `lock` label of the lock-wait and retry metrics


def item_square(*, index: int, job_id: str, cost_ms: int = 0, fail_rate: float = 0.0) -> int | None:
    """i*i after the simulated work, None for an injected failure, or None at once when the job stopped."""
    if not selectors.job_accepts_work(job_id=job_id):
        return None
    return computing.item_outcome(index, job_id, cost_ms, fail_rate)


def chain_step(
    *, previous: list[int | None], index: int, job_id: str, cost_ms: int = 0, fail_rate: float = 0.0
) -> list[int | None]:
    """One link of a chain: the outcomes so far, plus this item's."""
    return [*previous, item_square(index=index, job_id=job_id, cost_ms=cost_ms, fail_rate=fail_rate)]


def job_chunk_run(
    *, job_id: str, chunk_index: int, start: int, stop: int, cost_ms: int = 0, fail_rate: float = 0.0
) -> int:
    """A whole chunk in one task: its items in order (what Celery's starmap task does), then their recording, so a
    chunk costs one message instead of a work task chained to a recording task."""
    values = [item_square(index=i, job_id=job_id, cost_ms=cost_ms, fail_rate=fail_rate) for i in range(start, stop)]
    return job_chunk_record(job_id=job_id, chunk_index=chunk_index, values=values)


@retrying(lock=ITEM_LOCK)
def job_chunk_record(*, job_id: str, chunk_index: int, values: list[int | None]) -> int:
    """Write one chunk's outcomes; returns how many items were newly recorded (0 for a redelivered chunk)."""
    recorded, workload = _items_write(job_id, chunk_index, values)
    _count(workload, recorded)
    _finish_if_complete(job_id)
    return recorded


@retrying(lock=ITEM_LOCK)
def job_chord_record(*, job_id: str, values: list[int | None]) -> int:
    """The chord's body: the whole header's outcomes in one statement (items and every chunk row)."""
    recorded, workload = _items_write(job_id, None, values)
    _count(workload, recorded)
    _finish_if_complete(job_id)
    return recorded


def job_item_run(*, job_id: str, index: int, cost_ms: int = 0, fail_rate: float = 0.0) -> bool:
    """A group member: square its item, then record it (`job_item_record`)."""
    value = item_square(index=index, job_id=job_id, cost_ms=cost_ms, fail_rate=fail_rate)
    return job_item_record(job_id=job_id, index=index, value=value)


@retrying(lock=ITEM_LOCK)
def job_item_record(*, job_id: str, index: int, value: int | None) -> bool:
    """A group member records its own item: one single-row INSERT guarded by the job's status (no lock shared with
    other members, no transaction to retry).

    The member that finds its chunk's items all written SETs the chunk row from them (any number of members may, and
    they agree), and closes the job when it was the last chunk. The check runs after the commit, so the last member to
    commit always sees every other outcome; a redelivered member that writes nothing still runs it, in case the first
    delivery died between its commit and its check.
    """
    with connection.cursor() as cursor:
        cursor.execute(statements.ITEM_RECORD, {"job": job_id, "index": index, "value": value})
        row = cursor.fetchone()
        if row is None:
            return False  # the job stopped (cancelled, failed) or never existed: nothing more is recorded
        workload, chunk_size, written = row
        if written:
            ITEMS_PROCESSED_TOTAL.labels(workload=workload).inc()
        cursor.execute(statements.CHUNK_CLOSE, {"job": job_id, "chunk": index // chunk_size})
        if cursor.fetchone():
            _finish_if_complete(job_id)
    return bool(written)


@atomic_with_retry(lock=ITEM_LOCK)
def _items_write(job_id: str, chunk_index: int | None, values: list[int | None]) -> tuple[int, str]:
    """(items newly recorded, workload) for one chunk's values, or for the whole job's when `chunk_index` is None."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(statements.RECORD, {"job": job_id, "chunk": chunk_index, "values": values})
        row = cursor.fetchone()
    # The statement's own time, which holds any wait for a racing recorder of the same items.
    LOCK_WAIT_SECONDS.labels(lock=ITEM_LOCK).observe(time.perf_counter() - started)
    LOCK_ACQUIRED_TOTAL.labels(lock=ITEM_LOCK).inc()
    if row is None:
        raise Job.DoesNotExist(f"no job {job_id}")
    workload, status, expected, recorded, chunks_touched, chunks_updated = row
    what = "the job" if chunk_index is None else f"chunk {chunk_index}"
    if status != JobStatus.RUNNING:
        return 0, str(workload)  # cancelled or failed: outstanding chunks stop counting
    if expected != len(values):
        raise ValueError(f"{what} of {job_id} has {expected} items, got {len(values)}")
    if chunks_updated != chunks_touched:  # raising rolls the items back with it
        raise JobChunk.DoesNotExist(f"a chunk row of {what} of {job_id} is missing")
    return int(recorded), str(workload)


def _count(workload: str, recorded: int) -> None:
    """Counted after the commit, so a transaction retried after a deadlock is not counted twice."""
    if recorded:
        ITEMS_PROCESSED_TOTAL.labels(workload=workload).inc(recorded)


def _finish_if_complete(job_id: str) -> None:
    if selectors.job_chunks_complete(job_id=job_id):
        job_finish(job_id=job_id)
