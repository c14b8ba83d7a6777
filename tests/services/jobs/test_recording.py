"""Recording outcomes: a redelivered chunk or item never double-counts, the last recording finishes the job exactly
once, and a stopped job records nothing more. Real Postgres; the test plays the workers' part."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pytest

from celerity.jobs import services
from celerity.jobs.models import Item, ItemState, Job, JobChunk, JobStatus, Workload
from celerity.observability.metrics import ITEMS_PROCESSED_TOTAL, JOBS_TOTAL

pytestmark = pytest.mark.django_db(transaction=True)


def squares(start: int, stop: int) -> list[int | None]:
    return [i * i for i in range(start, stop)]


def counter_value(counter: object) -> float:
    return float(counter._value.get())  # type: ignore[attr-defined]


def test_recording_a_chunk_twice_counts_it_once(started_job: Callable[..., Job]) -> None:
    job = started_job(Workload.CHUNKED, items=20, chunk_size=10)
    items = ITEMS_PROCESSED_TOTAL.labels(workload="chunked")
    before = counter_value(items)
    assert services.job_chunk_record(job_id=str(job.id), chunk_index=0, values=squares(0, 10)) == 10
    assert services.job_chunk_record(job_id=str(job.id), chunk_index=0, values=squares(0, 10)) == 0
    chunk = JobChunk.objects.get(job=job, index=0)
    assert (chunk.done, chunk.failed, chunk.total, chunk.complete) == (10, 0, sum(squares(0, 10)), True)
    assert set(Item.objects.filter(job=job, index__lt=10).values_list("writes", flat=True)) == {1}
    assert counter_value(items) == before + 10, "only newly recorded items are counted"
    assert Job.objects.get(id=job.id).status == JobStatus.RUNNING


def test_the_last_chunk_finishes_the_job_exactly_once(started_job: Callable[..., Job]) -> None:
    job = started_job(Workload.CHUNKED, items=20, chunk_size=10)
    failed_jobs = JOBS_TOTAL.labels(workload="chunked", status="failed")
    before = counter_value(failed_jobs)
    services.job_chunk_record(job_id=str(job.id), chunk_index=1, values=squares(10, 20))
    services.job_chunk_record(job_id=str(job.id), chunk_index=0, values=[None, *squares(1, 10)])
    services.job_chunk_record(job_id=str(job.id), chunk_index=0, values=[0] * 10)  # a late redelivery
    finished = Job.objects.get(id=job.id)
    assert finished.status == JobStatus.FAILED
    assert finished.result == {"sum": sum(i * i for i in range(1, 20)), "count": 19}
    assert finished.error == "1 of 20 items failed"
    assert finished.finished_at is not None
    assert Item.objects.get(job=job, index=0).state == ItemState.FAILED
    assert counter_value(failed_jobs) == before + 1


def test_a_chunk_with_the_wrong_number_of_outcomes_is_refused(started_job: Callable[..., Job]) -> None:
    job = started_job(Workload.CHUNKED, items=20, chunk_size=10)
    with pytest.raises(ValueError, match="has 10 items, got 9"):
        services.job_chunk_record(job_id=str(job.id), chunk_index=0, values=squares(0, 9))
    assert not Item.objects.filter(job=job).exclude(state=ItemState.PENDING).exists()


@pytest.mark.parametrize("stop", ["cancel", "fail"])
def test_a_stopped_job_records_nothing_more(started_job: Callable[..., Job], stop: str) -> None:
    job = started_job(Workload.CHUNKED, items=10, chunk_size=10)
    if stop == "cancel":
        services.job_cancel(job_id=job.id)
    else:
        services.job_fail(job_id=job.id, error="RuntimeError: boom")
    assert services.job_chunk_record(job_id=str(job.id), chunk_index=0, values=squares(0, 10)) == 0
    assert services.job_item_record(job_id=str(job.id), index=3, value=9) is False
    assert not Item.objects.filter(job=job).exclude(state=ItemState.PENDING).exists()
    assert Job.objects.get(id=job.id).status == ("cancelled" if stop == "cancel" else "failed")
    assert services.item_square(index=3, job_id=str(job.id)) is None, "items skip their work once the job stopped"


def test_group_members_record_their_own_items_and_the_last_closes_the_job(started_job: Callable[..., Job]) -> None:
    job = started_job(Workload.GROUP, items=7, chunk_size=3)
    for index in (6, 0, 1, 3, 4, 5):
        assert services.job_item_record(job_id=str(job.id), index=index, value=index * index) is True
    chunks = dict(JobChunk.objects.filter(job=job).values_list("index", "complete"))
    assert chunks == {0: False, 1: True, 2: True}
    assert JobChunk.objects.get(job=job, index=1).total == 9 + 16 + 25
    assert services.job_item_record(job_id=str(job.id), index=0, value=0) is False  # redelivered member
    assert Job.objects.get(id=job.id).status == JobStatus.RUNNING
    assert services.job_item_record(job_id=str(job.id), index=2, value=None) is True  # an injected failure
    finished = Job.objects.get(id=job.id)
    assert finished.status == JobStatus.FAILED
    assert finished.result == {"sum": sum(i * i for i in range(7)) - 4, "count": 6}
    assert set(Item.objects.filter(job=job).values_list("writes", flat=True)) == {1}


def test_a_member_redelivered_after_its_worker_died_still_closes_the_job(started_job: Callable[..., Job]) -> None:
    """The worker recorded the last item, then died before its completion check; the redelivery finishes the job."""
    job = started_job(Workload.GROUP, items=2, chunk_size=2)
    services.job_item_record(job_id=str(job.id), index=0, value=0)
    Item.objects.create(job=job, index=1, state=ItemState.DONE, value=1, writes=1)  # committed, then lost
    assert Job.objects.get(id=job.id).status == JobStatus.RUNNING
    assert services.job_item_record(job_id=str(job.id), index=1, value=1) is False
    assert Job.objects.get(id=job.id).result == {"sum": 1, "count": 2}


def test_the_chord_body_records_the_whole_header_chunk_by_chunk(started_job: Callable[..., Job]) -> None:
    job = started_job(Workload.CHORD, items=25, chunk_size=10)
    assert services.job_chord_record(job_id=str(job.id), values=squares(0, 25)) == 25
    assert list(JobChunk.objects.filter(job=job).order_by("index").values_list("done", flat=True)) == [10, 10, 5]
    assert Job.objects.get(id=job.id).result == {"sum": sum(squares(0, 25)), "count": 25}  # type: ignore[arg-type]
    assert services.job_chord_record(job_id=str(job.id), values=squares(0, 25)) == 0


@pytest.mark.parametrize("workload", [Workload.CHUNKED, Workload.CHORD])
def test_a_missing_chunk_row_fails_the_recording_and_writes_nothing(
    started_job: Callable[..., Job], workload: Workload
) -> None:
    job = started_job(workload, items=20, chunk_size=10)
    JobChunk.objects.filter(job=job, index=1).delete()
    record = (
        partial(services.job_chord_record, job_id=str(job.id), values=squares(0, 20))
        if workload is Workload.CHORD
        else partial(services.job_chunk_record, job_id=str(job.id), chunk_index=1, values=squares(10, 20))
    )
    with pytest.raises(JobChunk.DoesNotExist):
        record()
    assert not Item.objects.filter(job=job).exists(), "the items were rolled back with the failed statement"
    assert JobChunk.objects.get(job=job, index=0).done == 0


def test_a_chunk_task_computes_and_records_its_items_in_one_go(started_job: Callable[..., Job]) -> None:
    job = started_job(Workload.CHUNKED, items=15, chunk_size=10)
    assert services.job_chunk_run(job_id=str(job.id), chunk_index=1, start=10, stop=15) == 5
    assert services.job_chunk_run(job_id=str(job.id), chunk_index=1, start=10, stop=15) == 0  # redelivered
    assert dict(Item.objects.filter(job=job).values_list("index", "value")) == {i: i * i for i in range(10, 15)}
    assert services.job_chunk_run(job_id=str(job.id), chunk_index=0, start=0, stop=10, fail_rate=1.0) == 10
    finished = Job.objects.get(id=job.id)
    assert (finished.status, finished.result) == (JobStatus.FAILED, {"sum": sum(squares(10, 15)), "count": 5})


def test_chain_steps_accumulate_outcomes(started_job: Callable[..., Job]) -> None:
    job = started_job(Workload.CHAIN, items=3, chunk_size=3, fail_rate=0.0)
    outcomes: list[int | None] = []
    for index in range(3):
        outcomes = services.chain_step(previous=outcomes, index=index, job_id=str(job.id))
    assert outcomes == [0, 1, 4]
