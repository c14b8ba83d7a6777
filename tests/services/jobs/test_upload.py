"""The streamed NDJSON upload (`POST /api/jobs/upload`): one item per line, checked and copied in batches; any bad
line, too many items or the wrong content type refuses the whole upload and creates nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client, override_settings

from celerity.jobs.models import Job, JobItemInput, Workload
from celerity.jobs.services import uploading
from tests.services.jobs.testtypes import words_type

pytestmark = pytest.mark.django_db(transaction=True)

WORDS = words_type(Workload.CHUNKED)
NDJSON = "application/x-ndjson"


@pytest.fixture(autouse=True)
def unsent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    started: list[str] = []
    monkeypatch.setattr("celerity.jobs.services.creating.job_start_send", lambda *, job_id: started.append(job_id))
    return started


def ndjson(items: list[Any]) -> bytes:
    return b"".join(json.dumps(item).encode() + b"\n" for item in items)


def upload(client: Client, body: bytes, query: str = f"type={WORDS}", content_type: str = NDJSON) -> Any:
    return client.post(f"/api/jobs/upload?{query}", body, content_type=content_type)


def nothing_created() -> bool:
    return not Job.objects.exists() and not JobItemInput.objects.exists()


def test_an_upload_stores_every_line_in_order_in_batches(
    api_client: Client, unsent: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(uploading, "UPLOAD_BATCH", 7)  # several COPY batches and a partial last one
    items = [{"text": f"item number {i}"} for i in range(50)]
    body = ndjson(items[:20]) + b"\n  \n" + ndjson(items[20:])  # blank lines are not items
    response = upload(api_client, body, f"type={WORDS}&chunk_size=8")
    assert response.status_code == 202, response.content
    job = Job.objects.get(id=response.json()["id"])
    assert (job.items, job.chunk_size, job.has_inputs, job.job_type) == (50, 8, True, WORDS)
    stored = list(JobItemInput.objects.filter(job=job).order_by("index").values_list("index", "input"))
    assert stored == list(enumerate(items))
    assert unsent == [str(job.id)], "job_start is sent once, after the commit"


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (b'{"text": "ok"}\n{"text": "ok"}\n{"txt": "typo"}\n', "items.2", "'text' is a required property"),
        (b'{"text": "ok"}\n{"text": 5}\n', "items.1.text", "5 is not of type 'string'"),
        (b'{"text": "ok"}\n{"text": "cut off\n', "items.1", "not valid JSON"),
        (b"\n \n", "items", "the upload has no items"),
    ],
)
def test_a_bad_line_refuses_the_whole_upload(
    api_client: Client, monkeypatch: pytest.MonkeyPatch, body: bytes, field: str, words: str
) -> None:
    monkeypatch.setattr(uploading, "UPLOAD_BATCH", 1)  # the lines before the bad one were already copied
    response = upload(api_client, body)
    assert response.status_code == 422, response.content
    assert words in response.json()["fields"][field]
    assert nothing_created(), "the copied lines were rolled back with the job"


@override_settings(CELERITY_MAX_UPLOAD_ITEMS=5)
def test_more_items_than_the_maximum_are_refused(api_client: Client) -> None:
    response = upload(api_client, ndjson([{"text": "x"}] * 6))
    assert response.status_code == 422
    assert response.json()["fields"] == {"items": "at most 5 items per upload"}
    assert nothing_created()
    assert upload(api_client, ndjson([{"text": "x"}] * 5)).status_code == 202


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=100)
def test_a_line_longer_than_the_body_limit_is_refused(api_client: Client) -> None:
    response = upload(api_client, ndjson([{"text": "short"}, {"text": "x" * 200}]))
    assert response.status_code == 422
    assert response.json()["fields"] == {"items.1": "a line over 100 bytes"}
    assert nothing_created()


@pytest.mark.parametrize(
    ("query", "content_type", "status", "field"),
    [
        (f"type={WORDS}", "application/json", 415, "Content-Type"),
        ("type=no-such-type", NDJSON, 422, "type"),
        ("", NDJSON, 422, "type"),
        (f"type={WORDS}&queue=nowhere", NDJSON, 422, "queue"),
        (f"type={WORDS}&chunk_size=0", NDJSON, 422, "chunk_size"),
        (f"type={WORDS}&chunk_size=10001", NDJSON, 422, "chunk_size"),
    ],
)
def test_a_wrong_request_is_refused_before_reading_the_lines(
    api_client: Client, query: str, content_type: str, status: int, field: str
) -> None:
    response = upload(api_client, ndjson([{"text": "x"}]), query, content_type)
    assert response.status_code == status, response.content
    assert field in response.json()["fields"], response.json()
    assert nothing_created()


def test_an_upload_with_a_used_idempotency_key_returns_the_first_job(api_client: Client) -> None:
    body = ndjson([{"text": "x"}] * 3)
    headers = {"Idempotency-Key": "upload-1"}
    first = api_client.post(f"/api/jobs/upload?type={WORDS}", body, content_type=NDJSON, headers=headers)
    again = api_client.post(f"/api/jobs/upload?type={WORDS}", body, content_type=NDJSON, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    assert Job.objects.count() == 1
    assert JobItemInput.objects.count() == 3
