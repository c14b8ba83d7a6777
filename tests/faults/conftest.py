"""The fault suite's stack: its own Redis (AOF, fsync always) and Postgres, the platform's real processes on them,
an API client, and the database audit every case ends with."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.faults.platform import SETTINGS, Platform, rows, wait_for
from tests.faults.servers import Postgres, Redis

FINISHED = ["succeeded", "failed", "cancelled"]


@dataclass
class Stack:
    redis: Redis
    postgres: Postgres
    platform: Platform


@pytest.fixture(scope="session")
def fault_stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    """Started once for the suite; its directory (servers' data, every process's log) is kept when a test failed."""
    base = Path(tempfile.mkdtemp(prefix="celerity-faults-"))
    redis, postgres = Redis(base / "redis"), Postgres(base / "pg")
    redis.start()
    try:
        postgres.start()
        platform = Platform(redis.url, postgres.url, base / "logs")
        platform.logdir.mkdir()
        platform.migrate()
        platform.start()
        try:
            yield Stack(redis, postgres, platform)
        finally:
            platform.stop()
    finally:
        postgres.stop()
        redis.stop()
        if request.session.testsfailed:
            print(f"\nfault suite: logs kept in {base / 'logs'}")
        else:
            shutil.rmtree(base, ignore_errors=True)


class Api:
    def __init__(self, base: str) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {SETTINGS['CELERITY_API_TOKEN']}"

    def submit(self, **payload: Any) -> str:
        response = self.session.post(f"{self.base}/api/jobs", json=payload, timeout=30)
        assert response.status_code == 202, response.text
        return str(response.json()["id"])

    def cancel(self, job_id: str) -> requests.Response:
        return self.session.post(f"{self.base}/api/jobs/{job_id}/cancel", timeout=30)


@pytest.fixture
def api(fault_stack: Stack) -> Api:
    return Api(fault_stack.platform.api)


@pytest.fixture
def audit(fault_stack: Stack) -> Any:
    """Wait until the job is finished (read from Postgres, the source of truth), then return what it holds."""
    database = fault_stack.platform.database_url

    def finished(job_id: str, *, within: float = 180) -> dict[str, Any]:
        query = "SELECT status, result, error FROM jobs_job WHERE id = %s AND status = ANY(%s)"
        status, result, error = wait_for(
            lambda: next(iter(rows(database, query, [job_id, FINISHED])), None),
            within=within,
            what=f"job {job_id} to finish",
            every=0.25,
        )
        items = dict(
            rows(database, "SELECT writes, count(*) FROM jobs_item WHERE job_id = %s GROUP BY writes", [job_id])
        )
        return {"status": status, "result": result, "error": error, "writes": items}

    return finished


def squares(n: int) -> int:
    return (n - 1) * n * (2 * n - 1) // 6


def assert_exactly_once(job: dict[str, Any], items: int) -> None:
    """The job ended right, and every item was written exactly once."""
    assert (job["status"], job["error"]) == ("succeeded", ""), job
    assert job["result"] == {"sum": squares(items), "count": items}, job
    assert job["writes"] == {1: items}, f"writes per item -> items: {job['writes']}"


def progressed(stack: Stack, job_id: str, *, at_least: int = 1) -> None:
    """Wait until the job has recorded some items, so that the fault hits it mid-way."""
    query = "SELECT coalesce(sum(done + failed), 0) FROM jobs_jobchunk WHERE job_id = %s"

    def done() -> bool:
        return int(next(iter(rows(stack.platform.database_url, query, [job_id])))[0]) >= at_least

    wait_for(done, within=120, what=f"job {job_id} to make progress")


def job_row(stack: Stack, job_id: str) -> tuple[Any, ...] | None:
    query = "SELECT status, published_at FROM jobs_job WHERE id = %s"
    return next(iter(rows(stack.platform.database_url, query, [job_id])), None)
