"""The operator for real under kopf, against kmock (an in-memory Kubernetes API), with a real Redis.

Each test runs `kopf run --standalone -A -m celerity_operator`, reaches kmock through a kubeconfig as it would reach a
cluster, and ends by checking that every request it sent is allowed by RBAC_RULES (tests/operator/conftest.py).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time

import pytest
import redis
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.operator.cluster import NS, POOL, WP, Cluster, metrics_port, running_operator, until

QUEUE = "op-bulk"
SPEC = {
    "deploymentName": "celerity-worker-bulk",
    "queues": [QUEUE],
    "minReplicas": 0,
    "maxReplicas": 5,
    "targetBacklogPerReplica": 4,
    "pollIntervalSeconds": 1,
}


def fill(broker: redis.Redis, count: int, queue: str = QUEUE) -> None:
    broker.lpush(queue, *[json.dumps({"n": i}) for i in range(count)])


@pytest.mark.asyncio
async def test_a_filled_queue_scales_the_deployment_and_says_so(cluster: Cluster, operator_redis: redis.Redis) -> None:
    fill(operator_redis, 10)
    cluster.deployment(replicas=0)
    cluster.pool(SPEC)
    async with running_operator():
        await until(lambda: cluster.replicas() == 3, what="ceil(10 / 4) = 3 replicas")
        await until(lambda: cluster.status()["currentReplicas"] == 3 and "ScaledUp" in cluster.reasons())
        url = f"http://127.0.0.1:{metrics_port()}/metrics"
        text = (await asyncio.to_thread(requests.get, url, timeout=5)).text
    status = cluster.status()
    assert status["observedBacklog"] == {"waiting": 10, "reserved": 0, "running": 0}
    assert status["desiredReplicas"] == 3
    assert status["observedGeneration"] == 1
    assert status["lastScaleReason"].endswith("0 -> 3")
    assert cluster.condition("Ready")["status"] == "True"
    assert cluster.condition("ProbeFailed")["status"] == "False"
    (event,) = [e for e in cluster.events() if e["reason"] == "ScaledUp"]
    assert event["type"] == "Normal"
    assert event["involvedObject"]["name"] == POOL
    assert "0 -> 3" in event["message"]
    ours = [
        s for family in text_string_to_metric_families(text) for s in family.samples if s.labels.get("pool") == POOL
    ]
    samples = {(s.name, s.labels.get("queue"), s.labels.get("state"), s.labels.get("direction")): s.value for s in ours}
    assert samples["celerity_operator_replicas_desired", None, None, None] == 3
    assert samples["celerity_operator_replicas_current", None, None, None] == 3
    assert samples["celerity_operator_backlog_tasks", QUEUE, "waiting", None] == 10
    assert samples["celerity_operator_scale_events_total", None, None, "up"] >= 1
    assert samples["celerity_operator_probe_duration_seconds_count", None, None, None] >= 1


@pytest.mark.asyncio
async def test_an_unreachable_redis_keeps_the_replicas_and_warns_once(
    cluster: Cluster, operator_redis: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    from devstack.servers import free_port

    monkeypatch.setenv("CELERITY_OPERATOR_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    cluster.deployment(replicas=2)
    cluster.pool(SPEC)
    async with running_operator():
        await until(lambda: cluster.condition("ProbeFailed")["status"] == "True")
        await asyncio.sleep(3)  # several more failed polls
    assert cluster.replicas() == 2, "a failed probe never changes the replicas (and never scales to zero)"
    assert cluster.condition("Ready")["status"] == "False"
    assert cluster.status()["desiredReplicas"] == 2
    assert cluster.reasons().count("ProbeFailed") == 1, "one Warning when the problem starts, not one per poll"


@pytest.mark.asyncio
async def test_a_paused_pool_is_never_changed_until_it_is_unpaused(
    cluster: Cluster, operator_redis: redis.Redis
) -> None:
    fill(operator_redis, 10)
    cluster.deployment(replicas=0)
    cluster.pool({**SPEC, "paused": True})
    async with running_operator():
        await until(lambda: cluster.status()["desiredReplicas"] == 3, what="it observes and says what it would do")
        await asyncio.sleep(2)
        assert cluster.replicas() == 0
        assert cluster.condition("Ready")["reason"] == "Paused"
        await cluster.patch_pool({"spec": {"paused": False}})
        await until(lambda: cluster.replicas() == 3, what="the live spec is read on every poll")


@pytest.mark.asyncio
async def test_an_invalid_spec_is_an_error_condition_not_a_crash(cluster: Cluster, operator_redis: redis.Redis) -> None:
    fill(operator_redis, 4)
    cluster.deployment(replicas=0)
    cluster.deployment(replicas=0, name="other")
    cluster.pool({**SPEC, "minReplicas": 4, "maxReplicas": 2, "queues": "not-a-list"}, validate=False)
    cluster.pool({**SPEC, "deploymentName": "other"}, name="healthy")
    async with running_operator():
        await until(lambda: cluster.condition("Ready")["reason"] == "InvalidSpec")
        await until(lambda: cluster.replicas("other") == 1, what="the operator still serves the other pools")
    message = cluster.condition("Ready")["message"]
    assert "minReplicas (4) must not exceed maxReplicas (2)" in message
    assert "queues must be a non-empty list" in message
    assert cluster.replicas() == 0
    assert "InvalidSpec" in cluster.reasons()


@pytest.mark.asyncio
async def test_a_missing_deployment_is_an_error_condition(cluster: Cluster, operator_redis: redis.Redis) -> None:
    cluster.pool(SPEC)
    async with running_operator():
        await until(lambda: cluster.condition("Ready")["reason"] == "ScaleTargetUnavailable")
    assert "celerity-worker-bulk" in cluster.condition("Ready")["message"]


@pytest.mark.asyncio
async def test_before_a_scale_down_busy_pods_cost_more_to_delete(cluster: Cluster, operator_redis: redis.Redis) -> None:
    spec = {**SPEC, "scaleDown": {"stabilizationWindowSeconds": 0, "maxStepPods": 5, "maxStepPercent": 100}}
    cluster.deployment(replicas=3)
    cluster.pool(spec)
    for pod in ("w-busy", "w-idle-1", "w-idle-2"):
        cluster.pod(pod)
    beat = {"v": 1, "hostname": "bulk@w-busy", "pod": "w-busy", "pool": POOL, "queues": [QUEUE], "concurrency": 1,
            "active": 1, "reserved": 0, "active_by_queue": {QUEUE: 1}, "reserved_by_queue": {}, "state": "running",
            "ts": time.time() + 30, "ttl": 60}  # fmt: skip # one heartbeat record, compact as a worker writes it
    operator_redis.set("celerity:worker:bulk@w-busy", json.dumps(beat), ex=60)
    operator_redis.zadd("celerity:workers", {"bulk@w-busy": beat["ts"]})
    async with running_operator():
        await until(lambda: cluster.replicas() == 1, what="down to the one busy pod, never below it")
    cost = "controller.kubernetes.io/pod-deletion-cost"
    annotations = {
        p: cluster.kmock.objects["v1/pods", NS, p]["metadata"].get("annotations", {})
        for p in ("w-busy", "w-idle-1", "w-idle-2")
    }
    assert annotations == {"w-busy": {cost: "1000"}, "w-idle-1": {cost: "0"}, "w-idle-2": {cost: "0"}}
    assert "ScaledDown" in cluster.reasons()


@pytest.mark.asyncio
async def test_the_broker_can_come_from_a_secret(
    cluster: Cluster, operator_redis: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    kwargs = operator_redis.connection_pool.connection_kwargs
    broker = f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs['db']}"
    monkeypatch.delenv("CELERITY_OPERATOR_REDIS_URL")
    fill(operator_redis, 5)
    cluster.deployment(replicas=0)
    cluster.pool({**SPEC, "broker": {"secretRef": {"name": "celerity-redis"}}})
    cluster.kmock.objects["v1/secrets", NS, "celerity-redis"] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "celerity-redis", "namespace": NS},
        "data": {"url": base64.b64encode(broker.encode()).decode()},
    }
    async with running_operator():
        await until(lambda: cluster.replicas() == 2, what="ceil(5 / 4)")


@pytest.mark.asyncio
async def test_a_missing_secret_is_a_probe_failure_until_it_exists(
    cluster: Cluster, operator_redis: redis.Redis
) -> None:
    kwargs = operator_redis.connection_pool.connection_kwargs
    broker = f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs['db']}"
    cluster.deployment(replicas=1)
    cluster.pool({**SPEC, "broker": {"secretRef": {"name": "absent"}}})
    async with running_operator():
        await until(lambda: cluster.condition("ProbeFailed")["status"] == "True")
        assert cluster.replicas() == 1
        assert "secret" in cluster.condition("ProbeFailed")["message"]
        cluster.kmock.objects["v1/secrets", NS, "absent"] = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "absent", "namespace": NS},
            "data": {"url": base64.b64encode(broker.encode()).decode()},
        }
        await until(lambda: cluster.condition("ProbeFailed")["status"] == "False", what="the next poll reads it")
    assert cluster.condition("Ready")["status"] == "True"
    assert cluster.reasons().count("Recovered") == 1, "one Normal event when the problem ends"


@pytest.mark.asyncio
async def test_a_deleted_pool_stops_its_daemon_and_its_metrics(cluster: Cluster, operator_redis: redis.Redis) -> None:
    cluster.deployment(replicas=0)
    cluster.pool(SPEC)
    url = f"http://127.0.0.1:{metrics_port()}/metrics"
    async with running_operator():
        await until(lambda: "Ready" in str(cluster.status()))
        assert f'pool="{POOL}"' in (await asyncio.to_thread(requests.get, url, timeout=5)).text
        await cluster.delete_pool()
        await until(lambda: f'pool="{POOL}"' not in requests.get(url, timeout=5).text, what="series removed")
        await until(
            lambda: not cluster.kmock.objects[WP, NS, POOL].get("metadata", {}).get("finalizers"),
            what="kopf released its finalizer",
        )


@pytest.mark.asyncio
async def test_a_backlog_beyond_max_replicas_is_at_max(cluster: Cluster, operator_redis: redis.Redis) -> None:
    fill(operator_redis, 100)
    cluster.deployment(replicas=5)
    cluster.pool(SPEC)
    async with running_operator():
        await until(lambda: cluster.condition("AtMaxReplicas")["status"] == "True")
        text = (await asyncio.to_thread(requests.get, f"http://127.0.0.1:{metrics_port()}/metrics", timeout=5)).text
    assert cluster.replicas() == 5
    assert "25 replicas" in cluster.condition("AtMaxReplicas")["message"]
    assert f'celerity_operator_pool_condition{{condition="AtMaxReplicas",namespace="{NS}",pool="{POOL}"}} 1.0' in text
