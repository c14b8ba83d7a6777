"""The `mixed` scenario's submitter: Locust, headless, in its own process (gevent patches the interpreter it runs in),
bounded by `--run-time` and by a job count; the runner follows the jobs it writes to a file."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from devstack import stopping
from loadtests import figures
from loadtests.scenarios import JobSpec, Scenario
from loadtests.target import Target
from loadtests.tracking import Tracker

LOCUSTFILE = Path(__file__).with_name("locustfile.py")


class LocustSubmitter:
    def __init__(self, scenario: Scenario, target: Target, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.jobs_file, self.stats_base = workdir / "locust-jobs.jsonl", workdir / "locust-stats"
        self.jobs_file.write_text("")
        self.planned = scenario.max_jobs
        self.stats: dict[str, Any] | None = None
        self._offset = 0
        users = max(2, math.ceil(scenario.rate * 2))
        mix = json.dumps([job.payload() for job in scenario.jobs])
        env = {
            **os.environ,
            "LOADTEST_TOKEN": target.token,
            "LOADTEST_MIX": mix,
            "LOADTEST_RATE_PER_USER": str(scenario.rate / users),
            "LOADTEST_MAX_JOBS": str(scenario.max_jobs),
            "LOADTEST_USERS": str(users),
            "LOADTEST_JOBS_FILE": str(self.jobs_file),
        }
        argv = [
            sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "-u", str(users), "-r", str(users),
            "-t", f"{math.ceil(scenario.duration)}s", "-H", target.api_url, "--only-summary", "--stop-timeout", "10",
            "--json-file", str(self.stats_base), "--loglevel", "WARNING",
        ]  # fmt: skip  # a command line: each option beside its value
        self._argv, self._env, self._log = argv, env, workdir / "locust.log"
        self.process: subprocess.Popen[bytes] | None = None

    def _start(self) -> None:
        # Started by the run loop's first step, inside the loop's try, whose `finally` calls stop(); uninterrupted,
        # so that a signal cannot land between the fork and `self.process`.
        with stopping.uninterrupted(), self._log.open("ab") as log:
            self.process = subprocess.Popen(
                self._argv,
                env=self._env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def step(self, run: Tracker) -> None:
        if self.process is None:
            self._start()
        with self.jobs_file.open() as jobs:
            jobs.seek(self._offset)
            lines = jobs.read()
        complete = lines[: lines.rfind("\n") + 1]
        self._offset += len(complete.encode())
        epoch_of_start = time.time() - run.now()
        for line in complete.splitlines():
            job = json.loads(line)
            spec = JobSpec.from_payload(job["payload"])
            run.add(spec, str(job["id"]), float(job["t"]) - epoch_of_start, float(job["seconds"]))

    def exhausted(self) -> bool:
        if self.process is None or self.process.poll() is None:
            return False
        if self.stats is None:
            self.stats = _stats(self.stats_base.with_suffix(".json"), self.process.returncode)
        return True

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.exhausted()


def _stats(path: Path, returncode: int) -> dict[str, Any]:
    """Locust's own view of the POSTs: requests, failures and response-time percentiles (ms)."""
    try:
        entries = json.loads(path.read_text())
    except (OSError, ValueError):
        return {"returncode": returncode, "requests": 0, "failures": 0}
    requests = sum(int(e.get("num_requests", 0)) for e in entries)
    failures = sum(int(e.get("num_failures", 0)) for e in entries)
    times: list[float] = []
    for entry in entries:
        for ms, count in (entry.get("response_times") or {}).items():
            times.extend([float(ms)] * int(count))
    return {
        "returncode": returncode,
        "requests": requests,
        "failures": failures,
        **{f"p{round(q * 100)}_ms": figures.percentile(times, q) for q in figures.QUANTILES},
    }
