"""A small client for the jobs API."""

from __future__ import annotations

from typing import Any

import requests


class ApiError(RuntimeError):
    pass


class JobsClient:
    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def submit(self, payload: dict[str, Any]) -> dict[str, Any]:
        response = self.session.post(f"{self.base_url}/api/jobs", json=payload, timeout=30)
        if response.status_code != 202:
            raise ApiError(f"POST /api/jobs {payload} -> {response.status_code}: {response.text[:300]}")
        return dict(response.json())

    def get(self, job_id: str) -> dict[str, Any]:
        response = self.session.get(f"{self.base_url}/api/jobs/{job_id}", timeout=30)
        if response.status_code != 200:
            raise ApiError(f"GET /api/jobs/{job_id} -> {response.status_code}: {response.text[:300]}")
        return dict(response.json())

    def ready(self) -> bool:
        try:
            return self.session.get(f"{self.base_url}/readyz", timeout=5).status_code == 200
        except requests.RequestException:
            return False
