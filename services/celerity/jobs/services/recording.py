"""Run items (`running`) and record their outcomes. Idempotent by construction, because `acks_late` redelivers:

- an item row is created only when its outcome is recorded (`INSERT … ON CONFLICT`, which updates only a row that a
  retry reset to PENDING), so a redelivered chunk or member writes nothing, and `writes` stays one per attempt;
- a chunk row grows only by the item rows inserted *in the same statement*, or is SET from its item rows (a group's
  last member): an outcome is counted exactly when it is written, so nothing counts twice;
- the completion check runs after every recording's commit, even one that wrote nothing, so a worker lost between
  its commit and its check is made good by the redelivery.

A chunk's recording is one statement (`statements.RECORD`): it checks the job, inserts the outcomes in index order,
adds them to their chunk rows and reports what it did. Two recorders of the same items (a redelivery racing the
original) insert in the same ascending order, so the second queues behind the first on the first row they share and
can never hold a row the first still needs: they cannot deadlock (the article's pitfall, solved by the order of the
inserts).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection

from celerity.db.retrying import atomic_with_retry, retrying
from celerity.jobs import selectors
from celerity.jobs.models import Job, JobChunk, JobStatus
from celerity.jobs.registry import Json
from celerity.jobs.services import statements
from celerity.jobs.services.finishing import job_finish
from celerity.jobs.services.running import Outcome, item_input_run, items_run
from celerity.observability.metrics import (
    ITEMS_PROCESSED_TOTAL,
    JOB_TYPE_ITEMS_TOTAL,
    LOCK_ACQUIRED_TOTAL,
    LOCK_WAIT_SECONDS,
)

ITEM_LOCK = "jobs_item"  # the `lock` label of the lock-wait and retry metrics


def chain_step(
    *, previous: list[Outcome], job_type: str, index: int, job_id: str, has_inputs: bool, options: Mapping[str, Any]
) -> list[Outcome]:
    """One link of a chain: the outcomes so far, plus this item's."""
    outcome = item_input_run(job_type=job_type, job_id=job_id, index=index, has_inputs=has_inputs, options=options)
    return [*previous, outcome]


def job_chunk_run(
    *,
    job_id: str,
    job_type: str,
    chunk_index: int,
    start: int,
    stop: int,
    has_inputs: bool,
    options: Mapping[str, Any],
    retry: bool = False,
) -> int:
    """A whole chunk in one task: its items in order (what Celery's starmap task does), then their recording, so a
    chunk costs one message instead of a work task chained to a recording task. A retry's chunk runs only the items
    without an outcome."""
    outcomes = items_run(
        job_type=job_type, job_id=job_id, start=start, stop=stop, has_inputs=has_inputs, options=options, retry=retry
    )
    return job_chunk_record(job_id=job_id, chunk_index=chunk_index, outcomes=outcomes)


@retrying(lock=ITEM_LOCK)
def job_chunk_record(*, job_id: str, chunk_index: int, outcomes: Sequence[Outcome]) -> int:
    """Write one chunk's outcomes; returns how many items were newly recorded (0 for a redelivered chunk)."""
    recorded, failed, job_type, workload = items_write(job_id, chunk_index, outcomes)
    count_recorded(job_type, workload, recorded, failed)
    finish_if_complete(job_id)
    return recorded


def job_item_run(*, job_id: str, job_type: str, index: int, has_inputs: bool, options: Mapping[str, Any]) -> bool:
    """A group member: run its item, then record it (`job_item_record`)."""
    outcome = item_input_run(job_type=job_type, job_id=job_id, index=index, has_inputs=has_inputs, options=options)
    return job_item_record(job_id=job_id, index=index, outcome=outcome)


