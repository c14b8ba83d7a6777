"""What Celerity's instrumentation costs, measured on its own: the same task lifecycle with the task-metric signal
handlers off and on, and one heartbeat.

Runs in a child process (`python -m loadtests.benchmarks.instrumentation`) with a multiprocess metrics directory of its
own, so the handlers write their samples to files exactly as they do in a worker's pool child. A task's lifecycle
here is what a worker runs around every task: `before_task_publish` (in the publisher), `task_prerun`,
`task_postrun` and `task_success` (in the child). "Off" sends the same signals with no handler connected, so the
difference is the handlers' own cost. The bench divides it by the mean run time of a Celerity chunk task measured
in the same run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

REPO = Path(__file__).resolve().parents[2]
LIFECYCLES = 5_000
HEARTBEATS = 200


class _Task:
    """What the handlers read from a task (Celery hashes the sender, so not a SimpleNamespace)."""

    def __init__(self, name: str, request: SimpleNamespace) -> None:
        self.name, self.request = name, request


def _lifecycle(signals: Any, task: Any, headers: dict[str, Any]) -> None:
    signals.before_task_publish.send(sender=task.name, headers=headers, routing_key="bulk")
    signals.task_prerun.send(sender=task, task_id=task.request.id, task=task)
    signals.task_postrun.send(sender=task, task_id=task.request.id, task=task, state="SUCCESS", retval=None)
    signals.task_success.send(sender=task, result=None)


def _per_lifecycle(signals: Any, task: Any) -> float:
    started = time.perf_counter()
    for _ in range(LIFECYCLES):
        _lifecycle(signals, task, {})
    return (time.perf_counter() - started) / LIFECYCLES


def _measure() -> dict[str, float]:
    """In the child: seconds per task lifecycle with the handlers off, then on; seconds per heartbeat document."""
    from celery import signals

    request = SimpleNamespace(
        id="bench", delivery_info={"routing_key": "bulk"}, headers={}, eta=None, celerity_published_at=time.time()
    )
    task = _Task("celerity.jobs.job_chunk_run", request)
    off = min(_per_lifecycle(signals, task) for _ in range(3))
    from celerity.observability import heartbeat, tasksignals  # connects the handlers

    assert tasksignals.PUBLISHED_HEADER
    on = min(_per_lifecycle(signals, task) for _ in range(3))
    started = time.perf_counter()
    for _ in range(HEARTBEATS):
        json.dumps(
            heartbeat.heartbeat_document(
                nodename="bench@host",
                pool="bulk",
                queues=["bulk"],
                concurrency=2,
                active_queues=["bulk"],
                reserved_queues=[],
                state="running",
                interval=5.0,
            )
        )
    beat = (time.perf_counter() - started) / HEARTBEATS
    return {"signals_off_seconds": off, "signals_on_seconds": on, "heartbeat_seconds": beat}


def measure(timeout: float = 300.0) -> dict[str, float]:
    """Run the measurement in a child process with its own metrics directory; the handlers' cost per task."""
    with tempfile.TemporaryDirectory(prefix="celerity-instrumentation-") as metrics_dir:
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": metrics_dir, "PYTHONPATH": f"{REPO / 'services'}:{REPO}"}
        done = subprocess.run(
            [sys.executable, "-m", "loadtests.benchmarks.instrumentation"],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    figures["signals_cost_seconds"] = max(figures["signals_on_seconds"] - figures["signals_off_seconds"], 0.0)
    return figures


if __name__ == "__main__":
    print(json.dumps(_measure()))
