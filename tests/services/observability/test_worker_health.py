"""The worker's /healthz (the chart's liveness probe) follows its broker connection, and /metrics keeps answering
while Redis is down: a scrape returns what it can instead of failing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from devstack.servers import start_redis
from tests.services.observability.scraping import names, scrape, value
from tests.services.observability.workers import start_worker

pytestmark = [pytest.mark.workers, pytest.mark.slow]


def _health_becomes(url: str, status: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while (got := requests.get(f"{url}/healthz", timeout=2).status_code) != status:
        assert time.monotonic() < deadline, f"/healthz stayed {got}, expected {status}"
        time.sleep(0.2)


def test_health_follows_the_broker_and_metrics_survive_its_outage(stack_env: dict[str, str], tmp_path: Path) -> None:
    broker = start_redis(tmp_path / "redis", persistent=False)  # this worker's own Redis, to take away
    worker = start_worker({**stack_env, "REDIS_URL": broker.url}, tmp_path, name="health", queues=("health",))
    try:
        samples = scrape(f"{worker.url}/metrics")
        assert value(samples, "celery_worker_up") == 1
        assert {"celerity_queue_depth", "celery_queue_length", "celerity_workers_alive"} <= names(samples)

        broker.stop()
        _health_becomes(worker.url, 503, timeout=20)
        samples = scrape(f"{worker.url}/metrics")  # raises unless 200
        assert value(samples, "celery_worker_up") == 0
        assert not {"celerity_queue_depth", "celery_queue_length", "celerity_workers_alive"} & names(samples)

        broker = start_redis(tmp_path / "redis", port=broker.port, persistent=False)
        _health_becomes(worker.url, 200, timeout=40)  # Celery reconnects on its own
        assert "celerity_queue_depth" in names(scrape(f"{worker.url}/metrics"))
    finally:
        worker.stop()
        broker.stop()
