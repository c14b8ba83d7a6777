"""Web metrics are exact across gunicorn's workers, and /readyz tells the truth about its dependencies."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests
from django.test import Client, override_settings

from devstack import processes
from devstack.servers import free_port
from tests.services.observability.scraping import scrape, value


@pytest.fixture
def gunicorn(stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    multiproc = tmp_path_factory.mktemp("web-metrics")
    env = {**stack_env, "PORT": str(port), "HOST": "127.0.0.1", "WEB_CONCURRENCY": "3",
           "PROMETHEUS_MULTIPROC_DIR": str(multiproc)}  # fmt: skip
    group = processes.ProcessGroup()
    group.start("web", processes.web_argv(), env, log=multiproc.parent / "web.log")
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            time.sleep(0.2)
    try:
        yield url
    finally:
        group.stop(grace=10)


@pytest.mark.django_db
def test_requests_are_counted_exactly_across_gunicorn_workers(gunicorn: str) -> None:
    before = value(scrape(f"{gunicorn}/metrics"), "celerity_http_requests_total", route="healthz", status="200")
    session = requests.Session()
    for _ in range(40):
        requests.get(f"{gunicorn}/healthz", timeout=5)  # new connections spread over the workers
    session.close()
    after = scrape(f"{gunicorn}/metrics")
    assert value(after, "celerity_http_requests_total", route="healthz", status="200") - before == 40
    assert value(after, "celerity_http_request_duration_seconds_count", route="healthz") >= 40


@pytest.mark.django_db
def test_readyz_answers_200_when_postgres_and_redis_answer() -> None:
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": True, "broker": True}


@pytest.mark.django_db
@override_settings(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
def test_readyz_answers_503_when_the_broker_is_down() -> None:
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] is False
