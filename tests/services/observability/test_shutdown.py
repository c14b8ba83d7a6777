"""A worker given SIGTERM (what Kubernetes sends on scale-down) finishes or returns its in-flight work: nothing is
lost, and the work done by the replacement worker completes every task."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
import redis
from celery import group

from celerity.jobs.tasks import item_square_task
from devstack import processes
from devstack.servers import free_port

pytestmark = [pytest.mark.workers, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
QUEUE = "shutdown-test"


def _worker(group_: processes.ProcessGroup, env: dict[str, str], name: str, log: str) -> processes.Child:
    pool = processes.PoolSpec(name, (QUEUE,), concurrency=1)
    multiproc_dir = Path(log + ".metrics")
    multiproc_dir.mkdir(parents=True, exist_ok=True)
    wenv = processes.worker_env(pool, env, metrics_port=free_port(), multiproc_dir=multiproc_dir)
    return group_.start(name, processes.worker_argv(pool), wenv, log=Path(log))


def test_sigterm_mid_task_loses_nothing(stack_env: dict[str, str], tmp_path: Path) -> None:
    first, second = processes.ProcessGroup(), processes.ProcessGroup()
    child = _worker(first, stack_env, "first", f"{tmp_path}/first.log")
    try:
        time.sleep(3)  # let it connect
        results = group(item_square_task.s(i, "shutdown", 800).set(queue=QUEUE) for i in range(4))()
        client = redis.Redis.from_url(stack_env["REDIS_URL"])
        deadline = time.monotonic() + 20
        while client.hlen("unacked") == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        child.process.send_signal(signal.SIGTERM)  # mid-task: the worker is running one item of 0.8 s
        assert child.process.wait(timeout=60) == 0
        _worker(second, stack_env, "second", f"{tmp_path}/second.log")
        assert results.get(timeout=60) == [i * i for i in range(4)]
    finally:
        first.stop(grace=10)
        second.stop(grace=10)
