"""Creating, starting and publishing jobs, on the real database (the broker is replaced by a recorder)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.test import override_settings

from celerity.jobs import canvases, services
from celerity.jobs.errors import JobInputError
from celerity.jobs.models import Item, Job, JobChunk, JobStatus, Workload
from celerity.jobs.services import starting

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("workload", list(Workload))
def test_each_workload_has_a_default_chunk_size_and_a_ceiling(sent: dict[str, list[Any]], workload: Workload) -> None:
    limits = canvases.LIMITS[workload]
    job = services.job_create(request=services.JobRequest(job_type=workload, items=canvases.max_items(workload)))
    assert job.chunk_size == limits.default_chunk
    with pytest.raises(JobInputError) as too_many:
        services.job_create(request=services.JobRequest(job_type=workload, items=canvases.max_items(workload) + 1))
    assert too_many.value.field == "items"
    with pytest.raises(JobInputError) as too_big:
        services.job_create(request=services.JobRequest(job_type=workload, items=10, chunk_size=limits.max_chunk + 1))
    assert too_big.value.field == "chunk_size"
    assert Job.objects.count() == 1


@override_settings(CELERY_TASK_SOFT_TIME_LIMIT=10)
def test_a_chunk_must_fit_in_half_the_soft_time_limit(sent: dict[str, list[Any]]) -> None:
    ok = services.JobRequest(job_type=Workload.CHUNKED, items=100, chunk_size=10, item_cost_ms=500)
    services.job_create(request=ok)  # 5 s of work per chunk: within the 5 s budget
    slow = services.JobRequest(job_type=Workload.CHUNKED, items=100, chunk_size=11, item_cost_ms=500)
    with pytest.raises(JobInputError, match="over the 5000 ms budget") as caught:
        services.job_create(request=slow)
    assert caught.value.field == "chunk_size"
    # Per-item workloads run one item per task, so only the item's own cost counts.
    services.job_create(request=services.JobRequest(job_type=Workload.GROUP, items=100, item_cost_ms=5000))


def test_job_start_is_sent_only_after_the_commit(sent: dict[str, list[Any]]) -> None:
    with transaction.atomic():
        job = services.job_create(request=services.JobRequest(job_type=Workload.MAP, items=3))
        assert sent["start"] == []
        assert len(connection.run_on_commit) == 1
    assert sent["start"] == [str(job.id)]


def test_start_creates_the_chunk_rows_and_no_item_rows(
    started_job: Callable[..., Job], sent: dict[str, list[Any]]
) -> None:
    job = started_job(Workload.CHUNKED, items=1005, chunk_size=100)
    assert job.status == JobStatus.RUNNING
    assert job.started_at is not None
    assert job.published_at is not None
    assert sent["canvases"] == [job.id]
    chunks = list(JobChunk.objects.filter(job=job).order_by("index").values_list("index", "start", "stop"))
    assert chunks == [(k, 100 * k, min(100 * k + 100, 1005)) for k in range(11)]
    assert not Item.objects.filter(job=job).exists(), "an item row is written with its outcome, by its recorder"


def test_a_redelivered_start_creates_nothing_twice(started_job: Callable[..., Job], sent: dict[str, list[Any]]) -> None:
    job = started_job(Workload.CHUNKED, items=50, chunk_size=10)
    services.job_start(job_id=str(job.id))
    assert JobChunk.objects.filter(job=job).count() == 5
    assert sent["canvases"] == [job.id], "published once: the second start found it published"


def test_a_start_lost_before_publishing_publishes_on_redelivery(
    started_job: Callable[..., Job], sent: dict[str, list[Any]]
) -> None:
    job = started_job(Workload.CHUNKED, items=50, chunk_size=10)
    Job.objects.filter(id=job.id).update(published_at=None)  # as if the worker died between commit and publish
    services.job_start(job_id=str(job.id))
    assert sent["canvases"] == [job.id, job.id]
    assert JobChunk.objects.filter(job=job).count() == 5


def test_publishing_named_chunks_sends_them_again_even_when_published(
    started_job: Callable[..., Job], monkeypatch: pytest.MonkeyPatch
) -> None:
    job = started_job(Workload.CHUNKED, items=50, chunk_size=10)
    asked: list[Any] = []
    monkeypatch.setattr(canvases, "job_canvases", lambda job, chunks=None: asked.append(chunks) or iter(()))
    assert services.job_publish(job_id=str(job.id)) == 0
    assert asked == [], "the whole job is not published twice"
    services.job_publish(job_id=str(job.id), chunks=[3, 1])
    assert asked == [[3, 1]]
    Job.objects.filter(id=job.id).update(status=JobStatus.CANCELLED)
    services.job_publish(job_id=str(job.id), chunks=[3])
    assert asked == [[3, 1]], "nothing is published for a job that stopped"


def test_a_cancelled_pending_job_never_starts(sent: dict[str, list[Any]]) -> None:
    job = services.job_create(request=services.JobRequest(job_type=Workload.CHUNKED, items=10))
    services.job_cancel(job_id=job.id)
    services.job_start(job_id=str(job.id))
    assert Job.objects.get(id=job.id).status == JobStatus.CANCELLED
    assert not Item.objects.filter(job=job).exists()
    assert sent["canvases"] == []


def test_publishing_stops_when_the_job_is_cancelled_midway(monkeypatch: pytest.MonkeyPatch) -> None:
    class Canvas:
        def __init__(self, job: Job, number: int) -> None:
            self.job, self.number = job, number

        def apply_async(self, **_: Any) -> None:
            published.append(self.number)
            if self.number == 1:
                Job.objects.filter(id=self.job.id).update(status=JobStatus.CANCELLED)

    published: list[int] = []
    monkeypatch.setattr("celerity.jobs.services.creating.job_start_send", lambda *, job_id: None)
    monkeypatch.setattr(canvases, "job_canvases", lambda job, chunks=None: (Canvas(job, n) for n in range(5)))
    job = services.job_create(request=services.JobRequest(job_type=Workload.CHUNKED, items=10))
    services.job_start(job_id=str(job.id))
    assert published == [0, 1]


def test_a_cancel_during_start_does_not_wait_for_it_and_nothing_is_published(
    sent: dict[str, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`job_start` is held inside its row-creating transaction; a cancel meanwhile must not queue behind it (a lock
    timeout turns any wait into an error), and the start, once released, publishes nothing."""
    inserted, release, errors = threading.Event(), threading.Event(), []
    real_rows_create = starting._rows_create

    def rows_create_then_hold(job_id: str) -> None:
        with transaction.atomic():
            real_rows_create(job_id)
            inserted.set()
            release.wait(60)

    monkeypatch.setattr(starting, "_rows_create", rows_create_then_hold)
    job = services.job_create(request=services.JobRequest(job_type=Workload.CHUNKED, items=100_000, chunk_size=10))

    def start() -> None:
        try:
            services.job_start(job_id=str(job.id))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    starter = threading.Thread(target=start)
    starter.start()
    try:
        assert inserted.wait(60), "job_start never reached its rows"
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
        assert services.job_cancel(job_id=job.id).status == JobStatus.CANCELLED
    finally:
        release.set()
        starter.join(60)
    assert errors == []
    assert Job.objects.get(id=job.id).status == JobStatus.CANCELLED
    assert Job.objects.get(id=job.id).started_at is None
    assert sent["canvases"] == [], "nothing is published after the cancel"


def test_named_chunks_are_republished_while_the_job_runs(
    started_job: Callable[..., Job], sent: dict[str, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[Any] = []
    job = started_job(Workload.CHUNKED, items=50, chunk_size=10)
    published_at = job.published_at
    monkeypatch.setattr(canvases, "job_canvases", lambda job, chunks=None: asked.append(chunks) or iter(()))
    services.job_publish(job_id=str(job.id), chunks=[3, 1])
    assert asked == [[3, 1]], "a published job still republishes the chunks it is asked for"
    assert Job.objects.get(id=job.id).published_at == published_at
    assert services.job_publish(job_id=str(job.id)) == 0
    assert asked == [[3, 1]], "the whole job is not published twice"
    services.job_cancel(job_id=job.id)
    assert services.job_publish(job_id=str(job.id), chunks=[3]) == 0
    assert asked == [[3, 1]], "a cancelled job publishes nothing"
