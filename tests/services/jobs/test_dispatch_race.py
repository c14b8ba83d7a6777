"""The article's race: a task dispatched for a row must never run before that row is committed."""

from __future__ import annotations

import time

import pytest
from celery.result import AsyncResult
from django.db import connection, transaction

from celerity.demo.tasks import job_visible
from celerity.jobs import services
from celerity.jobs.models import Job, Workload

pytestmark = [pytest.mark.workers, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("drained")]


def test_naive_dispatch_inside_a_transaction_makes_the_worker_miss_the_row(celery_workers: dict[str, int]) -> None:
    with transaction.atomic():
        job = Job.objects.create(workload=Workload.MAP, items=1, chunk_size=1)
        # Waiting for the result while the transaction is open makes the race certain rather than likely.
        seen = job_visible.delay(str(job.id)).get(timeout=30)
    assert seen is False


def test_dispatch_on_commit_always_sees_the_row(celery_workers: dict[str, int]) -> None:
    sent: list[AsyncResult] = []
    with transaction.atomic():
        job = Job.objects.create(workload=Workload.MAP, items=1, chunk_size=1)
        transaction.on_commit(lambda: sent.append(job_visible.delay(str(job.id))))
        time.sleep(0.5)  # ample time for a worker to run the task, had it been sent
        assert sent == []
    assert sent[0].get(timeout=30) is True


def test_the_service_defers_its_dispatch_to_the_commit(celery_workers: dict[str, int]) -> None:
    with transaction.atomic():
        services.job_create(request=services.JobRequest(workload=Workload.MAP, items=3))
        assert len(connection.run_on_commit) == 1, "job_start must wait for the commit"
    job = Job.objects.get()
    deadline = time.monotonic() + 30
    while Job.objects.get(id=job.id).status != "succeeded" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert Job.objects.get(id=job.id).result == {"sum": 0 + 1 + 4, "count": 3}
