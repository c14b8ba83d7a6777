"""Worker metrics are exact under prefork (children write files, the parent serves the sum), and heartbeats follow
the convention the operator reads."""

from __future__ import annotations

import json
import os
import time

import pytest
import redis
from celery import group

from celerity.demo.tasks import add
from celerity.observability import heartbeat
from tests.services.observability.scraping import names, scrape, value

pytestmark = [pytest.mark.workers, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("drained")]


def test_every_task_is_counted_exactly_once_across_pool_children(celery_workers: dict[str, int]) -> None:
    url = f"http://127.0.0.1:{celery_workers['default']}/metrics"
    before = scrape(url)
    n = 60
    assert group(add.s(i, 1) for i in range(n))().get(timeout=60) == [i + 1 for i in range(n)]
    time.sleep(0.5)
    after = scrape(url)
    task = {"task": "celerity.demo.add", "queue": "default"}
    delta = value(after, "celerity_tasks_total", outcome="succeeded", **task) - value(
        before, "celerity_tasks_total", outcome="succeeded", **task
    )
    assert delta == n
    compat = value(after, "celery_task_succeeded_total", name="celerity.demo.add") - value(
        before, "celery_task_succeeded_total", name="celerity.demo.add"
    )
    assert compat == n
    waits = value(after, "celerity_task_queue_wait_seconds_count", **task) - value(
        before, "celerity_task_queue_wait_seconds_count", **task
    )
    assert waits == n
    assert value(after, "celery_worker_up") == 1
    assert {"celerity_queue_depth", "celerity_workers_alive", "celery_queue_length"} <= names(after)


def test_health_answers_while_connected(celery_workers: dict[str, int]) -> None:
    import requests

    response = requests.get(f"http://127.0.0.1:{celery_workers['bulk']}/healthz", timeout=5)
    assert response.status_code == 200


def test_heartbeats_follow_the_documented_convention(celery_workers: dict[str, int]) -> None:
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    beats = {b["pool"]: b for b in heartbeat.read_fresh(client)}
    assert {"default", "bulk"} <= set(beats)
    bulk = beats["bulk"]
    assert bulk["v"] == 1
    assert bulk["queues"] == ["bulk"]
    assert bulk["hostname"].startswith("bulk@")
    assert bulk["state"] == "running"
    assert {"active", "reserved", "active_by_queue", "reserved_by_queue", "pod", "concurrency", "ts"} <= set(bulk)
    key = f"celerity:worker:{bulk['hostname']}"
    assert json.loads(client.get(key))["hostname"] == bulk["hostname"]
    assert 0 < client.ttl(key) <= bulk["ttl"] == 3  # tests publish every second; the TTL is three intervals
    assert client.zscore("celerity:workers", bulk["hostname"]) is not None
