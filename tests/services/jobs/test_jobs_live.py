"""Every workload, submitted over HTTP and run by live workers, squares 0..N-1 through its canvas primitive; failures,
task errors and cancels end the job instead of hanging it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from celerity.jobs.models import Item, ItemState, JobChunk

pytestmark = [pytest.mark.workers, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("drained")]

Wait = Callable[..., dict[str, Any]]


def expected_sum(n: int) -> int:
    return (n - 1) * n * (2 * n - 1) // 6


def submit(client: Client, **payload: Any) -> dict[str, Any]:
    accepted = client.post("/api/jobs", payload, content_type="application/json")
    assert accepted.status_code == 202, accepted.content
    body: dict[str, Any] = accepted.json()
    return body


@pytest.mark.parametrize(
    ("workload", "items", "chunk_size"),
    [
        ("chunked", 3000, 100),
        ("chord", 300, None),
        ("group", 250, 50),
        ("chain", 120, 40),
        ("map", 900, 300),
        ("starmap", 900, 250),
    ],
)
def test_every_workload_gives_the_sum_of_squares(
    celery_workers: dict[str, int],
    api_client: Client,
    wait_for_job: Wait,
    workload: str,
    items: int,
    chunk_size: int | None,
) -> None:
    body = submit(api_client, workload=workload, items=items, **({"chunk_size": chunk_size} if chunk_size else {}))
    assert body["status"] == "pending"
    assert body["url"].endswith(f"/api/jobs/{body['id']}")

    job = wait_for_job(body["id"])
    assert job["status"] == "succeeded", job
    assert job["result"] == {"sum": expected_sum(items), "count": items}
    assert job["progress"] == {"done": items, "failed": 0, "total": items}
    assert job["created_at"] <= job["started_at"] <= job["finished_at"]
    # Every item is a row with its own outcome, written exactly once.
    rows = Item.objects.filter(job_id=body["id"])
    assert rows.count() == items
    assert rows.filter(state=ItemState.DONE, writes=1).count() == items


@pytest.mark.parametrize("workload", ["chunked", "chord", "group", "chain", "map", "starmap"])
def test_injected_failures_are_counted_and_fail_the_job(
    celery_workers: dict[str, int], api_client: Client, wait_for_job: Wait, workload: str
) -> None:
    body = submit(api_client, workload=workload, items=200, chunk_size=40, fail_rate=0.1)
    job = wait_for_job(body["id"])
    failed = Item.objects.filter(job_id=body["id"], state=ItemState.FAILED)
    assert job["status"] == "failed", job
    assert 0 < job["progress"]["failed"] == failed.count() < 200
    assert job["progress"]["done"] + job["progress"]["failed"] == 200
    assert job["error"] == f"{failed.count()} of 200 items failed"
    failed_squares = sum(i * i for i in failed.values_list("index", flat=True))
    assert job["result"] == {"sum": expected_sum(200) - failed_squares, "count": 200 - failed.count()}


@pytest.mark.parametrize("workload", ["chunked", "chord", "chain", "map"])
def test_a_task_that_raises_fails_the_job_instead_of_hanging_it(
    celery_workers: dict[str, int], api_client: Client, wait_for_job: Wait, workload: str
) -> None:
    """Not an injected failure but an exception (here: the chunk's row vanished under the recorder): the errback on
    every task (on the chord's body for a chord) marks the job failed with the error."""
    body = submit(api_client, workload=workload, items=5, chunk_size=5, item_cost_ms=200)  # one chunk, ≥ 1 s
    wait_for_job(body["id"], until=("running",))
    JobChunk.objects.filter(job_id=body["id"], index=0).delete()
    job = wait_for_job(body["id"], timeout=30)
    assert job["status"] == "failed", job
    assert job["error"].startswith("DoesNotExist"), job["error"]
    assert job["finished_at"] is not None


@pytest.mark.parametrize(("workload", "queue"), [("chunked", "bulk"), ("group", "default"), ("chord", "default")])
def test_cancel_revokes_outstanding_work_and_the_job_ends_cancelled(
    celery_workers: dict[str, int], api_client: Client, wait_for_job: Wait, redis_url: str, workload: str, queue: str
) -> None:
    import redis

    body = submit(api_client, workload=workload, items=400, chunk_size=10, item_cost_ms=25)  # ≥ 5 s of work
    wait_for_job(body["id"], until=("running",))
    time.sleep(0.3)
    cancelled = api_client.post(f"/api/jobs/{body['id']}/cancel")
    assert cancelled.status_code == 202
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["finished_at"] is not None
    # Revoked messages are dropped and running items skip their work. The deadline is generous (a loaded CI machine);
    # `done < 400` below is what proves the work was skipped rather than done.
    client, deadline = redis.Redis.from_url(redis_url), time.monotonic() + 20
    while (client.llen(queue) or client.hlen("unacked")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not client.llen(queue), "the cancelled job's messages were not dropped"
    assert not client.hlen("unacked"), "a cancelled job's task is still held by a worker"
    time.sleep(0.6)  # anything still running sees the cancel within half a second
    job = wait_for_job(body["id"])
    assert job["status"] == "cancelled"
    assert job["progress"]["done"] < 400, "the cancelled work was done anyway"
    recorded = Item.objects.filter(job_id=body["id"]).exclude(state=ItemState.PENDING)
    settled = recorded.count()
    time.sleep(0.5)
    assert recorded.count() == settled, "nothing is recorded once the cancel has settled"
    conflict = api_client.post(f"/api/jobs/{body['id']}/cancel")
    assert conflict.status_code == 409
    assert conflict.json()["error"] == "conflict"


def test_the_list_is_paginated_and_filtered(
    celery_workers: dict[str, int], api_client: Client, wait_for_job: Wait
) -> None:
    for _ in range(3):
        wait_for_job(submit(api_client, workload="map", items=5)["id"])
    page = api_client.get("/api/jobs?limit=2").json()
    assert page["count"] == 3
    assert len(page["items"]) == 2
    assert page["next"] == "/api/jobs?limit=2&offset=2"
    assert page["items"][0]["progress"] == {"done": 5, "failed": 0, "total": 5}
    last = api_client.get(page["next"]).json()
    assert len(last["items"]) == 1
    assert last["next"] is None
    assert api_client.get("/api/jobs?status=succeeded").json()["count"] == 3
    assert api_client.get("/api/jobs?status=running").json()["count"] == 0


def test_a_named_queue_runs_the_whole_job(
    celery_workers: dict[str, int], api_client: Client, wait_for_job: Wait
) -> None:
    job = wait_for_job(submit(api_client, workload="chunked", items=500, chunk_size=50, queue="default")["id"])
    assert job["status"] == "succeeded"
    assert job["queue"] == "default"
    assert job["result"] == {"sum": expected_sum(500), "count": 500}
