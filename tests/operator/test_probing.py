"""The probe against a real Redis, with messages published by real Celery clients and held by real workers."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from celery import Celery

from celerity_operator.probing import PRIORITY_SEP, ProbeError, parse, probe
from devstack.servers import free_port

PROBE_DB = 4  # the operator's probe tests own this DB of the shared Redis
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest_asyncio.fixture
async def broker(redis_url_for: Callable[[int], str]) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url_for(PROBE_DB))
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture
def client_app(redis_url_for: Callable[[int], str]) -> Celery:
    """A bare Celery client: what any producer of the platform's queues does."""
    app = Celery("probe-test", broker=redis_url_for(PROBE_DB), set_as_current=False)  # shared tasks keep theirs
    app.conf.update(task_serializer="json", broker_connection_retry_on_startup=False)
    return app


@pytest.mark.asyncio
async def test_waiting_counts_every_priority_sub_queue(client_app: Celery, broker: aioredis.Redis) -> None:
    for priority in (0, 0, 3, 6, 9, 9):
        await asyncio.to_thread(client_app.send_task, "anything", queue="probe-q", priority=priority)
    observation = await probe(broker, ["probe-q", "other-q"])
    assert observation.waiting == {"probe-q": 6, "other-q": 0}
    assert await broker.llen("probe-q") < 6, "kombu really split them into sub-queues: LLEN alone would miss some"
    assert await broker.exists(f"probe-q{PRIORITY_SEP}9")


@pytest.mark.asyncio
async def test_unacked_messages_are_attributed_to_their_queue_by_routing_key(broker: aioredis.Redis) -> None:
    body = {"body": "e30=", "headers": {"task": "t", "argsrepr": '("a", "b"], ")'}, "properties": {"priority": 0}}
    await broker.hset(
        "unacked",
        mapping={
            "tag-1": json.dumps([body, "", "probe-q"]),  # kombu's layout: [message, exchange, routing_key]
            "tag-2": json.dumps([body, "celery", "probe-q"]),
            "tag-3": json.dumps([body, "", 'odd"queue']),  # an escaped key: decoded the slow way, still counted
            "tag-4": json.dumps([body, "", "other-q"]),
            "tag-5": "not json at all",
        },
    )
    observation = await probe(broker, ["probe-q", 'odd"queue'])
    assert observation.unacked == {"probe-q": 2, 'odd"queue': 1}


@pytest.mark.asyncio
@pytest.mark.workers
@pytest.mark.django_db(transaction=True)
async def test_reserved_and_running_tasks_held_by_a_real_worker_are_seen(
    celery_workers: dict[str, int], redis_url: str
) -> None:
    """The session's `bulk` worker (acks-late, 2 processes, prefetch 1) holds tasks it has not acknowledged; its
    heartbeat says which pod runs them. KEDA's LLEN would report 0 here once the list is drained."""
    from celerity.jobs.tasks import item_run_task

    slow = {"item_cost_ms": 1500}  # the demo squares' simulated work
    job = str(uuid.uuid4())  # no such job: the members run their items and record nothing
    results = [item_run_task.apply_async(("chunked", i, job, False, slow), queue="bulk") for i in range(3)]
    client = aioredis.Redis.from_url(redis_url)
    deadline = time.monotonic() + 15
    observation = await probe(client, ["bulk"])
    while time.monotonic() < deadline and not (observation.unacked["bulk"] >= 2 and observation.running["bulk"]):
        await asyncio.sleep(0.2)
        observation = await probe(client, ["bulk"])
    load = observation.load()
    assert observation.unacked["bulk"] >= 2, "two children hold tasks they have not acknowledged"
    assert observation.running["bulk"] >= 1
    assert load.reserved >= 2
    assert load.busy_pods >= 1
    assert {w.hostname.split("@")[0] for w in observation.workers} == {"bulk"}
    for result in results:
        await asyncio.to_thread(result.get, timeout=30)
    await client.aclose()


