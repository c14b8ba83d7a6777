"""A worker given SIGTERM (what Kubernetes sends on scale-down) finishes or hands back its in-flight work and loses
nothing; its heartbeat says `stopping`, then disappears. Each task records its runs and adds itself to a Redis set,
so "exactly once in effect" is visible."""

from __future__ import annotations

import json
import signal
import time
import uuid
from pathlib import Path

import pytest
import redis
import requests
from celery.result import AsyncResult

from celerity.observability import broker
from config.celery_app import app
from tests.services.observability import selftasks
from tests.services.observability.workers import Worker, start_worker

pytestmark = [pytest.mark.workers, pytest.mark.slow]


def _wait_for(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _running(r: redis.Redis, key: str) -> int:
    return sum(int(n) for n in r.hvals(f"{key}:runs"))


def _finish_elsewhere(worker: Worker, queue: str, results: list[AsyncResult]) -> None:
    app.control.add_consumer(queue, destination=[worker.nodename], reply=True, timeout=5)
    try:
        for result in results:
            result.get(timeout=60)
    finally:
        app.control.cancel_consumer(queue, destination=[worker.nodename], reply=True, timeout=5)


def test_sigterm_finishes_the_running_tasks_and_returns_the_prefetched_ones(
    stack_env: dict[str, str], tmp_path: Path, obs_worker: Worker, redis_url: str
) -> None:
    r = redis.Redis.from_url(redis_url)
    queue, key = f"warm-{uuid.uuid4().hex[:8]}", f"warm:{uuid.uuid4().hex}"
    worker = start_worker(
        stack_env,
        tmp_path,
        name="warm",
        queues=(queue,),
        concurrency=2,
        extra_env={"CELERITY_PREFETCH_MULTIPLIER": "2"},
    )
    heartbeat_key = f"celerity:worker:{worker.nodename}"

    def beat() -> dict[str, object]:
        return dict(json.loads(r.get(heartbeat_key) or "{}"))

    try:
        results = [selftasks.record.apply_async((key, str(i), 1.5), queue=queue) for i in range(6)]
        _wait_for(lambda: _running(r, key) == 2, 20, "two tasks running")
        _wait_for(lambda: (beat().get("active"), beat().get("reserved")) == (2, 2), 5, "heartbeat: 2 active, 2 held")
        assert beat()["active_by_queue"] == beat()["reserved_by_queue"] == {queue: 2}
        assert r.llen(queue) == 2
        sent = time.monotonic()
        worker.child.process.send_signal(signal.SIGTERM)  # to the parent only, as the kubelet does to PID 1
        _wait_for(lambda: beat().get("state") == "stopping", 5, "heartbeat: stopping")
        assert requests.get(f"{worker.url}/healthz", timeout=2).status_code == 200  # draining is alive
        assert worker.child.process.wait(timeout=30) == 0
        assert time.monotonic() - sent < 6  # left as soon as its two tasks were done
        assert r.get(heartbeat_key) is None
        assert r.zscore("celerity:workers", worker.nodename) is None
        assert r.scard(key) == 2  # it finished what it was running...
        assert r.llen(queue) == 4  # ...and gave the two prefetched messages back
        assert broker.backlog(r, [queue])[1] == {queue: 0}
    finally:
        worker.stop()
    _finish_elsewhere(obs_worker, queue, results)
    assert r.smembers(key) == {str(i).encode() for i in range(6)}
    assert {int(n) for n in r.hvals(f"{key}:runs")} == {1}  # warm shutdown re-runs nothing


def test_drain_timeout_hands_unfinished_tasks_back_before_the_grace_period_ends(
    stack_env: dict[str, str], tmp_path: Path, obs_worker: Worker, redis_url: str
) -> None:
    r = redis.Redis.from_url(redis_url)
    queue, key = f"drain-{uuid.uuid4().hex[:8]}", f"drain:{uuid.uuid4().hex}"
    worker = start_worker(
        stack_env,
        tmp_path,
        name="drain",
        queues=(queue,),
        concurrency=2,
        extra_env={"CELERITY_WORKER_DRAIN_TIMEOUT": "0.5"},
    )
    try:
        results = [selftasks.record.apply_async((key, str(i), 3.0), queue=queue) for i in range(2)]
        _wait_for(lambda: _running(r, key) == 2, 20, "two tasks running")
        worker.child.process.send_signal(signal.SIGTERM)
        worker.child.process.wait(timeout=30)
        assert r.scard(key) == 0  # it left without waiting for its 3 s tasks...
        assert r.llen(queue) == 2  # ...and handed both back at once, not left to the visibility timeout
        assert r.get(f"celerity:worker:{worker.nodename}") is None
    finally:
        worker.stop()
    _finish_elsewhere(obs_worker, queue, results)
    assert r.smembers(key) == {b"0", b"1"}  # each effect once; each ran twice (the interrupted run, then here)
    assert {int(n) for n in r.hvals(f"{key}:runs")} == {2}
