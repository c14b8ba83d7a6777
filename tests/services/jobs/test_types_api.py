"""`GET /api/types`: every registered job type with the defaults a request without them gets, read from the same
functions the submit uses; and the job list filtered by type."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client, override_settings

from celerity.jobs import services
from celerity.jobs.models import Workload
from celerity.jobs.registry import job_type_names
from tests.services.jobs.testtypes import TEXT_SCHEMA, words_type

WORDS = words_type(Workload.CHORD)


@pytest.fixture
def unsent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("celerity.jobs.services.creating.job_start_send", lambda *, job_id: None)


def types(client: Client) -> dict[str, dict[str, Any]]:
    response = client.get("/api/types")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == len(body["items"])
    return {entry["name"]: entry for entry in body["items"]}


def test_every_registered_type_is_listed_by_name(api_client: Client) -> None:
    response = api_client.get("/api/types")
    assert [entry["name"] for entry in response.json()["items"]] == job_type_names()


@pytest.mark.django_db
def test_a_type_says_what_a_job_of_it_gets_by_default(api_client: Client, unsent: None) -> None:
    listed = types(api_client)
    words, nap, squares = listed[WORDS], listed["test-nap"], listed["chunked"]
    assert (words["canvas"], words["queue"], words["reduce"], words["schema"]) == (
        "chord",
        "default",
        True,
        TEXT_SCHEMA,
    )
    assert (words["chunk_size"], words["max_chunk_size"], words["max_items"]) == (3, 1000, 20_000)
    assert (nap["queue"], nap["time_limit"], nap["schema"]) == ("default", 0.5, None)  # its own queue, not bulk
    assert (squares["queue"], squares["chunk_size"], squares["reduce"]) == ("bulk", 100, False)
    # The defaults are what a submit without them gets.
    job = services.job_create(request=services.JobRequest(job_type=WORDS, items=[{"text": "a"}]))
    assert job.chunk_size == words["chunk_size"]


@override_settings(CELERITY_JOB_TYPE_QUEUES={"chunked": "default"}, CELERITY_MAX_ITEMS=500)
def test_the_configured_queue_and_item_maximum_are_shown(api_client: Client) -> None:
    squares = types(api_client)["chunked"]
    assert (squares["queue"], squares["max_items"]) == ("default", 500)


def test_the_types_need_a_token() -> None:
    response = Client().get("/api/types")
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


@pytest.mark.django_db
def test_jobs_are_listed_by_type(api_client: Client, unsent: None) -> None:
    def submit(payload: dict[str, Any]) -> str:
        response = api_client.post("/api/jobs", json.dumps(payload), content_type="application/json")
        assert response.status_code == 202, response.content
        return str(response.json()["id"])

    words = [submit({"type": WORDS, "items": [{"text": "a"}]}) for _ in range(3)]
    submit({"workload": "chunked", "items": 5})
    first = api_client.get(f"/api/jobs?type={WORDS}&limit=2").json()
    assert (first["count"], [job["type"] for job in first["items"]]) == (3, [WORDS, WORDS])
    assert first["next"] == f"/api/jobs?limit=2&offset=2&type={WORDS}"
    rest = api_client.get(first["next"]).json()
    assert [job["id"] for job in first["items"] + rest["items"]] == words[::-1]
    assert api_client.get("/api/jobs?type=no-such-type").json()["count"] == 0
    bad = api_client.get("/api/jobs?type=Not%20A%20Name")
    assert (bad.status_code, list(bad.json()["fields"])) == (422, ["type"])
