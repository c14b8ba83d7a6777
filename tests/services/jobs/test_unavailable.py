"""The API when Postgres or the broker is away or busy: a JSON 503 in the documented shape, never a 500 or a
request held open, and a job accepted while the broker is down is not lost."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from django.db import connection
from django.test import Client
from kombu.exceptions import OperationalError as KombuOperationalError

from celerity.jobs import selectors, services
from celerity.jobs.models import Item, ItemState, Job, JobStatus, Workload

pytestmark = pytest.mark.django_db(transaction=True)


def assert_error_shape(body: dict[str, Any], error: str) -> None:
    assert set(body) == {"error", "message", "fields"}
    assert body["error"] == error
    assert isinstance(body["message"], str)
    assert isinstance(body["fields"], dict)


def test_a_request_that_waits_on_a_lock_past_the_lock_timeout_answers_503(
    api_client: Client, sent: dict[str, list[Any]]
) -> None:
    job = services.job_create(request=services.JobRequest(job_type=Workload.CHUNKED, items=10))
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '200ms'")  # what CELERITY_WEB gives the web process
    params = connection.get_connection_params()
    with psycopg.connect(**params) as holder:  # a long transaction holds the job row
        holder.execute(f"SELECT 1 FROM {Job._meta.db_table} WHERE id = %s FOR UPDATE", [job.id])  # noqa: S608 - model table
        response = api_client.post(f"/api/jobs/{job.id}/cancel")
    assert response.status_code == 503
    assert response["Retry-After"]
    assert_error_shape(response.json(), "unavailable")
    assert response.json()["fields"] == {"database": "unavailable"}
    assert Job.objects.get(id=job.id).status == JobStatus.PENDING


def test_a_job_submitted_while_the_broker_is_down_is_accepted_and_left_to_the_reconciler(
    api_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(*args: Any, **kwargs: Any) -> None:
        raise KombuOperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr("celerity.jobs.services.creating.current_app.send_task", refused)
    response = api_client.post("/api/jobs", {"workload": "chunked", "items": 10}, content_type="application/json")
    assert response.status_code == 202, response.content
    assert Job.objects.get(id=response.json()["id"]).status == JobStatus.PENDING


def test_a_retry_while_the_broker_is_down_is_accepted_and_left_to_the_reconciler(
    api_client: Client, started_job: Callable[..., Job], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The retry's change is committed before its publish: a broker away then must not answer 503 (a client retrying
    it would get 409, the job being running already), and the job stays running with its failed items pending."""
    job = started_job(Workload.CHUNKED, items=10, chunk_size=10)
    services.job_chunk_run(
        job_id=str(job.id),
        job_type="chunked",
        chunk_index=0,
        start=0,
        stop=10,
        has_inputs=False,
        options={"fail_rate": 1.0},
    )
    assert Job.objects.get(id=job.id).status == JobStatus.FAILED

    def refused(*args: Any, **kwargs: Any) -> None:
        raise KombuOperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr("celerity.jobs.services.publishing.job_publish", refused)
    response = api_client.post(f"/api/jobs/{job.id}/retry")
    assert response.status_code == 202, response.content
    assert Job.objects.get(id=job.id).status == JobStatus.RUNNING
    assert set(Item.objects.filter(job_id=job.id).values_list("state", flat=True)) == {ItemState.PENDING}
    assert selectors.job_open_chunks(job_id=job.id) == [0], "the reconciler finds the chunk open"


def test_a_broker_error_in_a_request_answers_503(api_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(**kwargs: Any) -> None:
        raise KombuOperationalError("Connection refused")

    monkeypatch.setattr("celerity.jobs.api.services.job_create", refused)
    response = api_client.post("/api/jobs", {"workload": "chunked", "items": 10}, content_type="application/json")
    assert response.status_code == 503
    assert_error_shape(response.json(), "unavailable")
    assert response.json()["fields"] == {"broker": "unavailable"}


def test_a_bug_is_still_a_json_error(api_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("celerity.jobs.api.selectors.job_list", broken)
    response = api_client.get("/api/jobs")
    assert response.status_code == 500
    assert_error_shape(response.json(), "internal")
    assert "a bug" not in response.content.decode(), "no internals leak to the client"


def test_only_the_web_process_gets_statement_and_lock_timeouts() -> None:
    import os
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    def options(**env: str) -> str:
        code = "from django.conf import settings; print(settings.DATABASES['default'].get('OPTIONS', {}))"
        environ = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", **env}
        environ.pop("CELERITY_WEB", None)
        environ.update(env)
        run = subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); {code}"],
            env=environ,
            cwd=REPO_ROOT / "services",
            capture_output=True,
            text=True,
            check=True,
        )
        return run.stdout

    web = options(CELERITY_WEB="1", CELERITY_WEB_STATEMENT_TIMEOUT_MS="4000")
    assert "statement_timeout=4000" in web
    assert "lock_timeout=2000" in web
    assert "statement_timeout" not in options()
