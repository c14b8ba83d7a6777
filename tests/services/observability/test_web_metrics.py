"""Web metrics are exact across gunicorn's workers, and /readyz tells the truth about its dependencies."""

from __future__ import annotations

import time

import psutil
import pytest
import requests
from django.test import Client, override_settings

from devstack.servers import free_port
from tests.services.conftest import Gunicorn
from tests.services.observability.scraping import scrape, value


def _healthz_count(url: str) -> float:
    return value(scrape(f"{url}/metrics"), "celerity_http_requests_total", route="healthz", status="200")


@pytest.mark.django_db
def test_requests_are_counted_exactly_across_gunicorn_workers(gunicorn: Gunicorn) -> None:
    url = gunicorn.url
    before = scrape(f"{url}/metrics")
    for _ in range(40):
        requests.get(f"{url}/healthz", timeout=5)  # a new connection each: spread over the workers
    after = scrape(f"{url}/metrics")
    labels = {"route": "healthz", "status": "200"}
    assert (
        value(after, "celerity_http_requests_total", **labels) - value(before, "celerity_http_requests_total", **labels)
        == 40
    )
    assert (
        value(after, "celerity_http_request_duration_seconds_count", **labels)
        - value(before, "celerity_http_request_duration_seconds_count", **labels)
        == 40
    )
    assert value(after, "celerity_http_requests_total", route="metrics") >= 1  # scrapes count too, by route


@pytest.mark.django_db
def test_a_gunicorn_worker_that_dies_keeps_its_counts(gunicorn: Gunicorn) -> None:
    url = gunicorn.url
    for _ in range(30):
        requests.get(f"{url}/healthz", timeout=5)
    counted = _healthz_count(url)
    workers = psutil.Process(gunicorn.pid).children()
    assert len(workers) == 3
    workers[0].kill()  # as the OOM killer would; gunicorn's child_exit marks it dead and starts another
    workers[0].wait(10)
    deadline = time.monotonic() + 20
    while len(psutil.Process(gunicorn.pid).children()) < 3:
        assert time.monotonic() < deadline, "gunicorn did not replace its worker"
        time.sleep(0.1)
    assert _healthz_count(url) == counted  # a dead worker's counters stay in the sum


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
