"""Postgres restarts (`pg_ctl restart -m fast`: every session terminated, 57P01, then refused while it starts) while
jobs record and while they start: transient errors are retried, and no job fails or hangs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.faults.conftest import Api, Stack, assert_exactly_once, progressed
from tests.faults.platform import rows, wait_for

pytestmark = [pytest.mark.workers, pytest.mark.slow]


def test_a_postgres_restart_while_jobs_record_fails_nothing(fault_stack: Stack, api: Api, audit: Any) -> None:
    chunked = api.submit(workload="chunked", items=2000, chunk_size=20, item_cost_ms=5)
    group = api.submit(workload="group", items=400, chunk_size=50, item_cost_ms=5)
    progressed(fault_stack, chunked)
    fault_stack.postgres.restart()
    assert_exactly_once(audit(chunked), 2000)
    assert_exactly_once(audit(group), 400)


def test_a_postgres_restart_during_the_start_fails_nothing(fault_stack: Stack, api: Api, audit: Any) -> None:
    """The restart hits `job_start` while it creates the chunk rows or publishes the 1,000 chunks (it reads the job's
    status before every canvas): the start is retried whole, and nothing is created or recorded twice."""
    items = 50_000
    job_id = api.submit(workload="chunked", items=items, chunk_size=50)
    starting = "SELECT 1 FROM jobs_job WHERE id = %s AND (status = 'pending' OR published_at IS NULL)"
    wait_for(lambda: list(rows(fault_stack.platform.database_url, starting, [job_id])), within=60, what="the start")
    fault_stack.postgres.restart()
    assert_exactly_once(audit(job_id, within=240), items)
