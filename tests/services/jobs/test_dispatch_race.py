"""The article's race: a task dispatched for a row must never run before that row is committed. Real Postgres, real
workers, real transactions (`transaction=True`: Django's TestCase would never commit)."""

from __future__ import annotations

import time

import pytest
from celery.result import AsyncResult
from django.db import connection, transaction

from celerity.demo.tasks import job_visible
from celerity.jobs import services
from celerity.jobs.models import Job, Workload

pytestmark = [pytest.mark.workers, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("drained")]

REQUESTS = 8
REST_OF_THE_REQUEST = 0.25  # seconds the transaction stays open after the dispatch (more queries, a slow template…)


def _new_row() -> str:
    return str(Job.objects.create(workload=Workload.MAP, items=1, chunk_size=1).id)


def test_naive_dispatch_inside_a_transaction_makes_the_worker_miss_the_row(celery_workers: dict[str, int]) -> None:
    """`.delay()` before the commit, as a view under ATOMIC_REQUESTS does: the worker looks before the row exists."""
    results: list[AsyncResult] = []
    for _ in range(REQUESTS):
        with transaction.atomic():
            results.append(job_visible.delay(_new_row()))
            time.sleep(REST_OF_THE_REQUEST)
    seen = [result.get(timeout=30) for result in results]
    print(f"naive dispatch: the worker missed the row {seen.count(False)} times out of {REQUESTS}")
    assert seen.count(False) > 0


def test_the_race_is_certain_when_the_transaction_outlives_the_task(celery_workers: dict[str, int]) -> None:
    with transaction.atomic():
        job_id = _new_row()
        seen = job_visible.delay(job_id).get(timeout=30)  # the task runs and finishes while the row is uncommitted
    assert seen is False
    assert Job.objects.filter(id=job_id).exists(), "the row was committed, just too late for the task"


@pytest.mark.parametrize("dispatch", ["on_commit", "apply_async_on_commit"])
def test_dispatch_after_the_commit_always_sees_the_row(celery_workers: dict[str, int], dispatch: str) -> None:
    """The article's fix, `transaction.on_commit(lambda: task.delay(id))`, and Celery's own shorthand
    (`delay_on_commit`/`apply_async_on_commit`, which return no result: the test names the task id itself)."""
    results: list[AsyncResult] = []
    for _ in range(REQUESTS):
        with transaction.atomic():
            job_id = _new_row()
            if dispatch == "on_commit":
                transaction.on_commit(lambda job_id=job_id: results.append(job_visible.delay(job_id)))  # type: ignore[misc]
            else:
                task_id = f"race-{job_id}"
                job_visible.apply_async_on_commit((job_id,), task_id=task_id)
                results.append(AsyncResult(task_id))
            time.sleep(REST_OF_THE_REQUEST)
            assert Job.objects.filter(id=job_id).exists()
            assert len(connection.run_on_commit) == 1, "sent nothing before the commit"
    seen = [result.get(timeout=30) for result in results]
    assert seen == [True] * REQUESTS


def test_the_service_defers_its_dispatch_to_the_commit(
    celery_workers: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    with transaction.atomic():
        job = services.job_create(request=services.JobRequest(job_type=Workload.MAP, items=3))
        assert len(connection.run_on_commit) == 1, "job_start waits for the commit"
        time.sleep(REST_OF_THE_REQUEST)
        assert Job.objects.get(id=job.id).status == "pending", "nothing ran yet"
    deadline = time.monotonic() + 30
    while Job.objects.get(id=job.id).status != "succeeded" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert Job.objects.get(id=job.id).result == {"sum": 0 + 1 + 4, "count": 3}
