"""A job task's failure fails its job, except a chord member that Celery revoked under a running job (a connection
loss kills a member before its start and records it as revoked): that chord runs again, counted as a re-drive."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from celery.exceptions import ChordError
from django.test import override_settings

from celerity.jobs import services
from celerity.jobs.models import Job, JobStatus, Workload

pytestmark = pytest.mark.django_db(transaction=True)

REVOKED = ChordError("Dependency 6f0e-i17 raised TaskRevokedError('terminated')")
RAISED = ChordError("Dependency 6f0e-i17 raised ValueError('bad input')")


def test_a_chord_whose_member_was_revoked_runs_again_and_counts_it(
    started_job: Callable[..., Job], sent: dict[str, list[Any]]
) -> None:
    job = started_job(Workload.CHORD, items=20, chunk_size=10)
    published = len(sent["canvases"])
    services.job_task_failed(job_id=str(job.id), exc=REVOKED)
    again = Job.objects.get(id=job.id)
    assert (again.status, again.redrives, again.error) == (JobStatus.RUNNING, 1, "")
    assert sent["canvases"][published:] == [job.id], "its chord was published again"


@override_settings(CELERITY_RECONCILE_MAX_REDRIVES=2)
def test_a_chord_that_keeps_losing_members_fails_after_its_redrives(
    started_job: Callable[..., Job], sent: dict[str, list[Any]]
) -> None:
    job = started_job(Workload.CHORD, items=20, chunk_size=10)
    for _ in range(3):
        services.job_task_failed(job_id=str(job.id), exc=REVOKED)
    failed = Job.objects.get(id=job.id)
    assert (failed.status, failed.redrives) == (JobStatus.FAILED, 2)
    assert failed.error == f"ChordError: {REVOKED}"


@pytest.mark.parametrize(
    ("workload", "exc"),
    [(Workload.CHORD, RAISED), (Workload.CHORD, RuntimeError("boom")), (Workload.CHUNKED, REVOKED)],
    ids=["a-member-raised", "a-task-raised", "not-a-chord"],
)
def test_any_other_failure_fails_the_job(started_job: Callable[..., Job], workload: Workload, exc: Exception) -> None:
    job = started_job(workload, items=20, chunk_size=10)
    services.job_task_failed(job_id=str(job.id), exc=exc)
    failed = Job.objects.get(id=job.id)
    assert (failed.status, failed.redrives) == (JobStatus.FAILED, 0)
    assert failed.error == f"{type(exc).__name__}: {exc}"


def test_a_cancelled_chord_is_not_run_again(started_job: Callable[..., Job], sent: dict[str, list[Any]]) -> None:
    job = started_job(Workload.CHORD, items=20, chunk_size=10)
    services.job_cancel(job_id=job.id)
    published = len(sent["canvases"])
    services.job_task_failed(job_id=str(job.id), exc=REVOKED)
    assert Job.objects.get(id=job.id).status == JobStatus.CANCELLED
    assert len(sent["canvases"]) == published
