"""Locust users for the `mixed` scenario: `POST /api/jobs` at a steady total rate, bounded by time and job count.

Run by `loadtests.locusting` as `locust --headless`; everything comes from the environment:
LOADTEST_TOKEN, LOADTEST_MIX (JSON list of job payloads, drawn in turn), LOADTEST_RATE_PER_USER (jobs/s),
LOADTEST_MAX_JOBS, LOADTEST_USERS and LOADTEST_JOBS_FILE (one JSON line per accepted job, which the runner follows).
"""

from __future__ import annotations

import itertools
import json
import os
import time
from typing import Any

import gevent  # type: ignore[import-untyped]  # locust's own dependency ships no type stubs
from locust import HttpUser, constant_throughput, task
from locust.exception import StopUser

MIX: list[dict[str, Any]] = json.loads(os.environ.get("LOADTEST_MIX", "[]")) or [{"workload": "chunked", "items": 100}]
MAX_JOBS = int(os.environ.get("LOADTEST_MAX_JOBS", "10"))
USERS = int(os.environ.get("LOADTEST_USERS", "1"))
_numbers = itertools.count()
_stopped = itertools.count(1)


class JobSubmitter(HttpUser):
    wait_time = constant_throughput(float(os.environ.get("LOADTEST_RATE_PER_USER", "1")))

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {os.environ.get('LOADTEST_TOKEN', '')}"

    def on_stop(self) -> None:
        if next(_stopped) >= USERS:  # the last user out ends the run, without cutting an accepted POST short
            gevent.spawn_later(0.1, self.environment.runner.quit)

    @task
    def submit(self) -> None:
        number = next(_numbers)
        if number >= MAX_JOBS:
            raise StopUser
        payload = MIX[number % len(MIX)]
        started = time.time()
        with self.client.post("/api/jobs", json=payload, name="POST /api/jobs", catch_response=True) as response:
            if response.status_code != 202:
                response.failure(f"{response.status_code}: {response.text[:200]}")
                return
            response.success()
            line = {"id": response.json()["id"], "payload": payload, "t": started, "seconds": time.time() - started}
        with open(os.environ["LOADTEST_JOBS_FILE"], "a") as jobs:
            jobs.write(json.dumps(line) + "\n")
