"""Recording outcomes: a redelivered chunk or item never double-counts, the last recording finishes the job exactly
once, and a stopped job records nothing more. Real Postgres; the test plays the workers' part."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial

import pytest

from celerity.jobs import services
from celerity.jobs.models import Item, ItemState, Job, JobChunk, JobStatus, Workload
from celerity.jobs.services import chords
from celerity.jobs.services.running import Outcome
from celerity.observability.metrics import ITEMS_PROCESSED_TOTAL, JOBS_TOTAL
from tests.services.jobs.outcomes import outcomes

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def empty_member_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process' chord-member buffer starts empty in every test (an earlier test may have left outcomes in it)."""
    monkeypatch.setattr(chords, "_members", chords.Members())


def squares(start: int, stop: int) -> list[int | None]:
    return [i * i for i in range(start, stop)]


def counter_value(counter: object) -> float:
    return float(counter._value.get())  # type: ignore[attr-defined]


def test_recording_a_chunk_twice_counts_it_once(started_job: Callable[..., Job]) -> None:
    job = started_job(Workload.CHUNKED, items=20, chunk_size=10)
    items = ITEMS_PROCESSED_TOTAL.labels(workload="chunked")
    before = counter_value(items)
    assert services.job_chunk_record(job_id=str(job.id), chunk_index=0, outcomes=outcomes(squares(0, 10))) == 10
    assert services.job_chunk_record(job_id=str(job.id), chunk_index=0, outcomes=outcomes(squares(0, 10))) == 0
    chunk = JobChunk.objects.get(job=job, index=0)
    assert (chunk.done, chunk.failed, chunk.total, chunk.complete) == (10, 0, sum(squares(0, 10)), True)
    assert set(Item.objects.filter(job=job, index__lt=10).values_list("writes", flat=True)) == {1}
    assert counter_value(items) == before + 10, "only newly recorded items are counted"
    assert Job.objects.get(id=job.id).status == JobStatus.RUNNING


def test_the_last_chunk_finishes_the_job_exactly_once(started_job: Callable[..., Job]) -> None:
    job = started_job(Workload.CHUNKED, items=20, chunk_size=10)
    failed_jobs = JOBS_TOTAL.labels(workload="chunked", status="failed")
    before = counter_value(failed_jobs)
    services.job_chunk_record(job_id=str(job.id), chunk_index=1, outcomes=outcomes(squares(10, 20)))
    services.job_chunk_record(job_id=str(job.id), chunk_index=0, outcomes=outcomes([None, *squares(1, 10)]))
    services.job_chunk_record(job_id=str(job.id), chunk_index=0, outcomes=outcomes([0] * 10))  # a late redelivery
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
        services.job_chunk_record(job_id=str(job.id), chunk_index=0, outcomes=outcomes(squares(0, 9)))
    assert not Item.objects.filter(job=job).exclude(state=ItemState.PENDING).exists()


@pytest.mark.parametrize("stop", ["cancel", "fail"])
def test_a_stopped_job_records_nothing_more(started_job: Callable[..., Job], stop: str) -> None:
    job = started_job(Workload.CHUNKED, items=10, chunk_size=10)
    if stop == "cancel":
        services.job_cancel(job_id=job.id)
    else:
        services.job_fail(job_id=job.id, error="RuntimeError: boom")
    assert services.job_chunk_record(job_id=str(job.id), chunk_index=0, outcomes=outcomes(squares(0, 10))) == 0
    assert services.job_item_record(job_id=str(job.id), index=3, outcome=(9, None)) is False
    assert not Item.objects.filter(job=job).exclude(state=ItemState.PENDING).exists()
    assert Job.objects.get(id=job.id).status == ("cancelled" if stop == "cancel" else "failed")
    skipped = services.item_run(job_type="chunked", job_id=str(job.id), index=3, item=3, options={})
    assert skipped == services.running.STOPPED, "items skip their work once the job stopped"


