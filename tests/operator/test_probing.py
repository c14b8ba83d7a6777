"""The probe against a real Redis, with messages published by real Celery clients and held by real workers."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis.asyncio as aioredis
from celery import Celery

from celerity_operator.probing import ProbeError, parse, probe


@pytest.fixture
def client_app(redis_url_for: object) -> Celery:
    app = Celery("probe-test", broker=redis_url_for(4))  # type: ignore[operator]
    app.conf.task_serializer = "json"
    return app


@pytest.mark.asyncio
async def test_waiting_counts_every_priority_sub_queue(client_app: Celery, redis_url_for: object) -> None:
    url = redis_url_for(4)  # type: ignore[operator]
    raw = aioredis.Redis.from_url(url)
    await raw.flushdb()
    for priority in (0, 0, 3, 6, 9, 9):
        client_app.send_task("anything", queue="probe-q", priority=priority)
    observation = await probe(raw, ["probe-q", "other-q"])
    assert observation.waiting == {"probe-q": 6, "other-q": 0}
    assert await raw.llen("probe-q") < 6, "kombu really split them into sub-queues: LLEN alone would miss some"
    await raw.aclose()


@pytest.mark.asyncio
@pytest.mark.workers
@pytest.mark.django_db(transaction=True)
async def test_reserved_and_running_tasks_are_seen(celery_workers: dict[str, int], redis_url: str) -> None:
    from celerity.jobs.tasks import item_square_task

    results = [item_square_task.apply_async((i, "probe", 1500), queue="bulk") for i in range(3)]
    client = aioredis.Redis.from_url(redis_url)
    deadline = time.monotonic() + 15
    observation = await probe(client, ["bulk"])
    while time.monotonic() < deadline and not (observation.unacked["bulk"] and observation.load().running):
        await asyncio.sleep(0.3)
        observation = await probe(client, ["bulk"])
    load = observation.load()
    assert observation.unacked["bulk"] >= 2, "two children hold tasks they have not acknowledged"
    assert load.running >= 1
    assert load.busy_pods >= 1
    assert {w.hostname.split("@")[0] for w in observation.workers} == {"bulk"}
    for result in results:
        result.get(timeout=30)
    await client.aclose()


def test_stale_heartbeats_and_other_queues_are_ignored() -> None:
    beat = '{"hostname": "%s", "pod": "p", "queues": ["%s"], "active": 1, "ts": %f, "ttl": 15}'
    raw = (
        '{"waiting": {"bulk": 2}, "unacked": [], "heartbeats": ['
        + ",".join(f'"{b}"' for b in [
            (beat % ("fresh@a", "bulk", 1000.0)).replace('"', '\\"'),
            (beat % ("stale@b", "bulk", 900.0)).replace('"', '\\"'),
            (beat % ("other@c", "default", 1000.0)).replace('"', '\\"'),
        ])
        + "]}"
    )  # fmt: skip
    observation = parse(raw, ["bulk"], now=1001.0)
    assert [w.hostname for w in observation.workers] == ["fresh@a"]
    assert observation.unacked == {"bulk": 0}


@pytest.mark.asyncio
async def test_an_unreachable_redis_is_a_probe_error() -> None:
    from devstack.servers import free_port

    client = aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5)
    with pytest.raises(ProbeError):
        await probe(client, ["bulk"])
    await client.aclose()
