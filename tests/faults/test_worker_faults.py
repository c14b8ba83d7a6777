"""Workers die: a pool process, or a whole worker (parent and pool, as with a node failure)."""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest

from tests.faults.conftest import Api, Stack, assert_exactly_once, progressed

pytestmark = [pytest.mark.workers, pytest.mark.slow]


def test_pool_processes_killed_mid_job_lose_nothing(fault_stack: Stack, api: Api, audit: Any) -> None:
    job_id = api.submit(workload="chunked", items=600, chunk_size=20, item_cost_ms=30)  # 30 chunks of 0.6 s
    progressed(fault_stack, job_id)
    killed = fault_stack.platform.pool_pids("bulk")
    for pid in killed:
        os.kill(pid, signal.SIGKILL)  # as the OOM killer does; the parent replaces them and retries their tasks
    assert killed
    assert_exactly_once(audit(job_id), 600)


def test_a_whole_worker_killed_mid_job_loses_nothing(fault_stack: Stack, api: Api, audit: Any) -> None:
    """Nobody acknowledges or hands back the dead worker's messages: the visibility timeout or the reconciler does."""
    job_id = api.submit(workload="chunked", items=400, chunk_size=20, item_cost_ms=30)
    progressed(fault_stack, job_id)
    restarts = len(fault_stack.platform.restarts)
    fault_stack.platform.kill_worker("bulk")
    assert_exactly_once(audit(job_id), 400)
    assert fault_stack.platform.restarts[restarts:] == ["worker-bulk"]