def test_group_members_record_their_own_items_and_the_last_closes_the_job(started_job: Callable[..., Job]) -> None:
    job = started_job(Workload.GROUP, items=7, chunk_size=3)
    for index in (6, 0, 1, 3, 4, 5):
        assert services.job_item_record(job_id=str(job.id), index=index, outcome=(index * index, None)) is True
    chunks = dict(JobChunk.objects.filter(job=job).values_list("index", "complete"))
    assert chunks == {0: False, 1: True, 2: True}
    assert JobChunk.objects.get(job=job, index=1).total == 9 + 16 + 25
    assert services.job_item_record(job_id=str(job.id), index=0, outcome=(0, None)) is False  # redelivered member
    assert Job.objects.get(id=job.id).status == JobStatus.RUNNING
    failure = (None, "InjectedFailure: by the test")
    assert services.job_item_record(job_id=str(job.id), index=2, outcome=failure) is True
    finished = Job.objects.get(id=job.id)
    assert finished.status == JobStatus.FAILED
    assert finished.result == {"sum": sum(i * i for i in range(7)) - 4, "count": 6}
    assert set(Item.objects.filter(job=job).values_list("writes", flat=True)) == {1}


def test_a_member_redelivered_after_its_worker_died_still_closes_the_job(started_job: Callable[..., Job]) -> None:
    """The worker recorded the last item, then died before its completion check; the redelivery finishes the job."""
    job = started_job(Workload.GROUP, items=2, chunk_size=2)
    services.job_item_record(job_id=str(job.id), index=0, outcome=(0, None))
    Item.objects.create(job=job, index=1, state=ItemState.DONE, output=1, attempts=1, writes=1)  # committed, then lost
    assert Job.objects.get(id=job.id).status == JobStatus.RUNNING
    assert services.job_item_record(job_id=str(job.id), index=1, outcome=(1, None)) is False
    assert Job.objects.get(id=job.id).result == {"sum": 1, "count": 2}


def test_the_chord_body_records_the_whole_header_chunk_by_chunk(started_job: Callable[..., Job]) -> None:
    job = started_job(Workload.CHORD, items=25, chunk_size=10)
    assert services.job_chord_record(job_id=str(job.id), outcomes=outcomes(squares(0, 25))) == 25
    assert list(JobChunk.objects.filter(job=job).order_by("index").values_list("done", flat=True)) == [10, 10, 5]
    assert Job.objects.get(id=job.id).result == {"sum": sum(squares(0, 25)), "count": 25}  # type: ignore[arg-type]
    assert services.job_chord_record(job_id=str(job.id), outcomes=outcomes(squares(0, 25))) == 0


def run_members(job: Job, indexes: Iterable[int]) -> list[Outcome]:
    return [
        services.chord_member_run(job_id=str(job.id), job_type="chord", index=i, has_inputs=False, options={})
        for i in indexes
    ]


def written(job: Job) -> list[int]:
    return sorted(Item.objects.filter(job=job).values_list("index", flat=True))


def test_chord_members_write_in_batches_and_the_body_inserts_only_the_rest(
    started_job: Callable[..., Job], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chords, "BATCH", 10)
    job = started_job(Workload.CHORD, items=25, chunk_size=10)
    header = run_members(job, [*range(24, 14, -1), *range(15)])  # any order: a batch is written in index order
    assert header == outcomes([*squares(15, 25)[::-1], *squares(0, 15)])
    assert written(job) == [*range(10), *range(15, 25)], "two full batches written, five members still buffered"
    progress = list(JobChunk.objects.filter(job=job).order_by("index").values_list("done", "complete"))
    assert progress == [(10, True), (5, False), (5, True)], "each batch adds to its chunk rows: progress shows"
    assert Job.objects.get(id=job.id).status == JobStatus.RUNNING
    in_order = outcomes(squares(0, 25))
    assert services.job_chord_record(job_id=str(job.id), outcomes=in_order) == 5, "the body wrote the buffered five"
    assert list(JobChunk.objects.filter(job=job).order_by("index").values_list("done", flat=True)) == [10, 10, 5]
    assert Job.objects.get(id=job.id).result == {"sum": sum(squares(0, 25)), "count": 25}  # type: ignore[arg-type]
    assert services.chord_members_flush() == 0, "a late flush of the same items writes nothing"
    assert set(Item.objects.filter(job=job).values_list("writes", flat=True)) == {1}


