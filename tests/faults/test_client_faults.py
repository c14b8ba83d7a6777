"""The Python client through a database outage: Postgres stopped, the API answers 503 with `Retry-After`, the client
waits what it was told and asks again with the same idempotency key, and once Postgres is back the submit succeeds,
with one job that runs exactly once. (With the broker down the API answers 202 by design: the reconciler starts the
job later; docs/reliability.md.)"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from celerity_client import Celerity, Retrying, RetryPolicy, Submission, Unavailable
from tests.faults.conftest import Stack, assert_exactly_once
from tests.faults.platform import SETTINGS, rows

pytestmark = [pytest.mark.workers, pytest.mark.slow]


def test_submits_while_postgres_is_down_are_retried_to_one_job_each(fault_stack: Stack, audit: Any) -> None:
    """Inline (a count) and streamed from a generator (its spool sent again from the start), in one outage: Postgres
    comes back once both have been told 503, during the wait the API asked for."""
    heard: dict[str, list[Retrying]] = {"inline": [], "streamed": []}
    down = [True]

    def resume() -> None:
        fault_stack.postgres.resume()
        down[0] = False

    both_refused = threading.Barrier(2, action=resume, timeout=60)

    def submit(kind: str, items: Any) -> Submission:
        def retrying(retry: Retrying) -> None:
            heard[kind].append(retry)
            if len(heard[kind]) == 1:
                both_refused.wait()

        with Celerity(fault_stack.platform.api, SETTINGS["CELERITY_API_TOKEN"], on_retry=retrying) as client:
            return client.submit("chunked", items, chunk_size=30)

    fault_stack.postgres.pause()
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            inline = pool.submit(submit, "inline", 300)
            streamed = pool.submit(submit, "streamed", (i for i in range(300)))  # the same items: 0..299
            submitted = {"inline": inline.result(timeout=120), "streamed": streamed.result(timeout=120)}
    finally:
        if down[0]:
            both_refused.abort()
            fault_stack.postgres.resume()
    for kind, path in (("inline", "/api/jobs"), ("streamed", "/api/jobs/upload")):
        first = heard[kind][0]
        assert (first.method, first.path, first.status, first.delay) == ("POST", path, 503, 5.0)  # Retry-After: 5
        assert "503 unavailable: the database is unavailable or busy" in first.reason
        job = submitted[kind]
        assert_exactly_once(audit(job.id), 300)
        keyed = rows(
            fault_stack.platform.database_url,
            "SELECT id FROM jobs_job WHERE idempotency_key = %s",
            [job.idempotency_key],
        )
        assert [str(job_id) for (job_id,) in keyed] == [job.id]


def test_a_503_whose_wait_exceeds_the_retry_budget_is_raised_with_the_apis_error(fault_stack: Stack) -> None:
    policy = RetryPolicy(budget=4.0)  # the API asks for 5 s
    client = Celerity(fault_stack.platform.api, SETTINGS["CELERITY_API_TOKEN"], retry=policy)
    fault_stack.postgres.pause()
    try:
        with pytest.raises(Unavailable) as unavailable:
            next(client.jobs(status="running"))
    finally:
        fault_stack.postgres.resume()
    error = unavailable.value
    assert (error.status, error.error, error.retry_after, error.attempt) == (503, "unavailable", 5.0, 1)
    assert error.fields == {"database": "unavailable"}
