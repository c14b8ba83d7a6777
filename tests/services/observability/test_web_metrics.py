"""Web metrics are exact across gunicorn's workers, and /readyz tells the truth about its dependencies."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import psutil
import pytest
import requests
from django.test import Client, override_settings

from devstack import processes
from devstack.servers import free_port
from tests.services.observability.scraping import scrape, value


@dataclass
class Gunicorn:
    url: str
    pid: int  # the master's


@pytest.fixture(scope="module")
def gunicorn(stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gunicorn]:
    port = free_port()
    multiproc = tmp_path_factory.mktemp("web-metrics")
    env = {
        **stack_env,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "WEB_CONCURRENCY": "3",
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
    }
    group = processes.ProcessGroup()
    master = group.start("web", processes.web_argv(), env, log=multiproc.parent / "web.log")
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    # Readiness is polled on /metrics, never /healthz: a poll that timed out on a loaded machine is still served
    # later, and a late /healthz would land inside a test's exact before/after count.
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/metrics", timeout=10).status_code == 200:
                break
        except requests.RequestException:  # not listening yet, or still loading Django
            time.sleep(0.2)
    try:
        yield Gunicorn(url, master.process.pid)
    finally:
        group.stop(grace=10)


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
