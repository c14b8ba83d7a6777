"""The reconciler: a pure decision for every kind of stuck job, and its pass on the real database (the broker
replaced by recorders), where time is the `now` it is given."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from celerity.jobs import services
from celerity.jobs.models import Job, JobChunk, JobStatus, Workload
from celerity.jobs.services import reconciling
from celerity.jobs.services.reconciling import Action, Observation, decide
from tests.services.jobs.outcomes import outcomes

BOUND, MAX = 60.0, 3


def seen(**changes: Any) -> Observation:
    base = {
        "status": "running",
        "idle_seconds": 100.0,
        "published": True,
        "open_chunks": 2,
        "chunks": 5,
        "redrives": 0,
        "waiting": 0,
    }
    return Observation(**{**base, **changes})


@pytest.mark.parametrize(
    ("observation", "action"),
    [
        (seen(idle_seconds=10.0), Action.WAIT),
        (seen(waiting=7), Action.WAIT),
        (seen(waiting=7, idle_seconds=BOUND * reconciling.BACKLOG_PATIENCE), Action.REPUBLISH),
        (seen(waiting=7, idle_seconds=BOUND * reconciling.BACKLOG_PATIENCE, redrives=MAX), Action.REPUBLISH),
        (seen(), Action.REPUBLISH),
        (seen(published=False), Action.PUBLISH),
        (seen(status="pending", open_chunks=0, chunks=0), Action.START),
        (seen(redrives=MAX), Action.FAIL),
        (seen(status="pending", chunks=0, open_chunks=0, redrives=MAX), Action.FAIL),
        (seen(open_chunks=0, idle_seconds=0.0), Action.FINISH),
    ],
)
def test_each_kind_of_stuck_job_gets_its_action(observation: Observation, action: Action) -> None:
    assert decide(observation, bound=BOUND, max_redrives=MAX) is action


@given(
    status=st.sampled_from(["pending", "running"]),
    idle=st.floats(0, 10_000),
    published=st.booleans(),
    open_chunks=st.integers(0, 5),
    redrives=st.integers(0, 6),
    waiting=st.integers(0, 3),
)
def test_a_job_is_redriven_only_when_silent_past_the_bound_and_never_failed_behind_a_backlog(
    status: str, idle: float, published: bool, open_chunks: int, redrives: int, waiting: int
) -> None:
    chunks = 0 if status == "pending" else 5
    observation = Observation(status, idle, published, open_chunks, chunks, redrives, waiting)
    action = decide(observation, bound=BOUND, max_redrives=MAX)
    # A backlog only makes the reconciler more patient: it never hides a lost message for ever, and never fails a job.
    stuck = idle >= BOUND * (reconciling.BACKLOG_PATIENCE if waiting else 1)
    if action not in (Action.WAIT, Action.FINISH):
        assert stuck
    elif action is Action.WAIT:
        assert not stuck
    assert (action is Action.FAIL) == (stuck and redrives >= MAX and not waiting and action is not Action.FINISH)


pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def redriven(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    calls: list[tuple[str, Any]] = []
    monkeypatch.setattr(reconciling, "job_start_send", lambda job_id: calls.append(("start", job_id)))
    monkeypatch.setattr(reconciling, "job_publish", lambda job_id, chunks=None: calls.append(("publish", chunks)) or 0)
    return calls


def later(seconds: float) -> Any:
    return timezone.now() + timedelta(seconds=seconds)


def reconcile(at: Any, waiting: dict[str, int] | None = None) -> reconciling.Summary:
    return reconciling.jobs_reconcile(bound=BOUND, max_redrives=MAX, waiting=waiting or {}, now=at)


def test_a_pending_job_whose_start_was_lost_is_started_again(
    sent: dict[str, list[Any]], redriven: list[tuple[str, Any]]
) -> None:
    job = services.job_create(request=services.JobRequest(job_type=Workload.CHUNKED, items=10))
    assert reconcile(later(10)).stuck == 0
    assert redriven == []
    summary = reconcile(later(BOUND + 1))
    assert (summary.stuck, redriven) == (1, [("start", str(job.id))])
    assert Job.objects.get(id=job.id).redrives == 1
    reconcile(later(BOUND + 2))
    assert len(redriven) == 1, "the re-drive restarted the clock"


def test_open_chunks_of_a_silent_job_are_published_again(
    started_job: Callable[..., Job], redriven: list[tuple[str, Any]]
) -> None:
    job = started_job(Workload.CHUNKED, items=30, chunk_size=10)
    services.job_chunk_record(job_id=str(job.id), chunk_index=1, outcomes=outcomes([i * i for i in range(10, 20)]))
    reconcile(later(0))  # sees the progress
    reconcile(later(BOUND + 5), waiting={"bulk": 3})
    assert redriven == [], "a job whose queue has a backlog waits"
    reconcile(later(BOUND + 5))
    assert redriven == [("publish", [0, 2])]


def test_a_publish_cut_off_is_published_whole(started_job: Callable[..., Job], redriven: list[Any]) -> None:
    job = started_job(Workload.CHORD, items=30, chunk_size=10)
    Job.objects.filter(id=job.id).update(published_at=None)
    reconcile(later(BOUND + 1))
    assert redriven == [("publish", None)]


def test_progress_resets_the_attempts_and_none_after_the_last_fails_the_job(
    started_job: Callable[..., Job], redriven: list[tuple[str, Any]]
) -> None:
    job = started_job(Workload.CHUNKED, items=30, chunk_size=10)
    reconcile(later(BOUND + 1))
    services.job_chunk_record(job_id=str(job.id), chunk_index=0, outcomes=outcomes([i * i for i in range(10)]))
    reconcile(later(BOUND + 2))
    assert Job.objects.get(id=job.id).redrives == 0
    step = BOUND + 2
    for attempt in range(MAX):
        step += BOUND + 1
        reconcile(later(step))
        assert Job.objects.get(id=job.id).redrives == attempt + 1
    reconcile(later(step + BOUND + 1))
    failed = Job.objects.get(id=job.id)
    assert failed.status == JobStatus.FAILED
    assert f"after {MAX} re-drives" in failed.error
    assert failed.result == {"sum": sum(i * i for i in range(10)), "count": 10}
    assert len(redriven) == 1 + MAX


def test_a_job_whose_finisher_was_lost_is_finished(started_job: Callable[..., Job], redriven: list[Any]) -> None:
    job = started_job(Workload.CHUNKED, items=20, chunk_size=10)
    services.job_chunk_record(job_id=str(job.id), chunk_index=0, outcomes=outcomes([i * i for i in range(10)]))
    JobChunk.objects.filter(job=job, index=1).update(done=10, total=sum(i * i for i in range(10, 20)), complete=True)
    reconcile(later(0))
    assert Job.objects.get(id=job.id).status == JobStatus.SUCCEEDED
    assert redriven == []


def test_the_command_runs_one_pass_over_the_real_broker_and_database(sent: dict[str, list[Any]], settings: Any) -> None:
    """`manage.py reconcile --once`: reads the backlog from Redis, re-drives the job, publishes its gauges."""
    from django.core.management import call_command

    from celerity.observability.reconciler_metrics import RECONCILER_JOBS_STUCK, RECONCILER_LAST_RUN_TIMESTAMP_SECONDS

    job = services.job_create(request=services.JobRequest(job_type=Workload.CHUNKED, items=10))
    assert sent["start"] == [str(job.id)]
    settings.CELERITY_RECONCILE_BOUND = 0.0
    call_command("reconcile", "--once")
    assert sent["start"] == [str(job.id), str(job.id)], "its start was sent again"
    assert Job.objects.get(id=job.id).redrives == 1
    assert RECONCILER_JOBS_STUCK._value.get() >= 1
    assert RECONCILER_LAST_RUN_TIMESTAMP_SECONDS._value.get() > 0


def test_a_pass_whose_redrive_the_broker_refuses_is_skipped_not_crashed(
    started_job: Callable[..., Job], settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis gone between the backlog read and a re-drive's publish: the pass fails (exit 1 with `--once`), the
    process lives on for the next one, and the attempt stays counted."""
    from django.core.management import call_command
    from kombu.exceptions import OperationalError as KombuOperationalError

    def refused(**_: Any) -> int:
        raise KombuOperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    job = started_job(Workload.CHUNKED, items=20, chunk_size=10)
    monkeypatch.setattr(reconciling, "job_publish", refused)
    settings.CELERITY_RECONCILE_BOUND = 0.0
    with pytest.raises(SystemExit) as exited:
        call_command("reconcile", "--once")
    assert exited.value.code == 1
    assert Job.objects.get(id=job.id).redrives == 1
