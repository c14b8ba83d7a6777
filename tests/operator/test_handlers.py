"""The operator for real under kopf, against kmock (an in-memory Kubernetes API), with a real Redis."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import requests

from devstack.servers import free_port

NS, POOL, DEPLOY, QUEUE = "ns1", "bulk", "celerity-worker-bulk", "op-bulk"
WP = "celerity.dev/v1alpha1/workerpools"


@pytest.fixture
def operator_env(redis_url_for: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[redis.Redis]:
    url = redis_url_for(5)
    client = redis.Redis.from_url(url)
    client.flushdb()
    monkeypatch.setenv("CELERITY_OPERATOR_REDIS_URL", url)
    monkeypatch.setenv("CELERITY_OPERATOR_METRICS_PORT", str(free_port()))
    yield client
    client.flushdb()


def declare(kmock: Any, spec: dict[str, Any], replicas: int = 0) -> None:
    rw = ["list", "watch", "get", "patch"]
    kmock.resources[WP] = {"kind": "WorkerPool", "namespaced": True, "subresources": ["status"], "verbs": rw}
    kmock.resources["apps/v1/deployments"] = {
        "kind": "Deployment", "namespaced": True, "subresources": ["scale", "status"], "verbs": rw,
    }  # fmt: skip
    kmock.resources["v1/pods"] = {"kind": "Pod", "namespaced": True, "verbs": rw}
    kmock.resources["v1/events"] = {"kind": "Event", "namespaced": True, "verbs": ["create", "list"]}
    # Without these two, kopf's discovery never completes and no handler runs (shared/NOTES.md).
    kmock.resources["apiextensions.k8s.io/v1/customresourcedefinitions"] = {
        "kind": "CustomResourceDefinition", "namespaced": False, "verbs": ["list", "watch", "get"],
    }  # fmt: skip
    kmock.resources["v1/namespaces"] = {"kind": "Namespace", "namespaced": False, "verbs": ["list", "watch", "get"]}
    meta = {"namespace": NS, "resourceVersion": "1", "generation": 1}
    kmock.objects["apps/v1/deployments", NS, DEPLOY] = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": DEPLOY, **meta},
        "spec": {"replicas": replicas},
    }  # fmt: skip
    kmock.objects[WP, NS, POOL] = {
        "apiVersion": "celerity.dev/v1alpha1", "kind": "WorkerPool", "metadata": {"name": POOL, **meta}, "spec": spec,
    }  # fmt: skip


SPEC = {"deploymentName": DEPLOY, "queues": [QUEUE], "minReplicas": 0, "maxReplicas": 5,
        "targetBacklogPerReplica": 4, "pollIntervalSeconds": 1}  # fmt: skip


async def run_operator(kmock: Any, seconds: float) -> None:
    import kopf
    from kopf.testing import KopfRunner

    os.environ["CELERITY_OPERATOR_API_SERVER"] = str(kmock.url)
    try:
        with KopfRunner(["run", "--standalone", "-A", "-m", "celerity_operator"], timeout=seconds + 30) as runner:
            await asyncio.sleep(seconds)
        assert runner.exception is None or isinstance(runner.exception, SystemExit), runner.output
    finally:
        os.environ.pop("CELERITY_OPERATOR_API_SERVER", None)
    assert kopf is not None


def replicas(kmock: Any) -> int:
    return int(kmock.objects["apps/v1/deployments", NS, DEPLOY]["spec"]["replicas"])


def status(kmock: Any) -> dict[str, Any]:
    return dict(kmock.objects[WP, NS, POOL].get("status") or {})


def condition(kmock: Any, kind: str) -> str | None:
    return next((c["status"] for c in status(kmock).get("conditions", []) if c["type"] == kind), None)


@pytest.mark.asyncio
async def test_a_filled_queue_scales_the_deployment_and_says_so(kmock: Any, operator_env: redis.Redis) -> None:
    operator_env.lpush(QUEUE, *[f"message-{i}" for i in range(10)])
    declare(kmock, SPEC)
    await run_operator(kmock, 4)
    assert replicas(kmock) == 3  # ceil(10 / 4)
    assert status(kmock)["observedBacklog"]["waiting"] == 10
    assert status(kmock)["desiredReplicas"] == 3
    assert condition(kmock, "Ready") == "True"
    assert "lastScaleReason" in status(kmock)
    reasons = {obj.get("reason") for key, obj in kmock.objects.items() if "events" in str(key[0])}
    assert "ScaledUp" in reasons, f"every scale decision is also an Event; saw {reasons}"
    from prometheus_client.parser import text_string_to_metric_families

    url = f"http://127.0.0.1:{os.environ['CELERITY_OPERATOR_METRICS_PORT']}/metrics"
    text = (await asyncio.to_thread(requests.get, url, timeout=5)).text
    samples = {(s.name, s.labels.get("pool"), s.labels.get("state", s.labels.get("direction"))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}  # fmt: skip
    assert samples[("celerity_operator_replicas_desired", POOL, None)] == 3
    assert samples[("celerity_operator_backlog_tasks", POOL, "waiting")] == 10
    assert samples[("celerity_operator_scale_events_total", POOL, "up")] >= 1
    assert samples[("celerity_operator_probe_duration_seconds_count", POOL, None)] >= 1


@pytest.mark.asyncio
async def test_an_unreachable_redis_keeps_the_replicas(kmock: Any, operator_env: redis.Redis,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("CELERITY_OPERATOR_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    declare(kmock, SPEC, replicas=2)
    await run_operator(kmock, 4)
    assert replicas(kmock) == 2
    assert condition(kmock, "ProbeFailed") == "True"


@pytest.mark.asyncio
async def test_a_paused_pool_is_never_changed(kmock: Any, operator_env: redis.Redis) -> None:
    operator_env.lpush(QUEUE, *[f"message-{i}" for i in range(10)])
    declare(kmock, {**SPEC, "paused": True})
    await run_operator(kmock, 4)
    assert replicas(kmock) == 0
    assert status(kmock)["desiredReplicas"] == 3  # it still observes and says what it would do


@pytest.mark.asyncio
async def test_an_invalid_spec_is_an_error_condition_not_a_crash(kmock: Any, operator_env: redis.Redis) -> None:
    declare(kmock, {**SPEC, "minReplicas": 4, "maxReplicas": 2})
    await run_operator(kmock, 3)
    assert condition(kmock, "Ready") == "False"
    assert replicas(kmock) == 0


@pytest.mark.asyncio
async def test_before_a_scale_down_busy_pods_cost_more_to_delete(kmock: Any, operator_env: redis.Redis) -> None:
    import json
    import time

    spec = {**SPEC, "scaleDown": {"stabilizationWindowSeconds": 0, "maxStepPods": 5, "maxStepPercent": 100}}
    declare(kmock, spec, replicas=3)
    for pod in ("w-busy", "w-idle-1", "w-idle-2"):
        kmock.objects["v1/pods", NS, pod] = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": pod, "namespace": NS, "resourceVersion": "1",
                         "labels": {"celerity.dev/workerpool": POOL}},
        }  # fmt: skip
    beat = {"v": 1, "hostname": "bulk@w-busy", "pod": "w-busy", "pool": POOL, "queues": [QUEUE], "concurrency": 1,
            "active": 1, "reserved": 0, "state": "running", "ts": time.time() + 30, "ttl": 60}  # fmt: skip
    operator_env.set("celerity:worker:bulk@w-busy", json.dumps(beat), ex=60)
    operator_env.zadd("celerity:workers", {"bulk@w-busy": beat["ts"]})
    await run_operator(kmock, 4)
    cost = "controller.kubernetes.io/pod-deletion-cost"
    annotations = {
        p: kmock.objects["v1/pods", NS, p]["metadata"].get("annotations", {}) for p in ("w-busy", "w-idle-1")
    }
    assert annotations["w-busy"][cost] == "1000"
    assert annotations["w-idle-1"][cost] == "0"
    assert replicas(kmock) == 1, "down to the one busy pod, never below it"


@pytest.mark.asyncio
async def test_the_broker_can_come_from_a_secret(kmock: Any, operator_env: redis.Redis,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    import base64

    url = operator_env.connection_pool.connection_kwargs
    broker = f"redis://{url['host']}:{url['port']}/{url['db']}"
    monkeypatch.delenv("CELERITY_OPERATOR_REDIS_URL")
    operator_env.lpush(QUEUE, *[f"message-{i}" for i in range(5)])
    declare(kmock, {**SPEC, "broker": {"secretRef": {"name": "celerity-redis"}}})
    kmock.resources["v1/secrets"] = {"kind": "Secret", "namespaced": True, "verbs": ["get"]}
    kmock.objects["v1/secrets", NS, "celerity-redis"] = {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "celerity-redis", "namespace": NS},
        "data": {"url": base64.b64encode(broker.encode()).decode()},
    }  # fmt: skip
    await run_operator(kmock, 4)
    assert replicas(kmock) == 2  # ceil(5 / 4)


@pytest.mark.asyncio
async def test_a_missing_secret_is_a_probe_failure(kmock: Any, operator_env: redis.Redis) -> None:
    declare(kmock, {**SPEC, "broker": {"secretRef": {"name": "absent"}}}, replicas=1)
    kmock.resources["v1/secrets"] = {"kind": "Secret", "namespaced": True, "verbs": ["get"]}
    await run_operator(kmock, 3)
    assert replicas(kmock) == 1
    assert condition(kmock, "ProbeFailed") == "True"
