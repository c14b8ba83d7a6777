"""A small client for the jobs API (docs/api.md): submit, read, list."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import requests


class ApiError(RuntimeError):
    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class JobsClient:
    def __init__(self, base_url: str, token: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def submit(self, payload: dict[str, Any]) -> tuple[dict[str, Any], float]:
        """The 202 answer and how long the POST took (the API's submit latency, seen by the client)."""
        started = time.perf_counter()
        try:
            response = self.session.post(f"{self.base_url}/api/jobs", json=payload, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ApiError(f"POST /api/jobs {payload}: {exc}") from exc
        seconds = time.perf_counter() - started
        if response.status_code != 202:
            raise ApiError(
                f"POST /api/jobs {payload} -> {response.status_code}: {response.text[:300]}", response.status_code
            )
        return dict(response.json()), seconds

    def get(self, job_id: str, *, wait: float | None = None) -> dict[str, Any]:
        """The job; with `wait`, asks the API to answer once the job ends or `wait` seconds have passed (an API that
        does not know `wait` answers at once)."""
        params = {"wait": f"{wait:g}"} if wait else None
        try:
            response = self.session.get(
                f"{self.base_url}/api/jobs/{job_id}", params=params, timeout=self.timeout + (wait or 0)
            )
        except requests.RequestException as exc:
            raise ApiError(f"GET /api/jobs/{job_id}: {exc}") from exc
        if response.status_code != 200:
            raise ApiError(
                f"GET /api/jobs/{job_id} -> {response.status_code}: {response.text[:300]}", response.status_code
            )
        return dict(response.json())

    def cancel(self, job_id: str) -> None:
        with contextlib.suppress(requests.RequestException):  # best effort: it may have finished meanwhile
            self.session.post(f"{self.base_url}/api/jobs/{job_id}/cancel", timeout=self.timeout)

    def ready(self) -> bool:
        try:
            return self.session.get(f"{self.base_url}/readyz", timeout=5).status_code == 200
        except requests.RequestException:
            return False