@retrying(lock=ITEM_LOCK)
def job_item_record(*, job_id: str, index: int, outcome: Outcome) -> bool:
    """A group member records its own item: one single-row INSERT guarded by the job's status (no lock shared with
    other members, no transaction to retry).

    The member that finds its chunk's items all written SETs the chunk row from them (any number of members may, and
    they agree), and closes the job when it was the last chunk. The check runs after the commit, so the last member to
    commit always sees every other outcome; a redelivered member that writes nothing still runs it, in case the first
    delivery died between its commit and its check.
    """
    with connection.cursor() as cursor:
        row = _item_insert(cursor, job_id, index, outcome)
        if row is None:
            return False  # the job stopped (cancelled, failed) or never existed: nothing more is recorded
        job_type, workload, chunk_size, written, failed = row
        count_recorded(job_type, workload, written, failed)
        cursor.execute(statements.CHUNK_CLOSE, {"job": job_id, "chunk": index // chunk_size})
        if cursor.fetchone():
            finish_if_complete(job_id)
    return bool(written)


def _item_insert(cursor: Any, job_id: str, index: int, outcome: Outcome) -> tuple[str, str, int, int, int] | None:
    """One item's outcome, one single-row INSERT guarded by the job's status (no lock shared with other items, no
    transaction to retry). Returns (job type, workload, chunk size, rows written: 0 or 1, of which failed), or None
    when the job is not running."""
    output, error = outcome
    text, not_json = (None, None) if error is not None else output_json(output)
    params: dict[str, str | int | None] = {
        "job": job_id,
        "index": index,
        "output": text,  # the statement casts it to jsonb; a failed item has none
        "error": not_json or error,
    }
    cursor.execute(statements.ITEM_RECORD, params)
    return cursor.fetchone()  # type: ignore[no-any-return]


@atomic_with_retry(lock=ITEM_LOCK)
def items_write(job_id: str, chunk_index: int, outcomes: Sequence[Outcome]) -> tuple[int, int, str, str]:
    """(items newly recorded, of which failed, job type, workload) for one chunk's outcomes."""
    started = time.perf_counter()
    outputs, errors = outcomes_encoded(outcomes)
    with connection.cursor() as cursor:
        cursor.execute(statements.RECORD, {"job": job_id, "chunk": chunk_index, "outputs": outputs, "errors": errors})
        row = cursor.fetchone()
    # The statement's own time, which holds any wait for a racing recorder of the same items.
    LOCK_WAIT_SECONDS.labels(lock=ITEM_LOCK).observe(time.perf_counter() - started)
    LOCK_ACQUIRED_TOTAL.labels(lock=ITEM_LOCK).inc()
    if row is None:
        raise Job.DoesNotExist(f"no job {job_id}")
    job_type, workload, status, expected, recorded, failed, chunks_touched, chunks_updated = row
    if status != JobStatus.RUNNING:
        return 0, 0, str(job_type), str(workload)  # cancelled or failed: outstanding chunks stop counting
    if expected != len(outcomes):
        raise ValueError(f"chunk {chunk_index} of {job_id} has {expected} items, got {len(outcomes)}")
    if chunks_updated != chunks_touched:  # raising rolls the items back with it
        raise JobChunk.DoesNotExist(f"a chunk row of chunk {chunk_index} of {job_id} is missing")
    return int(recorded), int(failed), str(job_type), str(workload)


def output_json(output: Json) -> tuple[str | None, str | None]:
    """(the output as JSON text, None), or (None, why) for an output that is not JSON (a set, NaN): that item fails
    alone, like an exception would."""
    try:
        return json.dumps(output, allow_nan=False), None
    except (TypeError, ValueError) as exc:
        return None, f"the output is not JSON: {type(exc).__name__}: {exc}"[:2000]


def outcomes_encoded(outcomes: Sequence[Outcome]) -> tuple[str, list[str | None]]:
    """(the outputs as one JSON array, the errors: None where an item succeeded, or [] when none failed), as the
    recording statements take them. The outputs are encoded once per chunk; only when that fails is each encoded on
    its own (`output_json`), to fail just the items whose output is not JSON."""
    try:
        outputs = json.dumps([output for output, _ in outcomes], allow_nan=False)
    except (TypeError, ValueError):
        checked: list[Outcome] = []
        for output, error in outcomes:
            _, not_json = output_json(output)
            checked.append((output, error) if not_json is None else (None, not_json))
        outcomes, outputs = checked, json.dumps([output for output, _ in checked])
    errors = [error for _, error in outcomes] if any(error is not None for _, error in outcomes) else []
    return outputs, errors


def count_recorded(job_type: str, workload: str, recorded: int, failed: int) -> None:
    """Counted after the commit, so a transaction retried after a deadlock is not counted twice."""
    if recorded:
        ITEMS_PROCESSED_TOTAL.labels(workload=workload).inc(recorded)
    if recorded - failed:
        JOB_TYPE_ITEMS_TOTAL.labels(job_type=job_type, outcome="succeeded").inc(recorded - failed)
    if failed:
        JOB_TYPE_ITEMS_TOTAL.labels(job_type=job_type, outcome="failed").inc(failed)


def finish_if_complete(job_id: str) -> None:
    if selectors.job_chunks_complete(job_id=job_id):
        job_finish(job_id=job_id)
