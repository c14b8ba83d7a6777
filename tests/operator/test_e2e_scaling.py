"""The loop closed on one machine: kopf + kmock decide, real Celery workers follow the Deployment's replicas.

A harness (devstack's ReplicaSet) follows `spec.replicas` of the Deployment in kmock with that many real worker
processes for the pool's queue, and SIGTERMs the ones removed. A burst of chunked work must scale the pool up,
drain, scale it back down, and every item must be recorded exactly once. The test prints the reaction and drain times.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest

from devstack import processes
from devstack.servers import free_port
from tests.operator.test_handlers import DEPLOY, NS, declare

pytestmark = [pytest.mark.slow, pytest.mark.workers, pytest.mark.django_db(transaction=True)]
QUEUE = "e2e-bulk"
SPEC = {
    "deploymentName": DEPLOY, "queues": [QUEUE], "minReplicas": 0, "maxReplicas": 3, "targetBacklogPerReplica": 4,
    "pollIntervalSeconds": 1, "scaleDown": {"stabilizationWindowSeconds": 3, "maxStepPods": 3, "maxStepPercent": 100},
}  # fmt: skip


def _db(query: Any, *args: Any, **kwargs: Any) -> Any:
    """Run an ORM call in this worker thread and close the thread's connection (threads do not close their own)."""
    from django.db import connection

    try:
        return query(*args, **kwargs)
    finally:
        connection.close()


@pytest.mark.asyncio
async def test_a_burst_scales_up_drains_and_scales_back_down(
    kmock: Any, celery_workers: dict[str, int], stack_env: dict[str, str], redis_url: str,
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:  # fmt: skip
    from kopf.testing import KopfRunner

    from celerity.jobs import services
    from celerity.jobs.models import Item, Job, Workload

    monkeypatch.setenv("CELERITY_OPERATOR_REDIS_URL", redis_url)
    monkeypatch.setenv("CELERITY_OPERATOR_METRICS_PORT", str(free_port()))
    monkeypatch.setenv("CELERITY_OPERATOR_API_SERVER", str(kmock.url))
    declare(kmock, SPEC)
    harness = processes.ReplicaSet(processes.PoolSpec("e2e", (QUEUE,), concurrency=1), stack_env, tmp_path)
    items = 240
    job = await asyncio.to_thread(
        _db, services.job_create,
        request=services.JobRequest(workload=Workload.CHUNKED, items=items, chunk_size=4, queue=QUEUE, item_cost_ms=25),
    )  # fmt: skip
    submitted = time.monotonic()
    scaled_up_at = drained_at = scaled_down_at = None
    try:
        with KopfRunner(["run", "--standalone", "-A", "-m", "celerity_operator"], timeout=150):
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                replicas = int(kmock.objects["apps/v1/deployments", NS, DEPLOY]["spec"]["replicas"])
                await asyncio.to_thread(harness.scale, replicas)
                if replicas and scaled_up_at is None:
                    scaled_up_at = time.monotonic()
                status = await asyncio.to_thread(_db, lambda: Job.objects.get(id=job.id).status)
                if status != "running" and status != "pending" and drained_at is None:
                    drained_at = time.monotonic()
                if drained_at and replicas == 0:
                    scaled_down_at = time.monotonic()
                    break
                await asyncio.sleep(0.5)
    finally:
        await asyncio.to_thread(harness.scale, 0)

    finished = await asyncio.to_thread(_db, lambda: Job.objects.get(id=job.id))
    writes = await asyncio.to_thread(
        _db, lambda: sorted(set(Item.objects.filter(job=job).values_list("writes", flat=True)))
    )
    assert scaled_up_at is not None, "the burst never scaled the pool up"
    assert harness.peak >= 2, f"expected a proportional scale-up, peaked at {harness.peak}"
    assert finished.status == "succeeded", finished.error
    assert finished.result == {"sum": sum(i * i for i in range(items)), "count": items}
    assert writes == [1], "every item recorded exactly once"
    assert scaled_down_at is not None, "the pool did not scale back to zero after the drain"
    assert harness.stopped >= harness.peak
    report = (
        f"reaction (job submitted -> first replica): {scaled_up_at - submitted:.1f}s; "
        f"peak {harness.peak} replicas; drain: {drained_at - scaled_up_at:.1f}s; "  # type: ignore[operator]
        f"scale-down after drain: {scaled_down_at - drained_at:.1f}s"  # type: ignore[operator]
    )
    print(report)
    os.environ.pop("CELERITY_OPERATOR_API_SERVER", None)
