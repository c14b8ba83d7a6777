"""Run items of a job type: find its function, give it the item's input, catch what it raises. Recording the outcomes
is `recording`'s business; this module never writes.

An outcome is `(output, None)` or `(None, error)`: a raising item fails alone, with its exception as its error, and the
rest of its chunk runs on. A task that raises outside an item (the task time limit, a lost database) still fails the
job through the canvas' errback.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from celerity.jobs import selectors
from celerity.jobs.registry import ItemContext, JobType, Json, job_type_get

Outcome = tuple[Json, str | None]
STOPPED: Outcome = (None, "the job stopped before this item ran")
RECORDED: Outcome = (None, "recorded earlier")  # a retried chunk's item that has its outcome: not run, not written


class ItemTimeLimitExceeded(Exception):
    pass


def item_run(*, job_type: str, job_id: str, index: int, item: Json, options: Mapping[str, Any]) -> Outcome:
    """One item's outcome, or STOPPED at once when the job was cancelled or failed meanwhile."""
    if not selectors.job_accepts_work(job_id=job_id):
        return STOPPED
    definition = job_type_get(job_type)
    try:
        with _time_limit(definition):
            return definition.run(item, ItemContext(job_id=job_id, index=index, options=options)), None
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}"[:2000]


def items_run(
    *, job_type: str, job_id: str, start: int, stop: int, has_inputs: bool, options: Mapping[str, Any],
    retry: bool = False,
) -> list[Outcome]:  # fmt: skip  # the items' coordinates, then how to run them
    """The outcomes of items start..stop-1 in order, their inputs read in one query (or generated: item i's input
    is i). A retried chunk skips the items that have an outcome (`RECORDED`, which the recorder leaves alone)."""
    inputs = selectors.job_inputs_get(job_id=job_id, start=start, stop=stop) if has_inputs else range(start, stop)
    skip = selectors.job_recorded_items(job_id=job_id, start=start, stop=stop) if retry else set()
    return [
        RECORDED if index in skip else item_run(job_type=job_type, job_id=job_id, index=index, item=item,
                                                options=options)
        for index, item in zip(range(start, stop), inputs, strict=True)
    ]  # fmt: skip


def item_input_run(*, job_type: str, job_id: str, index: int, has_inputs: bool, options: Mapping[str, Any]) -> Outcome:
    """One item of a per-item canvas (group, chord, chain), its input read by itself."""
    item = selectors.job_inputs_get(job_id=job_id, start=index, stop=index + 1)[0] if has_inputs else index
    return item_run(job_type=job_type, job_id=job_id, index=index, item=item, options=options)


@contextlib.contextmanager
def _time_limit(definition: JobType) -> Iterator[None]:
    """The job type's per-item limit, by SIGALRM: prefork runs tasks in each child's main thread. Elsewhere (a
    thread pool) only the task's own time limit applies."""
    limit = definition.time_limit
    if not limit or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise ItemTimeLimitExceeded(f"item ran over its {limit:g} s time limit")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
