"""`make run` scales its bulk pool on backlog with the operator's own probe and policy (no Kubernetes needed)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import redis
import requests

from devstack import stack
from devstack.servers import free_port, free_ports

pytestmark = pytest.mark.slow


def _auto_workers(client: redis.Redis) -> int:
    from celerity.observability.heartbeat import read_fresh

    return sum(1 for beat in read_fresh(client) if beat["hostname"].startswith("bulk-auto"))


def test_a_burst_adds_bulk_workers_and_the_drain_removes_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REDIS_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CELERITY_HEARTBEAT_INTERVAL", "1")
    monkeypatch.setenv("CELERITY_STOP_GRACE", "30")
    with stack.local_stack(
        tmp_path, port=free_port(), metrics_port=free_ports(3), persistent=False, progress=False
    ) as info:
        assert info.autoscaled == "bulk"
        client = redis.Redis.from_url(info.redis_url)
        headers = {"Authorization": f"Bearer {info.token}"}
        burst = {"workload": "chunked", "items": 400, "chunk_size": 4, "item_cost_ms": 20}
        job = requests.post(f"{info.api_url}/api/jobs", headers=headers, json=burst, timeout=10).json()
        peak, deadline = 0, time.monotonic() + 90
        while time.monotonic() < deadline:
            peak = max(peak, _auto_workers(client))
            body = requests.get(job["url"], headers=headers, timeout=10).json()
            if body["status"] in ("succeeded", "failed"):
                break
            time.sleep(0.5)
        assert body["status"] == "succeeded"
        assert body["result"] == {"sum": sum(i * i for i in range(400)), "count": 400}
        assert peak >= 1, "the backlog never added a worker"
        deadline = time.monotonic() + 45
        while _auto_workers(client) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _auto_workers(client) == 0, "the extra workers were not removed after the drain"
    assert os.environ.get("REDIS_URL") is None
