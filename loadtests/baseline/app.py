"""Bare Celery, the baseline of `make bench`, in two profiles of settings (`BASELINE_PROFILE`):

- **celerity**: configured like Celerity's workers (services/config/settings/base.py): JSON, late acks, prefetch 1,
  the same time limits, visibility timeout and task events (`-E`, `task_send_sent_event`, `task_track_started`). The
  canvas form of chunked work and the chord run on it, as they always have, so that figures stay comparable.
- **plain**: as fast as a bare-Celery user would reasonably make it while keeping at-least-once delivery (what
  Celerity guarantees): JSON, late acks, reject on worker lost, the same limits and visibility timeout, but no task
  events, no sent events and no STARTED state (`PLAIN_SETTINGS` says what and why). The plain form of chunked work (one
  task per chunk returning its sum) and the small jobs run on it.

Its tasks do what Celerity's do, minus Celerity: an item squares its index; a chunk squares its items and returns
their count and sum; a chunk's or a chord's results are summed and returned instead of written to Postgres. No
database, no metrics, no locks.

Run by `make bench` as its own worker processes (`celery -A loadtests.baseline.app worker`) on the same Redis as the
platform under test, each profile in a DB of its own (`BASELINE_REDIS_URL`). The bench process publishes through a
client app of its own per profile (`client`), so that both profiles can be driven from one process.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from celery import Celery

BROKER_URL = os.environ.get("BASELINE_REDIS_URL", "redis://127.0.0.1:6379/3")
PROFILE = os.environ.get("BASELINE_PROFILE", "celerity")
OVERRIDES = json.loads(os.environ.get("BASELINE_SETTINGS", "{}"))  # one knob changed, to measure what it costs
TIME_LIMIT = 300
VISIBILITY_TIMEOUT = 2 * TIME_LIMIT + 60

COMMON_SETTINGS: dict[str, Any] = {
    "task_serializer": "json",
    "result_serializer": "json",
    "accept_content": ["json"],
    "result_accept_content": ["json"],
    "task_acks_late": True,
    "task_reject_on_worker_lost": True,
    "task_time_limit": TIME_LIMIT,
    "task_soft_time_limit": TIME_LIMIT - 30,
    "broker_transport_options": {"visibility_timeout": VISIBILITY_TIMEOUT},
    "result_backend_transport_options": {"visibility_timeout": VISIBILITY_TIMEOUT},
    "result_expires": 86400,
    "task_default_queue": "default",
    "broker_connection_retry_on_startup": True,
    "worker_cancel_long_running_tasks_on_connection_loss": True,
    "worker_hijack_root_logger": False,
}
CELERITY_SETTINGS: dict[str, Any] = {
    "worker_prefetch_multiplier": 1,
    "task_send_sent_event": True,
    "worker_send_task_events": True,  # the workers also run with -E
    "task_track_started": True,
}
PLAIN_SETTINGS: dict[str, Any] = {
    # Celery's default prefetch (4 per process): a 5 ms task does not wait for its message's round trip. With late
    # acks a prefetched message is still redelivered if its worker dies.
    "worker_prefetch_multiplier": 4,
    # Celery's defaults: no events (they are for Flower; each is a PUBLISH per task and state change), no STARTED
    # state written to the result backend before every task.
    "task_send_sent_event": False,
    "worker_send_task_events": False,
    "task_track_started": False,
}
PROFILES = {"celerity": CELERITY_SETTINGS, "plain": PLAIN_SETTINGS}


def settings(profile: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The whole configuration of a profile, with `overrides` over it."""
    if profile not in PROFILES:
        raise ValueError(f"unknown baseline profile {profile!r}: one of {', '.join(PROFILES)}")
    return {**COMMON_SETTINGS, **PROFILES[profile], **(overrides or {})}


def configure(app: Celery, broker_url: str, profile: str, overrides: dict[str, Any] | None = None) -> Celery:
    app.conf.update(broker_url=broker_url, result_backend=broker_url, **settings(profile, overrides))
    return app


def client(broker_url: str, profile: str, overrides: dict[str, Any] | None = None) -> Celery:
    """An app for publishing and reading results from the bench process (signatures by task name)."""
    return configure(Celery(f"baseline-{profile}", set_as_current=False), broker_url, profile, overrides)


# Never the current app of the bench process, which publishes through `client` apps only (a canvas built without an
# app would otherwise fall back on this one and its default URL); the worker makes it current itself.
app = configure(Celery("baseline", set_as_current=False), BROKER_URL, PROFILE, OVERRIDES)

ITEM = "baseline.item_square"
CHUNK = "baseline.chunk_square"
CHUNK_TOTAL = "baseline.chunk_total"
CHORD_TOTAL = "baseline.chord_total"


def square(index: int) -> int:
    return index * index


@app.task(name=ITEM)  # type: ignore[untyped-decorator]  # Celery ships no type information
def item_square(index: int, job_id: str, cost_ms: int = 0, fail_rate: float = 0.0) -> int:
    if cost_ms:
        time.sleep(cost_ms / 1000)
    return square(index)


@app.task(name=CHUNK)  # type: ignore[untyped-decorator]  # Celery ships no type information
def chunk_square(start: int, stop: int, cost_ms: int = 0) -> list[int]:
    """Chunked work written the plain way: one task per chunk runs its items and returns [count, sum]."""
    total = 0
    for index in range(start, stop):
        if cost_ms:
            time.sleep(cost_ms / 1000)
        total += square(index)
    return [stop - start, total]


@app.task(name=CHUNK_TOTAL)  # type: ignore[untyped-decorator]  # Celery ships no type information
def chunk_total(values: list[int | None], job_id: str, chunk_index: int) -> list[int]:
    done = [v for v in values if v is not None]
    return [len(done), sum(done)]


@app.task(name=CHORD_TOTAL)  # type: ignore[untyped-decorator]  # Celery ships no type information
def chord_total(values: list[int | None], job_id: str, chunk_size: int) -> list[int]:
    done = [v for v in values if v is not None]
    return [len(done), sum(done)]
