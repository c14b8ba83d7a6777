"""Every malformed request gets a 4xx JSON error that names the field, and nothing is created."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client, override_settings

from celerity.jobs.models import Job

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"workload": "chunked", "items": "many"}, "items"),
        ({"workload": "chunked", "items": 0}, "items"),
        ({"workload": "chunked", "items": -5}, "items"),
        ({"workload": "chunked", "items": 10, "chunk_size": 0}, "chunk_size"),
        ({"workload": "chunked", "items": 10, "fail_rate": 1.5}, "fail_rate"),
        ({"workload": "chunked", "items": 10, "item_cost_ms": -1}, "item_cost_ms"),
        ({"workload": "chunked", "items": 10, "queue": "no spaces allowed"}, "queue"),
        ({"workload": "quantum", "items": 10}, "workload"),
        ({"workload": "chunked", "items": 10, "colour": "blue"}, "colour"),
        ({"items": 10}, "workload"),
        ({"workload": "chunked", "items": 10**12}, "items"),
        ({"workload": "chord", "items": 10_000_000}, "items"),
        ({"workload": "chain", "items": 100, "chunk_size": 5000}, "chunk_size"),
    ],
)
def test_invalid_fields_are_named_and_nothing_is_created(
    api_client: Client, payload: dict[str, Any], field: str
) -> None:
    response = api_client.post("/api/jobs", payload, content_type="application/json")
    assert response.status_code == 422, response.content
    body = response.json()
    assert field in body["fields"], body
    assert body["error"] == "invalid_request"
    assert Job.objects.count() == 0


def test_invalid_json_is_a_400_not_a_500(api_client: Client) -> None:
    response = api_client.post("/api/jobs", "{not json", content_type="application/json")
    assert 400 <= response.status_code < 500
    assert "body" in response.json()["fields"]
    assert Job.objects.count() == 0


def test_a_json_array_is_refused(api_client: Client) -> None:
    response = api_client.post("/api/jobs", "[1, 2]", content_type="application/json")
    assert 400 <= response.status_code < 500
    assert Job.objects.count() == 0


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_an_oversized_body_is_a_413(api_client: Client) -> None:
    body = json.dumps({"workload": "chunked", "items": 10, "queue": "q", "padding": "x" * 4096})
    response = api_client.post("/api/jobs", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["fields"] == {"body": "too large"}
    assert Job.objects.count() == 0


@override_settings(CELERITY_MAX_ITEMS=1000)
def test_the_configured_maximum_applies(api_client: Client) -> None:
    response = api_client.post("/api/jobs", {"workload": "chunked", "items": 1001}, content_type="application/json")
    assert response.status_code == 422
    assert "at most 1000" in response.json()["fields"]["items"]


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", "Basic dXNlcjpwYXNz", "Bearer "])
def test_a_missing_or_wrong_token_is_a_401(header: str | None) -> None:
    client = Client(headers={"Authorization": header} if header else {})
    response = client.post("/api/jobs", {"workload": "chunked", "items": 10}, content_type="application/json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert Job.objects.count() == 0
    assert client.get("/api/jobs").status_code == 401


def test_the_schema_and_docs_need_no_token() -> None:
    client = Client()
    schema = client.get("/api/openapi.json")
    assert schema.status_code == 200
    assert "/api/jobs" in schema.json()["paths"]
    assert client.get("/api/docs").status_code == 200


def test_unknown_and_malformed_job_ids(api_client: Client) -> None:
    missing = api_client.get("/api/jobs/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert missing.json()["fields"] == {"id": "not found"}
    assert api_client.get("/api/jobs/not-a-uuid").status_code in (404, 422)
    assert api_client.post("/api/jobs/00000000-0000-0000-0000-000000000000/cancel").status_code == 404
    assert api_client.get("/api/jobs?limit=0").status_code == 422
