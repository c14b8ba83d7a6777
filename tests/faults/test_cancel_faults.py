"""A cancel sent while a very large job is starting: it does not wait for the start (which holds no lock a cancel
needs), the job ends `cancelled`, and nothing of it is published after the cancel."""

from __future__ import annotations

import json
import os
import time

import pytest
import redis

from celerity.jobs.canvases import PUBLISH_BATCH, names
from tests.faults.conftest import Api, Stack, job_row
from tests.faults.platform import rows, wait_for

pytestmark = [pytest.mark.workers, pytest.mark.slow]

# A million items by default (the case); CELERITY_FAULTS_CANCEL_ITEMS makes it smaller on a slow machine.
ITEMS = int(os.environ.get("CELERITY_FAULTS_CANCEL_ITEMS", "1000000"))


def starting(client: redis.Redis) -> bool:
    """A `job_start` is running: its message is held unacknowledged (acks_late) until it returns."""
    for raw in client.hvals("unacked"):
        message = json.loads(raw)[0]
        if message.get("headers", {}).get("task") == names.JOB_START:
            return True
    return False


def test_a_cancel_during_the_start_answers_at_once_and_nothing_is_published_after(fault_stack: Stack, api: Api) -> None:
    client = redis.Redis.from_url(fault_stack.redis.url)
    fault_stack.platform.pause_worker("bulk")  # whatever is published for the items stays in `bulk`, to be counted
    try:
        job_id = api.submit(workload="chunked", items=ITEMS, chunk_size=100)
        publishing = "SELECT 1 FROM jobs_job WHERE id = %s AND status = 'running' AND published_at IS NULL"
        wait_for(
            lambda: list(rows(fault_stack.platform.database_url, publishing, [job_id])),
            within=120,
            what="the start publishing the chunks",
            every=0.01,
        )
        sent = time.monotonic()
        response = api.cancel(job_id)
        answered = time.monotonic() - sent
        still_starting, published_at_cancel = starting(client), client.llen("bulk")
        print(
            f"cancel of a {ITEMS}-item job during its start: {response.status_code} in {answered:.2f} s, "
            f"{published_at_cancel} chunks published by then"
        )
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "cancelled"
        assert still_starting, "the cancel answered only after the start had finished: it waited for the start"

        wait_for(lambda: not starting(client), within=300, what="the start to end")
        assert job_row(fault_stack, job_id)[0] == "cancelled"  # type: ignore[index]
        # The start reads the status before every canvas: at most the canvas being sent when the cancel landed.
        assert client.llen("bulk") - published_at_cancel <= PUBLISH_BATCH, "the start kept publishing"
    finally:
        client.close()
        fault_stack.platform.start_worker("bulk")
