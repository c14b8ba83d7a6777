"""Every task outcome is counted exactly once, under Celerity's names and celery-exporter's, whichever process Celery
decides it in (pool child, or the parent for time limits and lost workers); queue wait is publish → start."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest
import redis
from celery.result import AsyncResult

from config.celery_app import app
from tests.services.observability import selftasks
from tests.services.observability.conftest import OBS_QUEUE
from tests.services.observability.scraping import Samples, scrape, value
from tests.services.observability.workers import Worker

pytestmark = [pytest.mark.workers, pytest.mark.slow]


def _finished(results: list[AsyncResult], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not all(r.ready() for r in results):
        assert time.monotonic() < deadline, [r.state for r in results]
        time.sleep(0.1)


def _eventually(url: str, check: Callable[[Samples], bool], timeout: float = 10) -> Samples:
    """Scrape until `check` holds: a result is stored a moment before its success signal is counted."""
    deadline = time.monotonic() + timeout
    while True:
        samples = scrape(url)
        if check(samples) or time.monotonic() > deadline:
            return samples
        time.sleep(0.2)


def test_each_outcome_is_counted_once_under_both_names(obs_worker: Worker, redis_url: str) -> None:
    url = f"{obs_worker.url}/metrics"
    before = scrape(url)
    key = f"outcomes:{uuid.uuid4().hex}"
    results = [
        selftasks.record.apply_async((key, "a"), queue=OBS_QUEUE),
        selftasks.fail.apply_async(queue=OBS_QUEUE),
        selftasks.retry_once.apply_async((f"{key}:retry",), queue=OBS_QUEUE),
        selftasks.reject.apply_async(queue=OBS_QUEUE),
        selftasks.overrun.apply_async(queue=OBS_QUEUE),  # killed by its 1 s hard time limit, in the parent
    ]
    _finished(results)
    assert [r.state for r in results] == ["SUCCESS", "FAILURE", "SUCCESS", "FAILURE", "FAILURE"]

    def delta(samples: Samples, metric: str, **labels: str) -> float:
        return value(samples, metric, **labels) - value(before, metric, **labels)

    expected = {
        ("selftest.record", "succeeded"): 1,
        ("selftest.fail", "failed"): 1,
        ("selftest.retry_once", "retried"): 1,
        ("selftest.retry_once", "succeeded"): 1,
        ("selftest.reject", "rejected"): 1,
        ("selftest.overrun", "failed"): 1,
    }

    def counted(samples: Samples) -> dict[tuple[str, str], float]:
        return {
            (task, outcome): delta(samples, "celerity_tasks_total", task=task, outcome=outcome, queue=OBS_QUEUE)
            for task in {t for t, _ in expected}
            for outcome in ("succeeded", "failed", "retried", "rejected", "revoked")
            if delta(samples, "celerity_tasks_total", task=task, outcome=outcome, queue=OBS_QUEUE)
        }

    after = _eventually(url, lambda s: counted(s) == expected)
    assert counted(after) == expected
    compat = {
        "celery_task_succeeded_total": {"selftest.record": 1, "selftest.retry_once": 1},
        "celery_task_failed_total": {"selftest.fail": 1, "selftest.overrun": 1},
        "celery_task_retried_total": {"selftest.retry_once": 1},
        "celery_task_rejected_total": {"selftest.reject": 1},
        "celery_task_received_total": {"selftest.record": 1, "selftest.retry_once": 2, "selftest.overrun": 1},
        "celery_task_started_total": {"selftest.record": 1, "selftest.retry_once": 2, "selftest.reject": 1},
        "celery_task_sent_total": {"selftest.retry_once": 1},  # the retry, published by the pool child
    }
    for metric, per_task in compat.items():
        for task, n in per_task.items():
            assert delta(after, metric, name=task, queue_name=OBS_QUEUE) == n, (metric, task)
    assert delta(after, "celery_task_failed_total", name="selftest.fail", exception="ValueError") == 1
    assert delta(after, "celery_task_failed_total", name="selftest.overrun", exception="TimeLimitExceeded") == 1
    # The overrun's child was killed mid-task and never ran its exit hook; the parent reaped its live gauge.
    assert value(after, "celerity_worker_tasks_active", queue=OBS_QUEUE) == 0
    assert value(after, "celery_worker_tasks_active") == 0
    assert redis.Redis.from_url(redis_url).hget(f"{key}:runs", "a") == b"1"


def test_a_message_for_an_unknown_task_is_counted_as_rejected(obs_worker: Worker) -> None:
    url, name = f"{obs_worker.url}/metrics", f"selftest.missing_{uuid.uuid4().hex[:8]}"
    before = scrape(url)
    app.send_task(name, queue=OBS_QUEUE)  # no worker has it: Celery drops the message with `task_unknown`

    def rejected(samples: Samples) -> tuple[float, float]:
        return (
            value(samples, "celerity_tasks_total", task=name, outcome="rejected", queue=OBS_QUEUE),
            value(samples, "celery_task_rejected_total", name=name, queue_name=OBS_QUEUE),
        )

    after = _eventually(url, lambda s: rejected(s) != (0, 0))
    assert rejected(before) == (0, 0)
    assert rejected(after) == (1, 1)


def test_a_message_that_kills_its_worker_runs_at_most_1_plus_max_retries_times(
    obs_worker: Worker, redis_url: str
) -> None:
    url = f"{obs_worker.url}/metrics"
    before = scrape(url)
    key = f"crash:{uuid.uuid4().hex}"
    result = selftasks.crash.apply_async((key,), queue=OBS_QUEUE)  # max_retries=2
    _finished([result])
    assert result.state == "FAILURE"
    assert type(result.result).__name__ == "WorkerLostError"
    assert redis.Redis.from_url(redis_url).get(key) == b"3"
    labels = {"task": "selftest.crash", "queue": OBS_QUEUE}
    after = _eventually(url, lambda s: value(s, "celerity_tasks_total", outcome="failed", **labels) > 0)
    assert value(after, "celerity_tasks_total", outcome="retried", **labels) == 2
    assert value(after, "celerity_tasks_total", outcome="failed", **labels) == 1
    assert value(before, "celerity_tasks_total", **labels) == 0
    time.sleep(0.5)
    assert redis.Redis.from_url(redis_url).llen(OBS_QUEUE) == 0  # gone for good, not requeued
    assert value(scrape(url), "celerity_worker_tasks_active", queue=OBS_QUEUE) == 0


def test_queue_wait_is_publish_to_start_and_leaves_out_countdowns(obs_worker: Worker) -> None:
    queue = f"late-{uuid.uuid4().hex[:8]}"
    key = f"late:{uuid.uuid4().hex}"
    waited = selftasks.record.apply_async((key, "waited"), queue=queue)
    chosen = selftasks.record.apply_async((key, "chosen"), queue=queue, countdown=0.5)
    time.sleep(1.5)  # nobody consumes `queue` yet: both wait in Redis
    app.control.add_consumer(queue, destination=[obs_worker.nodename], reply=True, timeout=5)
    try:
        _finished([waited, chosen])
        url = f"{obs_worker.url}/metrics"
        labels = {"task": "selftest.record", "queue": queue}
        samples = _eventually(url, lambda s: value(s, "celerity_task_queue_wait_seconds_count", **labels) >= 1)
        assert value(samples, "celerity_task_queue_wait_seconds_count", **labels) == 1  # the countdown is left out
        assert value(samples, "celerity_task_queue_wait_seconds_sum", **labels) >= 1.5
        assert value(samples, "celerity_task_queue_wait_seconds_bucket", le="1.0", **labels) == 0
        compat = {"name": "selftest.record", "queue_name": queue}
        assert value(samples, "celery_task_queue_wait_time_count", **compat) == 1
    finally:
        app.control.cancel_consumer(queue, destination=[obs_worker.nodename], reply=True, timeout=5)
