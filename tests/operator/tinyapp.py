"""A plain Celery app, no Celerity conventions (no heartbeats): what any other producer and worker on the broker is.
Run by test_probing.py as a real worker process (`celery -A tests.operator.tinyapp worker`)."""

from __future__ import annotations

import os
import time

from celery import Celery

app = Celery("tinyapp", broker=os.environ.get("TINYAPP_BROKER_URL", "redis://127.0.0.1:6379/4"), set_as_current=False)
app.conf.update(
    task_acks_late=True,  # a running task stays in `unacked` until it finishes
    worker_prefetch_multiplier=4,  # one pool process: 1 running + 3 prefetched by the parent
    task_serializer="json",
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


@app.task(name="tinyapp.nap")
def nap(seconds: float) -> None:
    time.sleep(seconds)