def test_a_member_of_another_job_or_an_old_buffer_writes_the_buffer(
    started_job: Callable[..., Job], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = (
        started_job(Workload.CHORD, items=5, chunk_size=5),
        started_job(Workload.CHORD, items=5, chunk_size=5),
    )
    run_members(first, [0, 1])
    assert written(first) == []
    run_members(second, [0])
    assert written(first) == [0, 1], "the other job's member wrote the first job's buffer"
    monkeypatch.setattr(chords, "BATCH_AGE", 0.0)
    run_members(second, [1])
    assert written(second) == [0, 1], "an outcome older than BATCH_AGE is written at the next member"


def test_the_chord_body_records_the_outcomes_whose_member_recording_is_missing(
    started_job: Callable[..., Job], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A buffer lost with its worker, a write that failed, or a header from before members wrote: the body inserts
    exactly the missing rows from the outcomes it received."""
    monkeypatch.setattr(chords, "BATCH", 25)
    job = started_job(Workload.CHORD, items=25, chunk_size=10)
    run_members(job, range(25))
    Item.objects.filter(job=job, index__in=(3, 17)).delete()
    header = outcomes([None if i == 17 else i * i for i in range(25)])  # the body's copy says 17 failed
    for k, lost in ((0, 3), (1, 17)):  # the chunk rows lose the counts with the rows
        total = sum(squares(10 * k, 10 * k + 10)) - lost * lost
        JobChunk.objects.filter(job=job, index=k).update(done=9, total=total, complete=False)
    assert services.job_chord_record(job_id=str(job.id), outcomes=header) == 2
    finished = Job.objects.get(id=job.id)
    assert finished.status == JobStatus.FAILED
    assert finished.result == {"sum": sum(squares(0, 25)) - 17 * 17, "count": 24}  # type: ignore[arg-type]
    assert list(JobChunk.objects.filter(job=job).order_by("index").values_list("failed", flat=True)) == [0, 1, 0]
    assert set(Item.objects.filter(job=job).values_list("writes", flat=True)) == {1}


def test_a_failing_batch_write_is_left_to_the_body(
    started_job: Callable[..., Job], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chords, "BATCH", 2)
    job = started_job(Workload.CHORD, items=2, chunk_size=2)
    broken = outcomes([0, 1])
    with monkeypatch.context() as patched:
        patched.setattr(chords.statements, "MEMBERS_RECORD", "SELECT * FROM no_such_table")
        assert run_members(job, [0, 1]) == broken, "the members still succeed"
    assert written(job) == []
    assert services.job_chord_record(job_id=str(job.id), outcomes=broken) == 2
    assert Job.objects.get(id=job.id).result == {"sum": 1, "count": 2}


def test_a_buffer_written_after_its_job_failed_and_was_retried_leaves_the_retried_items_alone(
    started_job: Callable[..., Job], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker process still holds a member's outcome when the body (which wrote it from the header's results) fails
    the job and a retry resets the failed item: writing that old outcome now must not answer for the retry."""
    monkeypatch.setattr("celerity.jobs.services.rerunning.job_publish_after_commit", lambda **_: None)
    job = started_job(Workload.CHORD, items=2, chunk_size=2)
    always_fails = {"fail_rate": 1.0}
    failure = chords.chord_member_run(
        job_id=str(job.id), job_type="chord", index=0, has_inputs=False, options=always_fails
    )
    assert failure[1] is not None, "item 0 failed, and its outcome is still in this process' buffer"
    done = chords.chord_member_run(job_id=str(job.id), job_type="chord", index=1, has_inputs=False, options={})
    assert services.job_chord_record(job_id=str(job.id), outcomes=[failure, done]) == 2
    assert Job.objects.get(id=job.id).status == JobStatus.FAILED
    services.job_retry(job_id=job.id)
    assert Item.objects.get(job=job, index=0).state == ItemState.PENDING
    assert services.chord_members_flush() == 0
    assert Item.objects.get(job=job, index=0).state == ItemState.PENDING, "the retry's own run records it"
    assert services.job_item_record(job_id=str(job.id), index=0, outcome=(0, None)) is True
    assert Job.objects.get(id=job.id).result == {"sum": 1, "count": 2}


def test_chord_members_of_a_stopped_job_record_nothing(started_job: Callable[..., Job]) -> None:
    job = started_job(Workload.CHORD, items=5, chunk_size=5)
    services.job_cancel(job_id=job.id)
    assert chords.members_record(job_id=str(job.id), outcomes={0: (0, None), 1: (None, "boom")}) == 0
    assert services.job_chord_record(job_id=str(job.id), outcomes=outcomes(squares(0, 5))) == 0
    assert not Item.objects.filter(job=job).exists()
    assert Job.objects.get(id=job.id).status == JobStatus.CANCELLED


def test_a_batch_records_failures_and_outputs_that_are_not_json(started_job: Callable[..., Job]) -> None:
    job = started_job(Workload.CHORD, items=3, chunk_size=3)
    batch = {2: ({1, 2}, None), 0: (None, "InjectedFailure: by the test"), 1: (["a", 1], None)}
    assert chords.members_record(job_id=str(job.id), outcomes=batch) == 3  # type: ignore[dict-item]
    rows = {i.index: (i.state, i.output, i.error) for i in Item.objects.filter(job=job)}
    assert rows[0] == (ItemState.FAILED, None, "InjectedFailure: by the test")
    assert rows[1] == (ItemState.DONE, ["a", 1], "")
    assert rows[2][0] == ItemState.FAILED
    assert rows[2][2].startswith("the output is not JSON")


@pytest.mark.parametrize("workload", [Workload.CHUNKED, Workload.CHORD])
def test_a_missing_chunk_row_fails_the_recording_and_writes_nothing(
    started_job: Callable[..., Job], workload: Workload
) -> None:
    job = started_job(workload, items=20, chunk_size=10)
    JobChunk.objects.filter(job=job, index=1).delete()
    record = (
        partial(services.job_chord_record, job_id=str(job.id), outcomes=outcomes(squares(0, 20)))
        if workload is Workload.CHORD
        else partial(services.job_chunk_record, job_id=str(job.id), chunk_index=1, outcomes=outcomes(squares(10, 20)))
    )
    with pytest.raises(JobChunk.DoesNotExist):
        record()
    assert not Item.objects.filter(job=job).exists(), "the items were rolled back with the failed statement"
    assert JobChunk.objects.get(job=job, index=0).done == 0


def test_a_chunk_task_computes_and_records_its_items_in_one_go(started_job: Callable[..., Job]) -> None:
    job = started_job(Workload.CHUNKED, items=15, chunk_size=10)
    run = partial(services.job_chunk_run, job_id=str(job.id), job_type="chunked", has_inputs=False)
    assert run(chunk_index=1, start=10, stop=15, options={}) == 5
    assert run(chunk_index=1, start=10, stop=15, options={}) == 0  # redelivered
    assert dict(Item.objects.filter(job=job).values_list("index", "output")) == {i: i * i for i in range(10, 15)}
    assert run(chunk_index=0, start=0, stop=10, options={"fail_rate": 1.0}) == 10
    failure = Item.objects.get(job=job, index=3)
    assert (failure.state, failure.output, failure.attempts) == (ItemState.FAILED, None, 1)
    assert failure.error == "InjectedFailure: item 3 fails by design (fail_rate)"
    finished = Job.objects.get(id=job.id)
    assert (finished.status, finished.result) == (JobStatus.FAILED, {"sum": sum(squares(10, 15)), "count": 5})


def test_chain_steps_accumulate_outcomes(started_job: Callable[..., Job]) -> None:
    job = started_job(Workload.CHAIN, items=3, chunk_size=3, fail_rate=0.0)
    steps: list[services.running.Outcome] = []
    for index in range(3):
        steps = services.chain_step(
            previous=steps, job_type="chain", index=index, job_id=str(job.id), has_inputs=False, options={}
        )
    assert steps == [(0, None), (1, None), (4, None)]


def test_an_output_that_is_not_json_fails_its_item_alone(started_job: Callable[..., Job]) -> None:
    job = started_job(Workload.CHUNKED, items=6, chunk_size=3)
    chunk: list[Outcome] = [(0, None), ({1, 2}, None), (float("nan"), None)]
    assert services.job_chunk_record(job_id=str(job.id), chunk_index=0, outcomes=chunk) == 3
    rows = {row.index: row for row in Item.objects.filter(job=job)}
    assert (rows[0].state, rows[0].output) == (ItemState.DONE, 0)
    assert rows[1].state == rows[2].state == ItemState.FAILED
    assert rows[1].error.startswith("the output is not JSON: TypeError: Object of type set")
    assert rows[2].error.startswith("the output is not JSON: ValueError: Out of range float")
    group = started_job(Workload.GROUP, items=1, chunk_size=1)
    assert services.job_item_record(job_id=str(group.id), index=0, outcome=({3}, None)) is True
    assert Item.objects.get(job=group).error.startswith("the output is not JSON")
