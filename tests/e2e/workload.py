"""Real work on a live stack for the metrics contract: each scenario drives one path that produces series the
dashboards and alert rules query, through the interfaces production has (the HTTP API, the broker, Postgres).

Nothing here stands in for Celerity: jobs go through the API to real workers, a deadlock is a real Postgres
deadlock against the workers' own recorder, a lost worker is a pool process killed with SIGKILL.
"""

from __future__ import annotations

import inspect
import os
import signal
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

import kombu
import psycopg
import redis
import requests
from celery import Celery

from celerity.db.retrying import atomic_with_retry
from celerity.jobs.models import Item, JobChunk
from devstack.stack import StackInfo

FINISHED = ("succeeded", "failed", "cancelled")
# The recorder's transaction is tried this many times before the deadlock fails its task (celerity.db.retrying).
RETRY_ATTEMPTS = int(inspect.signature(atomic_with_retry).parameters["attempts"].default)


def wait_for(check: Callable[[], Any], *, within: float, what: str, every: float = 0.05) -> Any:
    """The first truthy value of `check()`, or AssertionError after `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(every)
    raise AssertionError(f"not within {within:.0f}s: {what}")


class Api:
    """The jobs API as a client uses it: bearer token, JSON in and out."""

    def __init__(self, info: StackInfo) -> None:
        self.url = f"{info.api_url}/api"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {info.token}"

    def submit(self, **job: Any) -> str:
        response = self.session.post(f"{self.url}/jobs", json=job, timeout=30)
        assert response.status_code == 202, response.text
        return str(response.json()["id"])

    def job(self, job_id: str) -> dict[str, Any]:
        response = self.session.get(f"{self.url}/jobs/{job_id}", timeout=30)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait(self, job_id: str, *, until: tuple[str, ...] = FINISHED, within: float = 60) -> dict[str, Any]:
        return dict(
            wait_for(
                lambda: (job := self.job(job_id))["status"] in until and job,
                within=within,
                what=f"job {job_id} {'/'.join(until)}",
                every=0.1,
            )
        )

    def cancel(self, job_id: str) -> requests.Response:
        return self.session.post(f"{self.url}/jobs/{job_id}/cancel", timeout=30)


def jobs_that_succeed(info: StackInfo) -> list[dict[str, Any]]:
    """A chunked job (starmap chunks on `bulk`, recorders on `default`) and a chord (header and body on `default`)."""
    api = Api(info)
    ids = [api.submit(workload="chunked", items=40, chunk_size=10), api.submit(workload="chord", items=20)]
    return [api.wait(job_id) for job_id in ids]


def http_errors(info: StackInfo) -> list[int]:
    """The API's error answers: no token, an unknown job, an invalid body, cancelling a finished job."""
    api = Api(info)
    finished = api.submit(workload="map", items=4, chunk_size=2)
    api.wait(finished)
    return [
        requests.get(f"{api.url}/jobs", timeout=30).status_code,
        api.session.get(f"{api.url}/jobs/{uuid.uuid4()}", timeout=30).status_code,
        api.session.post(f"{api.url}/jobs", json={"workload": "chunked", "items": "ten"}, timeout=30).status_code,
        api.cancel(finished).status_code,
    ]


def job_cancelled(info: StackInfo) -> dict[str, Any]:
    """Cancelled while most of its 20 chunks still wait in the queue: workers drop them as revoked."""
    api = Api(info)
    job_id = api.submit(workload="chunked", items=60, chunk_size=3, item_cost_ms=50)
    api.wait(job_id, until=("running",))
    response = api.cancel(job_id)
    assert response.status_code == 202, response.text
    return dict(response.json())


def job_whose_worker_is_lost(info: StackInfo, app: Celery) -> dict[str, Any]:
    """The pool process running the job's only chunk is SIGKILLed (as by the OOM killer): the worker's parent
    retries the chunk, and the job still succeeds."""
    api = Api(info)
    job_id = api.submit(workload="chunked", items=8, chunk_size=8, item_cost_ms=400)
    bulk = app.control.inspect(destination=[f"bulk@{socket.gethostname()}"], limit=1, timeout=5)  # `-n bulk@%h`

    def running_pid() -> int | None:
        for tasks in (bulk.active() or {}).values():
            for task in tasks:
                if task["id"] == f"{job_id}-c0" and task.get("worker_pid"):
                    return int(task["worker_pid"])
        return None

    os.kill(wait_for(running_pid, within=30, what=f"chunk of {job_id} running"), signal.SIGKILL)
    return api.wait(job_id)


def job_deadlocked(info: StackInfo) -> dict[str, Any]:
    """Another transaction inserts the chunk's item rows in the opposite order to the recorder, every time the
    recorder retries: Postgres breaks each deadlock by aborting the recorder, which retries until its attempts run
    out; then its task fails and the job fails.

    Each round: we insert the last item's row (uncommitted); the recorder inserts its rows in index order up to it
    and waits for our transaction; we insert the first item's row, which waits for the recorder (the cycle), and
    Postgres aborts the recorder, the session that has waited longer (ours waits 30 s before it looks for
    deadlocks). Rolling back to a savepoint takes our first row back for the next attempt.
    """
    api = Api(info)
    job_id = api.submit(workload="chunked", items=4, chunk_size=4, item_cost_ms=750)  # the recording waits 3 s for us
    table, chunks = Item._meta.db_table, JobChunk._meta.db_table
    with psycopg.connect(info.database_url, autocommit=True) as watcher, psycopg.connect(info.database_url) as locker:
        locker.execute("SET deadlock_timeout = '30s'")
        locker.execute("SET lock_timeout = '30s'")
        started = f"SELECT 1 FROM {chunks} WHERE job_id = %s"  # noqa: S608 - the model's table name
        wait_for(lambda: watcher.execute(started, [job_id]).fetchone(), within=30, what="the job's chunk row")
        insert = f"INSERT INTO {table} (job_id, index, state, value, writes) VALUES (%s, %s, 1, 0, 1)"  # noqa: S608 - the model's table name
        locker.execute(insert, [job_id, 3])
        locker_pid = locker.info.backend_pid
        blocked = "SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))"
        for attempt in range(RETRY_ATTEMPTS):
            wait_for(
                lambda: watcher.execute(blocked, [locker_pid]).fetchone(),
                within=30,
                what=f"the recorder waiting for the last row (attempt {attempt + 1})",
            )
            locker.execute("SAVEPOINT cycle")
            locker.execute(insert, [job_id, 0])  # done once Postgres has aborted the recorder
            locker.execute("ROLLBACK TO SAVEPOINT cycle")
        locker.rollback()
    return api.wait(job_id)


def foreign_message(info: StackInfo) -> None:
    """A message no Celery producer would send (no task header) lands on `default`: the worker rejects it."""
    with kombu.Connection(info.redis_url) as connection:
        connection.Producer().publish({"not": "a task"}, exchange="", routing_key="default", serializer="json")


def drained(info: StackInfo, *, queues: tuple[str, ...] = ("default", "bulk"), within: float = 60) -> None:
    """Until no message waits in the queues and none is held unacknowledged by a worker."""
    client = redis.Redis.from_url(info.redis_url)
    try:
        wait_for(
            lambda: not any(client.llen(q) for q in queues) and not client.hlen("unacked"),
            within=within,
            what="the workers drained the queues",
            every=0.1,
        )
    finally:
        client.close()
