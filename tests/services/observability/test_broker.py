"""Broker gauges read kombu's Redis layout the way kombu does (priority sub-queues, the `unacked` hash), and a
scrape during a Redis outage yields nothing from them instead of failing."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import pytest
import redis
from django.test import override_settings
from kombu import Connection

from celerity.observability import broker
from celerity.observability.collector import BrokerCollector
from devstack.servers import free_port


@pytest.fixture
def url(redis_url_for: Callable[[int], str]) -> Iterator[str]:
    url = redis_url_for(12)
    redis.Redis.from_url(url).flushdb()
    yield url
    redis.Redis.from_url(url).flushdb()


def test_backlog_counts_priority_sub_queues_like_kombu_and_unacked_by_routing_key(url: str) -> None:
    r = redis.Redis.from_url(url)
    r.rpush("work", "m1", "m2")
    r.rpush("work\x06\x163", "m3")
    r.rpush("work\x06\x169", "m4", "m5")
    r.rpush("idle\x06\x166", "m6")
    r.hset(
        "unacked",
        mapping={
            "t1": json.dumps([{"body": "..."}, "", "work"]),
            "t2": json.dumps([{"body": "..."}, "", "work"]),
            "t3": json.dumps([{}, "", "elsewhere"]),
            "t4": b"not json",
        },
    )
    waiting, unacked = broker.backlog(r, ["work", "idle", "empty"])
    assert waiting == {"work": 5, "idle": 1, "empty": 0}
    assert unacked == {"work": 2, "idle": 0, "empty": 0}
    with Connection(url) as connection:  # kombu's own count agrees
        channel = connection.default_channel
        assert [channel._size(q) for q in ("work", "idle", "empty")] == [5, 1, 0]


def test_a_scrape_while_redis_is_down_yields_no_broker_gauges_and_no_error() -> None:
    with override_settings(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"):
        down = broker.client()
    started = time.monotonic()
    assert list(BrokerCollector(down, ["default"]).collect()) == []
    assert time.monotonic() - started < 1  # no retry loop: Prometheus' scrape timeout is 10 s


def test_broker_gauges_cover_every_queue_and_the_fleet_from_heartbeats(url: str) -> None:
    from celerity.observability import heartbeat

    r = redis.Redis.from_url(url)
    for node, pool in (("bulk@a", "bulk"), ("bulk@b", "bulk"), ("default@c", "default")):
        heartbeat.publish(
            r,
            heartbeat.heartbeat_document(
                nodename=node,
                pool=pool,
                queues=[pool],
                concurrency=3,
                active_queues=[],
                reserved_queues=[],
                state="running",
                interval=5.0,
            ),
        )
    families = {
        f.name: {s.labels.get("queue_name") or s.labels.get("pool"): s.value for s in f.samples}
        for f in BrokerCollector(r, ["bulk", "default"]).collect()
    }
    assert families["celerity_workers_alive"] == {"bulk": 2, "default": 1}
    assert families["celery_active_worker_count"] == {"bulk": 2, "default": 1}
    assert families["celery_active_consumer_count"] == {"bulk": 2, "default": 1}
    assert families["celery_active_process_count"] == {"bulk": 6, "default": 3}
    assert families["celery_queue_length"] == {"bulk": 0, "default": 0}
