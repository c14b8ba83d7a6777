"""The loop closed on one machine: kopf + kmock decide, real Celery workers follow the Deployment's replicas.

The harness (tests/operator/harness.py) runs as many real worker processes of the services app as the Deployment in
kmock asks for, removes the cheapest pods first and SIGTERMs them. A burst of chunked work must scale the pool up
proportionally, drain, scale it back to zero, and every item must be recorded exactly once. The test prints the
reaction time (first task waiting -> scale-up decision) and the drain time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis

from celerity_operator.probing import PRIORITY_SEP, PRIORITY_STEPS
from tests.operator.cluster import DEPLOY, POOL, Cluster, running_operator, until
from tests.operator.harness import WorkerReplicaSet

pytestmark = [pytest.mark.slow, pytest.mark.workers, pytest.mark.django_db(transaction=True)]
QUEUE = "e2e-bulk"  # not `bulk`: the session's own bulk worker must not take this burst
ITEMS, CHUNK, COST_MS = 240, 4, 40
SPEC = {
    "deploymentName": DEPLOY,
    "queues": [QUEUE],
    "minReplicas": 0,
    "maxReplicas": 3,
    "targetBacklogPerReplica": 4,
    "pollIntervalSeconds": 1,
    "scaleDown": {"stabilizationWindowSeconds": 3, "periodSeconds": 1, "maxStepPods": 3, "maxStepPercent": 100},
}


def _db(query: Callable[[], Any]) -> Any:
    """Run an ORM call in a worker thread and close that thread's connection (threads do not close their own)."""
    from django.db import connection

    try:
        return query()
    finally:
        connection.close()


async def _first_waiting(client: redis.Redis, stop: asyncio.Event) -> float | None:
    """When the first task of the burst appeared in the queue (any priority), sampled every 10 ms."""
    keys = [QUEUE, *(f"{QUEUE}{PRIORITY_SEP}{p}" for p in PRIORITY_STEPS)]
    while not stop.is_set():
        if any(await asyncio.to_thread(lambda: [client.llen(k) for k in keys])):
            return time.monotonic()
        await asyncio.sleep(0.01)
    return None


@pytest.mark.asyncio
async def test_a_burst_scales_up_drains_and_scales_back_down(
    cluster: Cluster,
    celery_workers: dict[str, int],
    stack_env: dict[str, str],
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from celerity.jobs import services
    from celerity.jobs.models import Item, Job, Workload
    from devstack.servers import free_port

    monkeypatch.setenv("CELERITY_OPERATOR_REDIS_URL", redis_url)
    monkeypatch.setenv("CELERITY_OPERATOR_METRICS_PORT", str(free_port()))
    client = redis.Redis.from_url(redis_url)
    cluster.deployment(replicas=0)
    cluster.pool(SPEC)
    harness = WorkerReplicaSet(cluster, DEPLOY, POOL, QUEUE, stack_env, tmp_path)
    stop = asyncio.Event()
    started = time.monotonic()
    async with running_operator(seconds=120):
        following = asyncio.create_task(harness.follow(stop))
        watching = asyncio.create_task(_first_waiting(client, stop))
        await until(lambda: "conditions" in cluster.status(), what="the operator watches the pool")
        request = services.JobRequest(
            workload=Workload.CHUNKED, items=ITEMS, chunk_size=CHUNK, queue=QUEUE, item_cost_ms=COST_MS
        )
        job = await asyncio.to_thread(_db, lambda: services.job_create(request=request))
        try:
            await until(lambda: harness.first_scaled_up is not None, within=10, what="a scale-up")
            finished = lambda: _db(lambda: Job.objects.get(id=job.id).status in ("succeeded", "failed"))  # noqa: E731
            deadline = time.monotonic() + 60
            while not await asyncio.to_thread(finished):
                assert time.monotonic() < deadline, "the burst did not drain within 60 s"
                await asyncio.sleep(0.2)
            drained_at = time.monotonic()
            await until(lambda: harness.wanted() == 0 and not harness.replicas, within=30, what="back to zero")
            scaled_down_at = time.monotonic()
        finally:
            stop.set()
            await following
        first_waiting = await watching

    finished_job = await asyncio.to_thread(_db, lambda: Job.objects.get(id=job.id))
    items = await asyncio.to_thread(_db, lambda: list(Item.objects.filter(job=job).values_list("writes", flat=True)))
    writes = sorted(set(items))
    assert finished_job.status == "succeeded", finished_job.error
    assert finished_job.result == {"sum": sum(i * i for i in range(ITEMS)), "count": ITEMS}
    assert writes == [1], "every item recorded exactly once"
    assert harness.peak >= 2, f"expected a proportional scale-up, peaked at {harness.peak}"
    assert harness.stopped >= harness.peak, "every worker was stopped with SIGTERM on the way down"
    assert "ScaledUp" in cluster.reasons()
    assert "ScaledDown" in cluster.reasons()
    assert harness.first_scaled_up is not None
    assert first_waiting is not None
    reaction = harness.first_scaled_up - first_waiting
    assert reaction < 3.0, "scale from zero within one poll (1 s) of the first waiting task, plus slack"
    print(
        f"\ne2e autoscaling: reaction (first task waiting -> scale-up decision) {reaction:.2f}s; "
        f"peak {harness.peak} replicas; drain (first replica -> all {ITEMS} items done) "
        f"{drained_at - harness.first_scaled_up:.1f}s; scale-down after drain {scaled_down_at - drained_at:.1f}s; "
        f"removed pods' deletion costs {harness.removed_costs}; total {time.monotonic() - started:.1f}s"
    )
