"""`job_enqueue` from Django code inside Celerity, on real transactions and live workers: the job is created in the
caller's transaction and starts only once that commits; a rollback leaves nothing and starts nothing; bad input is
refused with the caller's transaction still usable."""

from __future__ import annotations

import time
import uuid

import psycopg
import pytest
from django.db import transaction

from celerity.jobs.canvases.names import JOB_START
from celerity.jobs.errors import JobInputError
from celerity.jobs.models import Job, JobStatus
from celerity.jobs.services import job_enqueue
from devstack import processes
from devstack.pytest_plugin import TEST_DATABASE
from devstack.servers import _psycopg_params
from tests.services.jobs.testtypes import words_type

pytestmark = [pytest.mark.workers, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("drained")]

WORDS = words_type("chunked")
FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


def finished(job_id: uuid.UUID, within: float = 60) -> Job:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        job = Job.objects.get(id=job_id)
        if job.status in FINISHED:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish within {within:.0f} s: {job.status}")


def seen_by_others(database_url: str, job_id: uuid.UUID) -> bool:
    """Whether another session (a worker's, say) can see the job's row yet."""
    with psycopg.connect(**_psycopg_params(database_url, dbname=TEST_DATABASE), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM jobs_job WHERE id = %s", [job_id]).fetchone() is not None


def test_a_job_enqueued_in_a_transaction_starts_only_once_it_commits(
    celery_workers: dict[str, int], database_url: str
) -> None:
    """Held open for a second after the call: a start sent before the commit would have reached a worker that found
    no row, and the job would never start."""
    with transaction.atomic():
        job = job_enqueue(job_type=WORDS, items=[{"text": "two words"}, {"text": "and three more"}])
        assert Job.objects.filter(id=job.id, status=JobStatus.PENDING).exists()  # the caller sees its own row
        time.sleep(1.0)
        assert not seen_by_others(database_url, job.id)
    done = finished(job.id)
    assert (done.status, done.result) == (JobStatus.SUCCEEDED, {"reduce": 5, "count": 2, "failed": 0})


def starts_run() -> int:
    """How many `job_start` tasks the workers have run, by their own count."""
    from config.celery_app import app

    stats = app.control.inspect(timeout=5, limit=len(processes.DEFAULT_POOLS)).stats() or {}  # every worker's reply
    return sum(int(worker.get("total", {}).get(JOB_START, 0)) for worker in stats.values())


def test_a_rolled_back_transaction_leaves_no_job_and_starts_nothing(celery_workers: dict[str, int]) -> None:
    before = starts_run()
    enqueued: list[Job] = []

    def change_of_mind() -> None:
        with transaction.atomic():
            enqueued.append(job_enqueue(job_type="chunked", items=100))
            raise RuntimeError("the caller changed its mind")

    with pytest.raises(RuntimeError, match="the caller changed its mind"):
        change_of_mind()
    (job,) = enqueued
    time.sleep(1.0)  # more than a start sent anyway would take to run
    assert not Job.objects.filter(id=job.id).exists()
    assert starts_run() == before
    finished(job_enqueue(job_type="chunked", items=1).id)  # a committed one does start, and is counted
    assert starts_run() == before + 1


def test_outside_a_transaction_it_commits_and_starts_at_once(celery_workers: dict[str, int]) -> None:
    job = job_enqueue(job_type="chunked", items=200, chunk_size=50)
    assert finished(job.id).result == {"sum": sum(i * i for i in range(200)), "count": 200}


def test_bad_input_is_refused_by_field_and_the_callers_transaction_goes_on(celery_workers: dict[str, int]) -> None:
    with transaction.atomic():
        with pytest.raises(JobInputError) as refused:
            job_enqueue(job_type=WORDS, items=[{"text": "ok"}, {"txt": "typo"}])
        assert (refused.value.field, refused.value.message) == ("items.1", "'text' is a required property")
        with pytest.raises(JobInputError, match="unknown job type"):
            job_enqueue(job_type="no-such-type", items=1)
        job = job_enqueue(job_type=WORDS, items=[{"text": "ok"}])  # the transaction is still usable
    assert finished(job.id).status == JobStatus.SUCCEEDED
    assert Job.objects.count() == 1


def test_an_idempotency_key_gives_the_same_job_in_and_across_transactions(celery_workers: dict[str, int]) -> None:
    with transaction.atomic():
        first = job_enqueue(job_type=WORDS, items=[{"text": "a b"}], idempotency_key="order-42")
        again = job_enqueue(job_type=WORDS, items=[{"text": "a b"}], idempotency_key="order-42")
    later = job_enqueue(job_type=WORDS, items=[{"text": "other"}], idempotency_key="order-42")
    assert first.id == again.id == later.id
    assert finished(first.id).result == {"reduce": 2, "count": 1, "failed": 0}
    assert Job.objects.count() == 1
