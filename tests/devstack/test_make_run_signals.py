"""`make run` stops everything it started, in order, whatever signals arrive and however often: make passes a
SIGTERM on to devstack, so a SIGTERM to the process group (`kill -- -PGID`, CI runners, process managers) arrives
twice, and a second signal must never cut the drain short (it used to leave gunicorn and the workers behind)."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devstack import processes
from tests.devstack import signalled

pytestmark = pytest.mark.slow

# `-o`: never rebuild the venv from a test (the running one is used, through BIN).
MAKE_RUN = ["make", "--no-print-directory", "-o", ".venv/.installed", f"BIN={processes.BIN_DIR}", "run"]
SLOW_JOB = {"workload": "chunked", "items": 2, "chunk_size": 1, "item_cost_ms": 5000}


@pytest.fixture
def rundir() -> Iterator[Path]:
    with signalled.run_directory() as path:
        yield path


def _a_task_is_running(info: dict[str, str]) -> None:
    """A job whose tasks run for seconds, so that the stop has a drain to wait for when the second signal comes."""
    headers = {"Authorization": f"Bearer {info['token']}"}
    job = requests.post(f"{info['api_url']}/api/jobs", headers=headers, json=SLOW_JOB, timeout=10).json()
    deadline = time.monotonic() + signalled.STARTED_WITHIN
    while time.monotonic() < deadline:
        body = requests.get(job["url"], headers=headers, timeout=10).json()
        if body["status"] == "running":
            return
        time.sleep(0.25)
    pytest.fail(f"the slow job never ran: {body}")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("pid", signal.SIGTERM), signal.SIGTERM),  # `kill PID`, then `kill -- -PGID` during the drain
        (("group", signal.SIGTERM), signal.SIGTERM),  # `kill -- -PGID` twice: devstack gets four
        (("group", signal.SIGINT), signal.SIGTERM),  # Ctrl-C, then a process manager's SIGTERM
    ],
    ids=["term-then-group-term", "group-term-twice", "ctrl-c-then-group-term"],
)
def test_signals_during_the_drain_stop_everything(rundir: Path, first: tuple[str, int], second: int) -> None:
    with signalled.command(MAKE_RUN, rundir, signalled.isolated_env(rundir)) as make:
        info = signalled.stack_info(rundir, make, rundir)
        _a_task_is_running(info)
        started = signalled.started_processes(make, info, rundir)
        signalled.signal_twice(make, rundir, first, second)
        signalled.assert_everything_stopped(make, rundir, started, signalled.stack_ports(info))
        assert ">> stopped" in signalled.output(rundir)


def test_signals_while_it_starts_stop_what_was_started(rundir: Path) -> None:
    env = signalled.isolated_env(rundir)
    with signalled.command(MAKE_RUN, rundir, env) as make:
        # The servers are up and the migrations run: a stop now must still stop the servers.
        signalled.wait_for((rundir / "logs" / "migrate.log").exists, make, rundir, "the migrations")
        servers = signalled.leftovers(rundir)
        signalled.signal_twice(make, rundir, ("group", signal.SIGTERM), signal.SIGTERM)
        signalled.assert_everything_stopped(make, rundir, servers, [int(env["PORT"]), int(env["METRICS_PORT"])])
        assert not (rundir / "stack.json").exists()
