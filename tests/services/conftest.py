"""Fixtures for the services tests: an authenticated API client and a helper to wait for jobs."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client


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
