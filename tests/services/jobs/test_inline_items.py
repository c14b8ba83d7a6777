"""Inline items: each is checked against its job type's schema before anything is created; the first offence is a
422 naming the item's index and field. Stored inputs, idempotent submits and the items page, without workers."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from django.db import connections
from django.test import Client, override_settings

from celerity.jobs import services
from celerity.jobs.models import Job, JobItemInput, Workload
from celerity.jobs.registry import JobType, job_type, job_type_get, job_type_unregister
from tests.services.jobs.testtypes import words_type

WORDS = words_type(Workload.CHUNKED)


@pytest.fixture
def unsent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("celerity.jobs.services.creating.job_start_send", lambda *, job_id: None)


def post(client: Client, payload: dict[str, Any], **headers: str) -> Any:
    return client.post("/api/jobs", json.dumps(payload), content_type="application/json", headers=headers)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("items", "field", "words"),
    [
        ([{"text": "ok"}, {"txt": "typo"}], "items.1", "'text' is a required property"),
        ([{"text": "ok"}, {"text": "ok"}, {"text": 7}], "items.2.text", "7 is not of type 'string'"),
        ([{"text": "ok"}, "just a string"], "items.1", "is not of type 'object'"),
        ([{"text": "ok", "fail": "yes"}], "items.0.fail", "'yes' is not of type 'boolean'"),
    ],
)
def test_an_item_that_fails_the_schema_is_named_and_nothing_is_created(
    api_client: Client, unsent: None, items: list[Any], field: str, words: str
) -> None:
    response = post(api_client, {"type": WORDS, "items": items})
    assert response.status_code == 422, response.content
    body = response.json()
    assert list(body["fields"]) == [field]
    assert words in body["fields"][field]
    assert not Job.objects.exists()
    assert not JobItemInput.objects.exists()


@pytest.mark.django_db
@override_settings(CELERITY_MAX_INLINE_ITEMS=3)
def test_more_inline_items_than_the_maximum_are_refused(api_client: Client, unsent: None) -> None:
    response = post(api_client, {"type": WORDS, "items": [{"text": "a"}] * 4})
    assert response.status_code == 422
    assert response.json()["fields"] == {"items": "at most 3 inline items"}
    assert post(api_client, {"type": WORDS, "items": [{"text": "a"}] * 3}).status_code == 202


@pytest.mark.django_db
def test_inline_items_are_stored_in_order_and_generated_ones_are_not(api_client: Client, unsent: None) -> None:
    inputs = [{"text": f"item {i}"} for i in range(25)]
    accepted = post(api_client, {"type": WORDS, "items": inputs})
    assert accepted.status_code == 202, accepted.content
    job = Job.objects.get(id=accepted.json()["id"])
    assert (job.items, job.has_inputs, job.job_type, job.workload) == (25, True, WORDS, "chunked")
    stored = list(JobItemInput.objects.filter(job=job).order_by("index").values_list("index", "input"))
    assert stored == list(enumerate(inputs))
    squares = post(api_client, {"workload": "chunked", "items": 1000}).json()
    assert not JobItemInput.objects.filter(job_id=squares["id"]).exists(), "the demo's items are generated"
    assert api_client.get(f"/api/jobs/{squares['id']}").json()["type"] == "chunked"


@pytest.mark.django_db
def test_an_idempotency_key_longer_than_the_column_is_refused(api_client: Client, unsent: None) -> None:
    response = post(api_client, {"workload": "map", "items": 1}, **{"Idempotency-Key": "k" * 129})
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["fields"]
    assert not Job.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_submits_with_one_key_create_one_job(unsent: None) -> None:
    """Eight clients retry the same submit at once: the unique key lets one insert win, the rest return its job."""
    ids: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def submit() -> None:
        try:
            start.wait(timeout=30)
            request = services.JobRequest(job_type="map", items=3, idempotency_key="same-key")
            ids.append(str(services.job_create(request=request).id))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert len(ids) == 8
    assert len(set(ids)) == 1
    assert Job.objects.filter(idempotency_key="same-key").count() == 1


def test_a_name_is_registered_once() -> None:
    def other(item: Any) -> Any:
        return item

    with pytest.raises(ValueError, match="already registered"):
        job_type(WORDS)(other)
    assert job_type_get(WORDS).function is not other


def test_a_broken_schema_fails_at_registration() -> None:
    from jsonschema.exceptions import SchemaError

    try:
        with pytest.raises(SchemaError):
            job_type("test-broken-schema", schema={"type": "no-such-type"})(lambda item: item)
        with pytest.raises(ValueError, match="must match"):
            job_type("Not A Name")(lambda item: item)
    finally:
        job_type_unregister("test-broken-schema")


def test_a_function_taking_context_gets_it() -> None:
    definition = job_type_get("chunked")
    assert isinstance(definition, JobType)
    assert definition.takes_context
    assert not job_type_get(WORDS).takes_context
