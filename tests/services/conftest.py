"""Fixtures for the services tests: an authenticated API client and a helper to wait for jobs."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
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