@pytest.mark.asyncio
@pytest.mark.workers
async def test_a_plain_celery_workers_prefetched_and_running_tasks_count_as_in_flight(
    broker: aioredis.Redis, redis_url_for: Callable[[int], str], tmp_path: Path
) -> None:
    """No heartbeats here (a worker outside Celerity's conventions): `unacked` alone still sees the 4 tasks it holds,
    where LLEN sees only the 2 left in the list."""
    from tests.operator import tinyapp

    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}  # no Django in this worker
    env["TINYAPP_BROKER_URL"] = redis_url_for(PROBE_DB)
    argv = [
        str(Path(sys.executable).parent / "celery"), "-A", "tests.operator.tinyapp", "worker", "-Q", "tiny",
        "--pool=prefork", "-c", "1", "-n", "tiny@%h", "--without-mingle", "--without-gossip", "--loglevel=WARNING",
    ]  # fmt: skip # a command line reads best as one
    tinyapp.app.conf.broker_url = redis_url_for(PROBE_DB)
    for _ in range(6):
        await asyncio.to_thread(tinyapp.nap.apply_async, (30,), queue="tiny")
    with (tmp_path / "worker.log").open("wb") as log:
        worker = await asyncio.create_subprocess_exec(
            *argv, cwd=REPO_ROOT, env=env, stdout=log, stderr=asyncio.subprocess.STDOUT
        )
    try:
        observation = await probe(broker, ["tiny"])
        deadline = time.monotonic() + 30
        while observation.unacked["tiny"] < 4 and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            observation = await probe(broker, ["tiny"])
    finally:
        if worker.returncode is None:
            worker.send_signal(signal.SIGQUIT)  # cold: the naps stay unacked in this test's DB, flushed after
        async with asyncio.timeout(30):
            await worker.wait()
    seen = (observation.waiting["tiny"], observation.unacked["tiny"])
    assert seen == (2, 4), f"{seen}: {(tmp_path / 'worker.log').read_text()[-2000:]}"
    assert observation.load().reserved == 4
    assert observation.workers == []


def _beat(name: str, queues: list[str], ts: float, **extra: object) -> str:
    return json.dumps({
        "v": 1, "hostname": name, "pod": name.split("@")[1], "queues": queues, "active": 1, "reserved": 0,
        "state": "running", "ts": ts, "ttl": 15, **extra,
    })  # fmt: skip # one heartbeat record, compact as a worker writes it


def test_stale_heartbeats_and_other_queues_are_ignored() -> None:
    beats = [_beat("fresh@a", ["bulk"], 1000.0), _beat("stale@b", ["bulk"], 900.0), _beat("other@c", ["default"], 1000)]
    raw = json.dumps({"waiting": [2], "unacked": [], "heartbeats": beats})
    observation = parse(raw, ["bulk"], now=1001.0)
    assert [w.hostname for w in observation.workers] == ["fresh@a"]
    assert observation.unacked == {"bulk": 0}
    assert observation.waiting == {"bulk": 2}


def test_multi_queue_workers_count_only_this_pools_share() -> None:
    beat = _beat(
        "mixed@a",
        ["bulk", "default"],
        1000.0,
        active=3,
        reserved=2,
        active_by_queue={"bulk": 1, "default": 2},
        reserved_by_queue={"default": 2},
    )
    observation = parse(json.dumps({"waiting": [0], "unacked": {}, "heartbeats": [beat]}), ["bulk"], now=1000.0)
    assert observation.running == {"bulk": 1}
    assert observation.load().busy_pods == 1


def test_in_flight_is_the_larger_of_unacked_and_the_heartbeats_never_their_sum() -> None:
    held = _beat(
        "w@a", ["bulk"], 1000.0, active=2, reserved=1, active_by_queue={"bulk": 2}, reserved_by_queue={"bulk": 1}
    )
    acks_late = parse(json.dumps({"waiting": [0], "unacked": {"bulk": 3}, "heartbeats": [held]}), ["bulk"], now=1000)
    acks_early = parse(json.dumps({"waiting": [0], "unacked": {"bulk": 1}, "heartbeats": [held]}), ["bulk"], now=1000)
    assert acks_late.load().reserved == 3, "under acks-late unacked already holds the running tasks"
    assert acks_early.load().reserved == 3, "acked running tasks are still in flight: the heartbeat sees them"


def test_stopping_workers_are_not_busy_pods() -> None:
    beat = _beat("w@leaving", ["bulk"], 1000.0, state="stopping")
    observation = parse(json.dumps({"waiting": [0], "unacked": {}, "heartbeats": [beat]}), ["bulk"], now=1000.0)
    assert observation.load().busy_pods == 0, "a pod already terminating must not hold a replica slot"
    assert observation.load().running == 1


@pytest.mark.asyncio
async def test_fresh_heartbeats_are_read_in_the_same_round_trip(broker: aioredis.Redis) -> None:
    now = time.time()
    await broker.set("celerity:worker:bulk@pod-1", _beat("bulk@pod-1", ["bulk"], now), ex=15)
    await broker.zadd("celerity:workers", {"bulk@pod-1": now, "bulk@gone": now - 5})  # gone: its key expired
    observation = await probe(broker, ["bulk"])
    assert [(w.pod, w.active) for w in observation.workers] == [("pod-1", 1)]


@pytest.mark.asyncio
async def test_an_unreachable_redis_is_a_probe_error() -> None:
    client = aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5)
    with pytest.raises(ProbeError):
        await probe(client, ["bulk"])
    await client.aclose()
