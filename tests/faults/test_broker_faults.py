"""Redis restarts (SIGTERM, AOF reloaded) while jobs run and while they start, and Redis is down when a job is
submitted. Postgres is the source of truth: whatever the broker lost, the reconciler publishes again."""

from __future__ import annotations

from typing import Any

import pytest

from tests.faults.conftest import Api, Stack, assert_exactly_once, job_row, progressed
from tests.faults.platform import wait_for

pytestmark = [pytest.mark.workers, pytest.mark.slow]


@pytest.mark.parametrize(
    ("payload", "items"),
    [
        ({"workload": "chunked", "items": 1500, "chunk_size": 20, "item_cost_ms": 2}, 1500),
        ({"workload": "chord", "items": 400, "item_cost_ms": 5}, 400),
        ({"workload": "group", "items": 400, "chunk_size": 50, "item_cost_ms": 5}, 400),
    ],
    ids=["chunked", "chord", "group"],
)
def test_a_redis_restart_mid_job_loses_nothing(
    fault_stack: Stack, api: Api, audit: Any, payload: dict[str, Any], items: int
) -> None:
    job_id = api.submit(**payload)
    wait_for(lambda: (job_row(fault_stack, job_id) or ("pending",))[0] == "running", within=60, what="the start")
    if payload["workload"] != "chord":  # a chord records nothing until its whole header has run
        progressed(fault_stack, job_id)
    fault_stack.redis.restart(down=1.0)
    assert_exactly_once(audit(job_id), items)


def test_a_redis_restart_during_the_start_loses_nothing(fault_stack: Stack, api: Api, audit: Any) -> None:
    """The restart hits `job_start` as it publishes the job's 500 chunks (the job is `running` once its rows are
    committed, and the publishing follows)."""
    job_id = api.submit(workload="chunked", items=10_000, chunk_size=20)
    wait_for(
        lambda: (job_row(fault_stack, job_id) or ("pending",))[0] == "running", within=60, what="the start", every=0.01
    )
    fault_stack.redis.restart(down=1.0)
    assert_exactly_once(audit(job_id, within=240), 10_000)


def test_a_job_submitted_while_redis_is_down_is_started_when_it_is_back(
    fault_stack: Stack, api: Api, audit: Any
) -> None:
    fault_stack.redis.stop()
    try:
        job_id = api.submit(workload="chunked", items=200, chunk_size=20)  # accepted: Postgres has it
        assert job_row(fault_stack, job_id)[0] == "pending"  # type: ignore[index]
    finally:
        fault_stack.redis.start()
    assert_exactly_once(audit(job_id), 200)
