"""A worker process killed mid-chunk (OOM, SIGKILL): acks_late hands its message back, the chunk runs again, and the
job still ends with every item recorded exactly once."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from celerity.jobs.models import Item

pytestmark = [
    pytest.mark.workers,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("drained"),
]


def _running_chunk_pid(job_id: str, timeout: float = 20) -> int:
    """The pool process running one of the job's chunk tasks (`<job>-c<k>`), from the workers' own report."""
    from config.celery_app import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for tasks in (app.control.inspect(timeout=1).active() or {}).values():
            for task in tasks:
                if task["id"].startswith(f"{job_id}-c") and task.get("worker_pid"):
                    return int(task["worker_pid"])
        time.sleep(0.1)
    raise AssertionError(f"no chunk of {job_id} was seen running")


def test_a_chunk_whose_worker_was_killed_runs_again_and_counts_once(
    celery_workers: dict[str, int], api_client: Client, wait_for_job: Callable[..., dict[str, Any]]
) -> None:
    payload = {"workload": "chunked", "items": 40, "chunk_size": 10, "item_cost_ms": 150}  # 4 chunks of 1.5 s
    job_id = api_client.post("/api/jobs", payload, content_type="application/json").json()["id"]
    os.kill(_running_chunk_pid(job_id), signal.SIGKILL)
    job = wait_for_job(job_id, timeout=60)
    assert job["status"] == "succeeded", job
    assert job["result"] == {"sum": sum(i * i for i in range(40)), "count": 40}
    assert set(Item.objects.filter(job_id=job_id).values_list("writes", flat=True)) == {1}
