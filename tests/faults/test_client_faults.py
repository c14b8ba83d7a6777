"""The Python client through a database outage: Postgres stopped, the API answers 503 with `Retry-After`, the client
waits what it was told and asks again with the same idempotency key, and once Postgres is back the submit succeeds,
with one job that runs exactly once. (With the broker down the API answers 202 by design: the reconciler starts the
job later; docs/reliability.md.)"""

from __future__ import annotations

from typing import Any

import pytest

from celerity_client import Celerity, Retrying, RetryPolicy, Unavailable
from tests.faults.conftest import Stack, assert_exactly_once
from tests.faults.platform import SETTINGS, rows

pytestmark = [pytest.mark.workers, pytest.mark.slow]


@pytest.mark.parametrize("streamed", [False, True], ids=["inline", "streamed"])
def test_a_submit_while_postgres_is_down_is_retried_to_one_job(fault_stack: Stack, audit: Any, streamed: bool) -> None:
    """Inline (a count), and streamed from a generator: the upload's spool is sent again from its start."""
    retries: list[Retrying] = []

    def heard(retry: Retrying) -> None:
        retries.append(retry)
        if len(retries) == 1:
            fault_stack.postgres.resume()  # back during the wait the API asked for

    client = Celerity(fault_stack.platform.api, SETTINGS["CELERITY_API_TOKEN"], on_retry=heard)
    fault_stack.postgres.pause()
    try:
        items = (i for i in range(300)) if streamed else 300  # the same items: 0..299
        submitted = client.submit("chunked", items, chunk_size=30)
    finally:
        if not retries:
            fault_stack.postgres.resume()
    first = retries[0]
    path = "/api/jobs/upload" if streamed else "/api/jobs"
    assert (first.method, first.path, first.status, first.delay) == ("POST", path, 503, 5.0)  # Retry-After: 5
    assert "503 unavailable: the database is unavailable or busy" in first.reason
    assert_exactly_once(audit(submitted.id), 300)
    keyed = rows(
        fault_stack.platform.database_url,
        "SELECT id FROM jobs_job WHERE idempotency_key = %s",
        [submitted.idempotency_key],
    )
    assert [str(job_id) for (job_id,) in keyed] == [submitted.id]


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
