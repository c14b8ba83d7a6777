"""Every workload, submitted over HTTP and run by live workers, squares 0..N-1 through its canvas primitive."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from celerity.jobs.models import Item, ItemState

pytestmark = [pytest.mark.workers, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("drained")]


def expected_sum(n: int) -> int:
    return sum(i * i for i in range(n))


@pytest.mark.parametrize(
    ("workload", "items", "chunk_size"),
    [("chunked", 2000, 100), ("chord", 300, None), ("group", 250, 50), ("chain", 120, 40), ("map", 900, 300),
     ("starmap", 900, 250)],
)  # fmt: skip
def test_every_workload_gives_the_sum_of_squares(
    celery_workers: dict[str, int],
    api_client: Client,
    wait_for_job: Callable[..., dict[str, Any]],
    workload: str,
    items: int,
    chunk_size: int | None,
) -> None:
    payload: dict[str, Any] = {"workload": workload, "items": items}
    if chunk_size:
        payload["chunk_size"] = chunk_size
    accepted = api_client.post("/api/jobs", payload, content_type="application/json")
    assert accepted.status_code == 202, accepted.content
    body = accepted.json()
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


def test_injected_failures_fail_the_job_and_are_counted(
    celery_workers: dict[str, int], api_client: Client, wait_for_job: Callable[..., dict[str, Any]]
) -> None:
    body = api_client.post(
        "/api/jobs", {"workload": "chunked", "items": 1000, "chunk_size": 100, "fail_rate": 0.1},
        content_type="application/json",
    ).json()  # fmt: skip
    job = wait_for_job(body["id"])
    failed = Item.objects.filter(job_id=body["id"], state=ItemState.FAILED)
    assert job["status"] == "failed"
    assert 0 < job["progress"]["failed"] == failed.count() < 1000
    assert job["progress"]["done"] + job["progress"]["failed"] == 1000
    failed_squares = sum(i * i for i in failed.values_list("index", flat=True))
    assert job["result"]["sum"] == expected_sum(1000) - failed_squares


def test_cancel_stops_outstanding_work_and_the_job_ends_cancelled(
    celery_workers: dict[str, int], api_client: Client, wait_for_job: Callable[..., dict[str, Any]]
) -> None:
    body = api_client.post(
        "/api/jobs", {"workload": "chunked", "items": 400, "chunk_size": 10, "item_cost_ms": 20},
        content_type="application/json",
    ).json()  # fmt: skip
    wait_for_job(body["id"], until=("running",))
    cancelled = api_client.post(f"/api/jobs/{body['id']}/cancel")
    assert cancelled.status_code == 202
    assert cancelled.json()["status"] == "cancelled"
    job = wait_for_job(body["id"])
    assert job["status"] == "cancelled"
    assert job["progress"]["done"] < 400
    assert api_client.post(f"/api/jobs/{body['id']}/cancel").status_code == 409


def test_the_list_is_paginated(
    api_client: Client, celery_workers: dict[str, int], wait_for_job: Callable[..., dict[str, Any]]
) -> None:
    for _ in range(3):
        job = api_client.post("/api/jobs", {"workload": "map", "items": 5}, content_type="application/json").json()
        wait_for_job(job["id"])
    page = api_client.get("/api/jobs?limit=2").json()
    assert page["count"] >= 3
    assert len(page["items"]) == 2
    assert page["next"] == "/api/jobs?limit=2&offset=2"
