"""A job type defined by the test suite (tests/services/jobs/testtypes.py) runs on real workers through every canvas,
with real inline items: outputs and errors are stored per item, the reduce runs over the successes and says how many
failed, a retry re-runs only the failed items and reduces again, and a per-item time limit fails only its item."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from celerity.jobs.models import Item, ItemState, Job, JobItemInput, Workload
from tests.services.jobs.testtypes import words_type

pytestmark = [pytest.mark.workers, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("drained")]

Wait = Callable[..., dict[str, Any]]
TEXTS = ["one", "two words", "now three words", "four words in all", "five words are here now", "six"]


def submit(client: Client, payload: dict[str, Any], **headers: str) -> dict[str, Any]:
    accepted = client.post("/api/jobs", payload, content_type="application/json", headers=headers)
    assert accepted.status_code == 202, accepted.content
    body: dict[str, Any] = accepted.json()
    return body


def items(client: Client, job_id: str, query: str = "") -> dict[str, Any]:
    response = client.get(f"/api/jobs/{job_id}/items{query}")
    assert response.status_code == 200, response.content
    page: dict[str, Any] = response.json()
    return page


@pytest.mark.parametrize("canvas", list(Workload))
def test_a_job_type_runs_through_every_canvas_and_reduces_over_the_successes(
    celery_workers: dict[str, int], api_client: Client, wait_for_job: Wait, canvas: Workload
) -> None:
    inputs = [{"text": text} for text in TEXTS] + [{"text": "this one breaks", "fail": True}]
    body = submit(api_client, {"type": words_type(canvas), "items": inputs})
    job = wait_for_job(body["id"])

    assert job["type"] == words_type(canvas)
    assert job["workload"] == canvas.value
    assert job["status"] == "failed", job
    assert job["error"] == "1 of 7 items failed"
    expected = sum(len(text.split()) for text in TEXTS)
    assert job["result"] == {"reduce": expected, "count": 6, "failed": 1}, "the reduce ran despite the failure"
    assert job["progress"] == {"done": 6, "failed": 1, "total": 7}
    rows = {row.index: row for row in Item.objects.filter(job_id=body["id"])}
    assert {i: rows[i].output for i in range(6)} == {i: len(text.split()) for i, text in enumerate(TEXTS)}
    assert {(row.attempts, row.writes) for row in rows.values()} == {(1, 1)}

    failed = items(api_client, body["id"], "?state=failed")
    assert failed["count"] == 1
    (item,) = failed["items"]
    assert item == {
        "index": 6,
        "state": "failed",
        "input": inputs[6],
        "output": None,
        "attempts": 1,
        "error": "ValueError: asked to fail: 'this one breaks'",
    }


def test_a_retry_reruns_only_the_failed_items_then_reduces_again(
    celery_workers: dict[str, int], api_client: Client, wait_for_job: Wait
) -> None:
    inputs: list[dict[str, Any]] = [{"text": f"w{i} " * (i + 1)} for i in range(8)]
    for broken in (2, 5):
        inputs[broken]["fail"] = True
    body = submit(api_client, {"type": words_type(Workload.CHUNKED), "items": inputs})
    first = wait_for_job(body["id"])
    assert first["result"] == {"reduce": sum(i + 1 for i in range(8) if i not in (2, 5)), "count": 6, "failed": 2}

    # The items are fixed at the source (here: in the stored inputs), as a team would fix the data or the code.
    for broken in (2, 5):
        JobItemInput.objects.filter(job_id=body["id"], index=broken).update(input={"text": inputs[broken]["text"]})
    runs_before = dict(Item.objects.filter(job_id=body["id"]).values_list("index", "attempts"))
    retried = api_client.post(f"/api/jobs/{body['id']}/retry")
    assert retried.status_code == 202, retried.content
    assert retried.json()["status"] == "running"
    job = wait_for_job(body["id"])

    assert job["status"] == "succeeded", job
    assert job["result"] == {"reduce": sum(i + 1 for i in range(8)), "count": 8, "failed": 0}
    after = dict(Item.objects.filter(job_id=body["id"]).values_list("index", "attempts"))
    assert after == {i: runs_before[i] + (1 if i in (2, 5) else 0) for i in range(8)}, "only the failed items ran"
    assert set(Item.objects.filter(job_id=body["id"]).values_list("state", flat=True)) == {ItemState.DONE}
    assert api_client.post(f"/api/jobs/{body['id']}/retry").status_code == 409, "a succeeded job is not retried"


@pytest.mark.parametrize("canvas", [Workload.GROUP, Workload.CHAIN, Workload.CHORD])
def test_a_retry_of_a_per_item_canvas_reruns_its_failed_items(
    celery_workers: dict[str, int], api_client: Client, wait_for_job: Wait, canvas: Workload
) -> None:
    inputs = [{"text": "a b"}, {"text": "c", "fail": True}, {"text": "d e f"}, {"text": "g", "fail": True}]
    body = submit(api_client, {"type": words_type(canvas), "items": inputs})
    assert wait_for_job(body["id"])["result"] == {"reduce": 5, "count": 2, "failed": 2}
    assert api_client.post(f"/api/jobs/{body['id']}/retry").status_code == 202
    job = wait_for_job(body["id"])
    assert job["status"] == "failed", "the same inputs fail the same way again"
    assert job["result"] == {"reduce": 5, "count": 2, "failed": 2}
    attempts = dict(Item.objects.filter(job_id=body["id"]).values_list("index", "attempts"))
    assert attempts == {0: 1, 1: 2, 2: 1, 3: 2}


def test_an_item_over_its_time_limit_fails_alone(
    celery_workers: dict[str, int], api_client: Client, wait_for_job: Wait
) -> None:
    body = submit(api_client, {"type": "test-nap", "items": [{"seconds": 0.01}, {"seconds": 3}, {"seconds": 0.02}]})
    job = wait_for_job(body["id"])
    assert job["status"] == "failed"
    (late,) = items(api_client, body["id"], "?state=failed")["items"]
    assert late["index"] == 1
    assert late["error"] == "ItemTimeLimitExceeded: item ran over its 0.5 s time limit"
    assert [row["output"] for row in items(api_client, body["id"], "?state=done")["items"]] == [0.01, 0.02]


def test_the_same_idempotency_key_returns_the_first_job(
    celery_workers: dict[str, int], api_client: Client, wait_for_job: Wait
) -> None:
    payload = {"type": words_type(Workload.CHUNKED), "items": [{"text": "once only"}]}
    first = submit(api_client, payload, **{"Idempotency-Key": "order-42"})
    again = submit(api_client, payload, **{"Idempotency-Key": "order-42"})
    other = submit(api_client, payload, **{"Idempotency-Key": "order-43"})
    assert first["id"] == again["id"] != other["id"]
    assert Job.objects.filter(idempotency_key="order-42").count() == 1
    assert wait_for_job(first["id"])["result"] == {"reduce": 2, "count": 1, "failed": 0}
