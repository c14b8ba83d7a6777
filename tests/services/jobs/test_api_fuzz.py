"""The API fuzzed from its own OpenAPI document (schemathesis): whatever a client sends, within the schema or not,
the answer is never a 5xx, and every error is JSON in the documented shape ({"error", "message", "fields"})."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from config.wsgi import application

pytestmark = pytest.mark.django_db(transaction=True)
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx: schemathesis.SerializationContext, value: Any) -> bytes:
    """The upload's body (POST /api/jobs/upload, a string in the schema): sent as the lines it stands for."""
    return value.encode() if isinstance(value, str) else json.dumps(value).encode()


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_input_makes_the_api_fail_or_answer_outside_its_error_shape(
    case: schemathesis.Case, sent: dict[str, list[Any]]
) -> None:
    # `sent` keeps the accepted jobs off the broker: only the API is under test here.
    response = case.call(headers={"Authorization": f"Bearer {os.environ['CELERITY_API_TOKEN']}"})
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text}"
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error", "message", "fields"}, body
        assert isinstance(body["error"], str)
        assert isinstance(body["message"], str)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in body["fields"].items()), body
