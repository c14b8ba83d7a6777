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
import time
from collections.abc import Container, Iterable, Iterator, Mapping
from typing import Any

from celerity.jobs import selectors
from celerity.jobs.registry import ItemContext, ItemFunction, Json, job_type_get
from celerity.observability.metrics import JOB_TYPE_ITEM_SECONDS, observe_many

Outcome = tuple[Json, str | None]
STOPPED: Outcome = (None, "the job stopped before this item ran")
RECORDED: Outcome = (None, "recorded earlier")  # a retried chunk's item that has its outcome: not run, not written


class ItemTimeLimitExceeded(Exception):
    pass


def item_run(*, job_type: str, job_id: str, index: int, item: Json, options: Mapping[str, Any]) -> Outcome:
    """One item's outcome, or STOPPED at once when the job was cancelled or failed meanwhile."""
    outcomes, seconds = _run(job_type, job_id, [(index, item)], options)
    if seconds:
        JOB_TYPE_ITEM_SECONDS.labels(job_type=job_type).observe(seconds[0])
    return outcomes[0]


def items_run(
    *,
    job_type: str,
    job_id: str,
    start: int,
    stop: int,
    has_inputs: bool,
    options: Mapping[str, Any],
    retry: bool = False,
) -> list[Outcome]:
    """The outcomes of items start..stop-1 in order, their inputs read in one query (or generated: item i's input
    is i). A retried chunk skips the items that have an outcome (`RECORDED`, which the recorder leaves alone). Item
    times are observed once per chunk (`observe_many`)."""
    inputs = selectors.job_inputs_get(job_id=job_id, start=start, stop=stop) if has_inputs else range(start, stop)
    skip = selectors.job_recorded_items(job_id=job_id, start=start, stop=stop) if retry else set()
    outcomes, seconds = _run(job_type, job_id, zip(range(start, stop), inputs, strict=True), options, skip)
    if seconds:
        observe_many(JOB_TYPE_ITEM_SECONDS.labels(job_type=job_type), seconds)
    return outcomes


def _run(
    job_type: str,
    job_id: str,
    items: Iterable[tuple[int, Json]],
    options: Mapping[str, Any],
    skip: Container[int] = (),
) -> tuple[list[Outcome], list[float]]:
    """(outcome of every (index, input), seconds each function that ran took). One loop for a chunk's items: the
    demo squares cost half a microsecond each, so the platform's share per item is kept as small."""
    definition = job_type_get(job_type)
    function, takes_context, limit = definition.function, definition.takes_context, definition.time_limit
    outcomes: list[Outcome] = []
    seconds: list[float] = []
    for index, item in items:
        if index in skip:
            outcomes.append(RECORDED)
            continue
        if not selectors.job_accepts_work(job_id=job_id):
            outcomes.append(STOPPED)
            continue
        started = time.perf_counter()
        try:
            if limit:
                with _time_limit(limit):
                    output = _call(function, item, takes_context, job_id, index, options)
            else:
                output = _call(function, item, takes_context, job_id, index, options)
            outcomes.append((output, None))
        except Exception as exc:  # the job type's code: whatever it raises fails this item only, and is recorded
            outcomes.append((None, f"{type(exc).__name__}: {exc}"[:2000]))
        seconds.append(time.perf_counter() - started)
    return outcomes, seconds


def _call(
    function: ItemFunction, item: Json, takes_context: bool, job_id: str, index: int, options: Mapping[str, Any]
) -> Json:
    if takes_context:
        return function(item, context=ItemContext(job_id=job_id, index=index, options=options))
    return function(item)


def item_input_run(*, job_type: str, job_id: str, index: int, has_inputs: bool, options: Mapping[str, Any]) -> Outcome:
    """One item of a per-item canvas (group, chord, chain), its input read by itself."""
    item = selectors.job_inputs_get(job_id=job_id, start=index, stop=index + 1)[0] if has_inputs else index
    return item_run(job_type=job_type, job_id=job_id, index=index, item=item, options=options)


@contextlib.contextmanager
def _time_limit(limit: float) -> Iterator[None]:
    """A job type's per-item limit, by SIGALRM: prefork runs tasks in each child's main thread. Elsewhere (a thread
    pool) only the task's own time limit applies."""
    if threading.current_thread() is not threading.main_thread():
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
