"""Every malformed request gets a 4xx JSON error that names the field, nothing is created, and nothing is a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client, override_settings

from celerity.jobs.models import Job

pytestmark = pytest.mark.django_db

NAN = float("nan")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        # wrong types: nothing is coerced
        ({"workload": "chunked", "items": "many"}, "items"),
        ({"workload": "chunked", "items": "10"}, "items"),
        ({"workload": "chunked", "items": True}, "items"),
        ({"workload": "chunked", "items": 10.5}, "items"),
        ({"workload": "chunked", "items": 10.0}, "items"),
        ({"workload": "chunked", "items": None}, "items"),
        ({"workload": "chunked", "items": []}, "items"),
        ({"workload": "chunked", "items": {"n": 10}}, "items"),
        ({"items": 10}, "body"),
        ({"workload": "chunked", "type": "chunked", "items": 10}, "body"),
        ({"type": "no-such-type", "items": 10}, "type"),
        ({"type": "Bad Name", "items": 10}, "type"),
        ({"workload": ["chunked"], "items": 10}, "workload"),
        ({"workload": "chunked", "items": 10, "chunk_size": "5"}, "chunk_size"),
        ({"workload": "chunked", "items": 10, "fail_rate": "0.5"}, "fail_rate"),
        ({"workload": "chunked", "items": 10, "queue": 7}, "queue"),
        # out of range
        ({"workload": "chunked", "items": 0}, "items"),
        ({"workload": "chunked", "items": -5}, "items"),
        ({"workload": "chunked", "items": 10, "chunk_size": 0}, "chunk_size"),
        ({"workload": "chunked", "items": 10, "chunk_size": 10_001}, "chunk_size"),
        ({"workload": "chunked", "items": 10, "fail_rate": 1.5}, "fail_rate"),
        ({"workload": "chunked", "items": 10, "fail_rate": -0.1}, "fail_rate"),
        ({"workload": "chunked", "items": 10, "fail_rate": NAN}, "fail_rate"),
        ({"workload": "chunked", "items": 10, "item_cost_ms": -1}, "item_cost_ms"),
        ({"workload": "chunked", "items": 10, "item_cost_ms": 60_001}, "item_cost_ms"),
        # a task that could not finish inside its time limit
        ({"workload": "chunked", "items": 10_000, "chunk_size": 10_000, "item_cost_ms": 1000}, "chunk_size"),
        ({"workload": "map", "items": 10_000, "item_cost_ms": 60_000}, "item_cost_ms"),
        # unknown names
        ({"workload": "quantum", "items": 10}, "workload"),
        ({"workload": "CHUNKED", "items": 10}, "workload"),
        ({"workload": "chunked", "items": 10, "colour": "blue"}, "colour"),
        ({"workload": "chunked", "items": 10, "queue": "no spaces allowed"}, "queue"),
        ({"workload": "chunked", "items": 10, "queue": "nobody-consumes-this"}, "queue"),
        ({"workload": "chunked", "items": 10, "queue": ""}, "queue"),
        ({"workload": "chunked"}, "items"),
        # absurd sizes, and each workload's own ceiling
        ({"workload": "chunked", "items": 10**12}, "items"),
        ({"workload": "chunked", "items": 10**100}, "items"),
        ({"workload": "chunked", "items": 1_000_001}, "items"),
        ({"workload": "chord", "items": 20_001}, "items"),
        ({"workload": "group", "items": 50_001}, "items"),
        ({"workload": "chain", "items": 5_001}, "items"),
        ({"workload": "chain", "items": 100, "chunk_size": 101}, "chunk_size"),
        ({"workload": "group", "items": 100, "chunk_size": 1_001}, "chunk_size"),
    ],
)
def test_invalid_fields_are_named_and_nothing_is_created(
    api_client: Client, payload: dict[str, Any], field: str
) -> None:
    response = api_client.post("/api/jobs", json.dumps(payload), content_type="application/json")
    assert response.status_code == 422, response.content
    body = response.json()
    assert field in body["fields"], body
    assert body["error"] == "invalid_request"
    assert Job.objects.count() == 0


@pytest.mark.parametrize("raw", ["{not json", "{'workload': 'chunked'}", '{"workload": "chunked", "items": 1', "\xff"])
def test_invalid_json_is_a_400_naming_the_body(api_client: Client, raw: str) -> None:
    response = api_client.post("/api/jobs", raw, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["fields"] == {"body": "not valid JSON"}
    assert Job.objects.count() == 0


@pytest.mark.parametrize("raw", ["", "[1, 2]", "null", "42", '"chunked"'])
def test_a_body_that_is_not_an_object_is_refused(api_client: Client, raw: str) -> None:
    response = api_client.post("/api/jobs", raw, content_type="application/json")
    assert response.status_code == 422, response.content
    assert "body" in response.json()["fields"], response.json()
    assert Job.objects.count() == 0


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_an_oversized_body_is_a_413(api_client: Client) -> None:
    body = json.dumps({"workload": "chunked", "items": 10, "queue": "bulk", "padding": "x" * 4096})
    response = api_client.post("/api/jobs", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["fields"] == {"body": "too large"}
    assert Job.objects.count() == 0


@override_settings(CELERITY_MAX_ITEMS=1000)
def test_the_configured_maximum_applies(api_client: Client) -> None:
    response = api_client.post("/api/jobs", {"workload": "chunked", "items": 1001}, content_type="application/json")
    assert response.status_code == 422
    assert "1..1000" in response.json()["fields"]["items"]


@override_settings(CELERITY_QUEUES=["default", "bulk", "reports"])
def test_a_configured_queue_is_accepted(api_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("celerity.jobs.services.creating.job_start_send", lambda *, job_id: None)
    payload = {"workload": "chunked", "items": 10, "queue": "reports"}
    response = api_client.post("/api/jobs", payload, content_type="application/json")
    assert response.status_code == 202, response.content
    assert Job.objects.get().queue == "reports"


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", "Basic dXNlcjpwYXNz", "Bearer ", "test-token"])
def test_a_missing_or_wrong_token_is_a_401(header: str | None) -> None:
    client = Client(headers={"Authorization": header} if header else {})
    response = client.post("/api/jobs", {"workload": "chunked", "items": 10}, content_type="application/json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"] == "unauthorized"
    assert Job.objects.count() == 0
    for path in ("/api/jobs", "/api/jobs/00000000-0000-0000-0000-000000000000"):
        assert client.get(path).status_code == 401
    assert client.post("/api/jobs/00000000-0000-0000-0000-000000000000/cancel").status_code == 401


def test_the_token_is_checked_before_the_body() -> None:
    """An unauthenticated client learns nothing about the request schema."""
    response = Client().post("/api/jobs", "{not json", content_type="application/json")
    assert response.status_code == 401


def test_the_schema_and_docs_need_no_token() -> None:
    client = Client()
    schema = client.get("/api/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/jobs", "/api/jobs/{job_id}", "/api/jobs/{job_id}/cancel"} <= set(paths)
    assert schema.json()["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert b"openapi.json" in docs.content


def test_the_docs_static_files_are_served() -> None:
    """The docs page's JavaScript and CSS come from ninja's static files (whitenoise serves them under gunicorn)."""
    import re

    client = Client()
    html = client.get("/api/docs").content.decode()
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert assets, html
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        response.close()


def test_unknown_and_malformed_job_ids(api_client: Client) -> None:
    missing = api_client.get("/api/jobs/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert missing.json()["fields"] == {"id": "not found"}
    malformed = api_client.get("/api/jobs/not-a-uuid")
    assert malformed.status_code in (404, 422)
    cancel_missing = api_client.post("/api/jobs/00000000-0000-0000-0000-000000000000/cancel")
    assert cancel_missing.status_code == 404
    assert cancel_missing.json()["error"] == "not_found"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=x", "limit"),
        ("offset=-1", "offset"),
        ("status=finished", "status"),
    ],
)
def test_bad_list_parameters_are_named(api_client: Client, query: str, field: str) -> None:
    response = api_client.get(f"/api/jobs?{query}")
    assert response.status_code == 422
    assert field in response.json()["fields"]
