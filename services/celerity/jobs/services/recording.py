"""Compute items and record their outcomes. Idempotent by construction, because `acks_late` redelivers:

- an item's outcome is written only while the item is still `pending` (a redelivered chunk writes nothing);
- a chunk row is SET from its item rows, never incremented (so it cannot count twice);
- the completion check runs after every recording, even one that wrote nothing, so a worker lost between its commit
  and its check is made good by the redelivery.

A chunk's item rows are locked in id order (`celerity.db.locking`) before the one bulk UPDATE: two recorders of the
same rows (a redelivery racing the original) queue instead of deadlocking.
"""

from __future__ import annotations

from django.db import connection

from celerity.db.locking import rows_lock_in_order
from celerity.db.retrying import atomic_with_retry, retrying
from celerity.jobs import computing, selectors
from celerity.jobs.models import Item, ItemState, Job, JobChunk, JobStatus
from celerity.jobs.services.finishing import job_finish
from celerity.observability.metrics import ITEMS_PROCESSED_TOTAL

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


@retrying(lock=ITEM_LOCK)
def job_chunk_record(*, job_id: str, chunk_index: int, values: list[int | None]) -> int:
    """Write one chunk's outcomes; returns how many items were newly recorded (0 for a redelivered chunk)."""
    recorded, workload = _chunk_write(job_id, chunk_index, values)
    _count(workload, recorded)
    _finish_if_complete(job_id)
    return recorded


@retrying(lock=ITEM_LOCK)
def job_chord_record(*, job_id: str, values: list[int | None], chunks: list[int] | None = None) -> int:
    """The chord's body: the header's outcomes, one chunk (one short transaction) at a time. `chunks` names the
    chunks a re-driven chord's header covered, in order; None means the whole job."""
    job = Job.objects.only("chunk_size", "workload", "items").get(id=job_id)
    recorded, start = 0, 0
    for k in range(-(-job.items // job.chunk_size)) if chunks is None else chunks:
        size = min(job.chunk_size, job.items - k * job.chunk_size)
        recorded += _chunk_write(job_id, k, values[start : start + size])[0]
        start += size
    _count(job.workload, recorded)
    _finish_if_complete(job_id)
    return recorded


@retrying(lock=ITEM_LOCK)
def job_item_record(*, job_id: str, index: int, value: int | None) -> bool:
    """A group member records its own item: one single-row UPDATE guarded by the item's state and the job's status
    (no lock shared with other members, no transaction to retry).

    The member that sees its chunk without pending items closes the chunk row, and the job when it was the last one.
    The check runs after the commit, so the last member to commit always sees every other outcome; a redelivered
    member that writes nothing still runs it, in case the first delivery died between its commit and its check.
    """
    state = ItemState.FAILED if value is None else ItemState.DONE
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Item._meta.db_table} AS item SET state = %s, value = %s, writes = item.writes + 1 "  # noqa: S608 - table names from the models
            f"FROM {Job._meta.db_table} AS job WHERE item.job_id = %s AND item.index = %s AND item.state = %s "
            "AND job.id = item.job_id AND job.status = %s RETURNING job.workload, job.chunk_size, job.items",
            [state, value, job_id, index, ItemState.PENDING, JobStatus.RUNNING],
        )
        written = cursor.fetchone()
    if written:
        workload, chunk_size, items = written
        ITEMS_PROCESSED_TOTAL.labels(workload=workload).inc()
    else:
        chunk_size, items = Job.objects.values_list("chunk_size", "items").get(id=job_id)
    k = index // chunk_size
    start, stop = k * chunk_size, min((k + 1) * chunk_size, items)
    if not selectors.chunk_items_pending(job_id=job_id, start=start, stop=stop):
        _chunk_sync(job_id, k, start, stop)
        _finish_if_complete(job_id)
    return bool(written)


@atomic_with_retry(lock=ITEM_LOCK)
def _chunk_write(job_id: str, chunk_index: int, values: list[int | None]) -> tuple[int, str]:
    chunk = JobChunk.objects.select_related("job").get(job_id=job_id, index=chunk_index)
    if chunk.job.status != JobStatus.RUNNING:
        return 0, chunk.job.workload  # cancelled or failed: outstanding chunks stop counting
    if len(values) != chunk.stop - chunk.start:
        raise ValueError(f"chunk {chunk_index} of {job_id} has {chunk.stop - chunk.start} items, got {len(values)}")
    # The article's pattern: select the ids first, then lock and update by id list, in id order.
    ids = Item.objects.filter(job_id=job_id, index__gte=chunk.start, index__lt=chunk.stop).values_list("id", flat=True)
    rows = rows_lock_in_order(Item.objects.all(), ids=list(ids), lock=ITEM_LOCK, fields=("id", "index", "state"))
    pending = [(row_id, values[index - chunk.start]) for row_id, index, state in rows if state == ItemState.PENDING]
    if pending:
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Item._meta.db_table} AS item SET value = v.value, writes = item.writes + 1, "  # noqa: S608 - table name from the model
                "state = CASE WHEN v.value IS NULL THEN %s ELSE %s END "
                "FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, value) WHERE item.id = v.id AND item.state = %s",
                [ItemState.FAILED, ItemState.DONE, [p[0] for p in pending], [p[1] for p in pending], ItemState.PENDING],
            )
    _chunk_sync(job_id, chunk_index, chunk.start, chunk.stop)
    return len(pending), chunk.job.workload


def _chunk_sync(job_id: str, chunk_index: int, start: int, stop: int) -> None:
    """SET the chunk row from its items: any number of writers agree, and none adds to another's count."""
    done, failed, total = selectors.chunk_outcomes_get(job_id=job_id, start=start, stop=stop)
    JobChunk.objects.filter(job_id=job_id, index=chunk_index).update(
        done=done, failed=failed, total=total, complete=done + failed == stop - start
    )


def _count(workload: str, recorded: int) -> None:
    """Counted after the commit, so a transaction retried after a deadlock is not counted twice."""
    if recorded:
        ITEMS_PROCESSED_TOTAL.labels(workload=workload).inc(recorded)


def _finish_if_complete(job_id: str) -> None:
    if selectors.job_chunks_complete(job_id=job_id):
        job_finish(job_id=job_id)
