"""`make loadtest` and `make bench` start a local stack when none runs; a SIGTERM (under `timeout`, a CI kill) must
stop all of it, and a second signal to the process group must not cut that stop short. They used to die at once and
leave Redis, Postgres, gunicorn and the workers behind."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.devstack import signalled

pytestmark = pytest.mark.slow


@pytest.fixture
def rundir() -> Iterator[Path]:
    with signalled.run_directory() as path:
        yield path


def _jobs_submitted(info: dict[str, Any]) -> bool:
    headers = {"Authorization": f"Bearer {info['token']}"}
    return bool(requests.get(f"{info['api_url']}/api/jobs", headers=headers, timeout=10).json()["items"])


def test_a_load_test_stopped_with_sigterm_stops_the_stack_it_started(rundir: Path, tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "loadtests", "run", "--scenario", "burst", "--profile", "short"]
    argv += ["--out", str(tmp_path / "results")]
    with signalled.command(argv, rundir, signalled.isolated_env(rundir)) as loadtest:
        info = signalled.stack_info(rundir / "loadtest", loadtest, rundir)
        signalled.wait_for(lambda: _jobs_submitted(info), loadtest, rundir, "the first jobs")
        started = signalled.started_processes(loadtest, info, rundir)
        signalled.signal_twice(loadtest, rundir / "loadtest", ("pid", signal.SIGTERM), signal.SIGTERM)
        signalled.assert_everything_stopped(loadtest, rundir, started, signalled.stack_ports(info))
        assert loadtest.returncode == 128 + signal.SIGTERM
        assert not (tmp_path / "results" / "results.json").exists()  # a stopped run is not reported as a run


def test_a_benchmark_stopped_by_its_process_group_stops_the_stack_and_the_baseline(rundir: Path) -> None:
    argv = [sys.executable, "-m", "loadtests.bench", "--plan", "quick", "--no-docs"]
    with signalled.command(argv, rundir, signalled.isolated_env(rundir)) as bench:
        info = signalled.stack_info(rundir / "bench", bench, rundir)
        baseline_logs = [rundir / "bench" / "logs" / f"baseline-{pool}.log" for pool in ("default", "bulk")]
        signalled.wait_for(lambda: all(log.exists() for log in baseline_logs), bench, rundir, "the baseline workers")
        started = signalled.started_processes(bench, info, rundir)
        assert sum("loadtests.baseline.app" in signalled.command_line(p) for p in started) >= 2
        signalled.signal_twice(bench, rundir / "bench", ("group", signal.SIGTERM), signal.SIGINT)
        signalled.assert_everything_stopped(bench, rundir, started, signalled.stack_ports(info))
        assert bench.returncode == 128 + signal.SIGTERM
