"""Fixtures for the services tests: an authenticated API client and a helper to wait for jobs."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from django.test import Client

from devstack import processes
from devstack.servers import free_port


@pytest.fixture
def api_client() -> Client:
    return Client(headers={"Authorization": f"Bearer {os.environ['CELERITY_API_TOKEN']}"})


@pytest.fixture
def wait_for_job(api_client: Client) -> Callable[..., dict[str, Any]]:
    finished = ("succeeded", "failed", "cancelled")

    def wait(job_id: str, *, timeout: float = 60, until: tuple[str, ...] = finished) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body: dict[str, Any] = api_client.get(f"/api/jobs/{job_id}").json()
            if body["status"] in until:
                return body
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} did not reach {until} in {timeout}s: {body}")

    return wait


@pytest.fixture
def drained(redis_url: str) -> Iterator[None]:
    """After the test, wait until the workers hold no more of its messages, so that the database flush between tests
    never races a worker still writing (TRUNCATE against a worker's transaction can deadlock)."""
    yield
    import redis

    client = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not any(client.llen(q) for q in ("default", "bulk")) and not client.hlen("unacked"):
            return
        time.sleep(0.1)
    raise AssertionError("the workers did not drain the test's messages within 60 s")


@dataclass
class Gunicorn:
    url: str
    pid: int  # the master's


@contextlib.contextmanager
def gunicorn_serving(stack_env: dict[str, str], directory: Path, *, workers: int = 3) -> Iterator[Gunicorn]:
    """gunicorn as the chart runs it, on a free port, until the block ends; its log and metrics in `directory`."""
    port = free_port()
    multiproc = directory / "web-metrics"
    multiproc.mkdir(parents=True, exist_ok=True)
    env = {
        **stack_env,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "WEB_CONCURRENCY": str(workers),
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
    }
    group = processes.ProcessGroup()
    master = group.start("web", processes.web_argv(), env, log=directory / "web.log")
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


@pytest.fixture(scope="module")
def gunicorn(  # shared by the web-metrics and the upload-memory tests: gunicorn as the chart runs it, 3 workers
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gunicorn]:
    with gunicorn_serving(stack_env, tmp_path_factory.mktemp("web")) as web:
        yield web
