"""Bare Celery, configured like Celerity's workers (services/config/settings/base.py): JSON, late acks, prefetch 1,
the same time limits, visibility timeout and task events. Its tasks do what Celerity's do, minus Celerity: an item
squares its index (same arguments, so the same message size); a chunk's or a chord's results are summed and
returned instead of written to Postgres. No database, no metrics, no locks.

Run by `make bench` as its own worker processes (`celery -A loadtests.baseline.app worker`) on the same Redis as the
platform under test, in another DB (`BASELINE_REDIS_URL`).
"""

from __future__ import annotations

import os
import time

from celery import Celery

BROKER_URL = os.environ.get("BASELINE_REDIS_URL", "redis://127.0.0.1:6379/3")
TIME_LIMIT = 300
VISIBILITY_TIMEOUT = 2 * TIME_LIMIT + 60

app = Celery("baseline", broker=BROKER_URL, backend=BROKER_URL)
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_accept_content=["json"],
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_time_limit=TIME_LIMIT,
    task_soft_time_limit=TIME_LIMIT - 30,
    broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT},
    result_backend_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT},
    result_expires=86400,
    task_default_queue="default",
    task_send_sent_event=True,
    worker_send_task_events=True,
    task_track_started=True,
    broker_connection_retry_on_startup=True,
    worker_cancel_long_running_tasks_on_connection_loss=True,
    worker_hijack_root_logger=False,
)

ITEM = "baseline.item_square"
CHUNK_TOTAL = "baseline.chunk_total"
CHORD_TOTAL = "baseline.chord_total"


@app.task(name=ITEM)  # type: ignore[untyped-decorator]  # Celery ships no type information
def item_square(index: int, job_id: str, cost_ms: int = 0, fail_rate: float = 0.0) -> int:
    if cost_ms:
        time.sleep(cost_ms / 1000)
    return index * index


@app.task(name=CHUNK_TOTAL)  # type: ignore[untyped-decorator]  # Celery ships no type information
def chunk_total(values: list[int | None], job_id: str, chunk_index: int) -> list[int]:
    done = [v for v in values if v is not None]
    return [len(done), sum(done)]


@app.task(name=CHORD_TOTAL)  # type: ignore[untyped-decorator]  # Celery ships no type information
def chord_total(values: list[int | None], job_id: str, chunk_size: int) -> list[int]:
    done = [v for v in values if v is not None]
    return [len(done), sum(done)]
