"""The reconciler's pass: Postgres is the source of truth, so a job that the broker forgot (a Redis restart, a publish
cut off half-way, a start message lost at submit) is found there and driven again.

Each pass reads every unfinished job with its progress (summed from the chunk rows), remembers on the job row when
that progress last changed, and asks the pure `decide` what to do with a job that made none for the bound:

| the job | the action |
|---|---|
| every chunk complete, still `running` (its finisher was lost) | finish it |
| progress within the bound (within 4 bounds while its queues hold waiting messages) | wait |
| `pending` (its start message was lost) | send `job_start` again |
| `running`, never fully published (the publish was cut off) | publish it |
| `running`, published, chunks open | publish the open chunks again (a chord: over their items) |
| as above, `max_redrives` re-drives without progress since, and its queues empty | fail it, saying why |

Re-driving is harmless when the work was only slow: recording is idempotent, and a start or publish finds what was
already done. Progress resets the count, so only consecutive fruitless re-drives fail a job.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from celerity.jobs import canvases, selectors
from celerity.jobs.models import Job, JobStatus
from celerity.jobs.services.creating import job_start_send
from celerity.jobs.services.finishing import job_fail, job_finish
from celerity.jobs.services.publishing import job_publish
from celerity.observability.reconciler_metrics import (
    RECONCILER_CHUNKS_REPUBLISHED_TOTAL,
    RECONCILER_JOBS_FAILED_TOTAL,
    RECONCILER_JOBS_REDRIVEN_TOTAL,
)

log = logging.getLogger(__name__)


class Action(enum.StrEnum):
    WAIT = "wait"
    FINISH = "finish"
    START = "start"
    PUBLISH = "publish"
    REPUBLISH = "republish"
    FAIL = "fail"


@dataclass(frozen=True)
class Observation:
    status: str
    idle_seconds: float  # since the progress last changed (or the job was created)
    published: bool
    open_chunks: int
    chunks: int
    redrives: int
    waiting: int  # messages waiting in the job's queues


# A queue that never empties (other jobs keep it busy) must not hide a lost message for ever: with messages waiting,
# a silent job is re-driven after this many bounds instead of one, and never failed.
BACKLOG_PATIENCE = 4


def decide(observation: Observation, *, bound: float, max_redrives: int) -> Action:
    """What to do with one unfinished job; pure, so every case is tested without a database or a broker."""
    o = observation
    if o.status == JobStatus.RUNNING and o.chunks and not o.open_chunks:
        return Action.FINISH
    if o.idle_seconds < bound * (BACKLOG_PATIENCE if o.waiting else 1):
        return Action.WAIT  # a backlog is not a loss: its messages may be behind others'
    if o.redrives >= max_redrives and not o.waiting:
        return Action.FAIL  # never while its queues are busy: it may only be waiting, and a re-drive is harmless
    if o.status == JobStatus.PENDING:
        return Action.START
    return Action.REPUBLISH if o.published else Action.PUBLISH


@dataclass
class Summary:
    jobs: int = 0
    stuck: int = 0  # idle past the bound, whatever was done about it
    actions: dict[str, int] | None = None


def jobs_reconcile(*, bound: float, max_redrives: int, waiting: dict[str, int], now: datetime | None = None) -> Summary:
    """One pass over the unfinished jobs; `waiting` is the broker's backlog per queue (read by the caller)."""
    now = now or timezone.now()
    summary = Summary(actions={})
    for job in _unfinished():
        summary.jobs += 1
        idle = _idle_seconds(job, now)
        observation = Observation(
            status=job.status,
            idle_seconds=idle,
            published=job.published_at is not None,
            open_chunks=job.open_chunks,  # type: ignore[attr-defined]
            chunks=job.chunk_count,  # type: ignore[attr-defined]
            redrives=job.redrives,
            waiting=sum(waiting.get(queue, 0) for queue in set(canvases.job_queues(job))),
        )
        summary.stuck += idle >= bound
        action = decide(observation, bound=bound, max_redrives=max_redrives)
        if action is not Action.WAIT:
            assert summary.actions is not None
            summary.actions[action] = summary.actions.get(action, 0) + 1
            _act(job, action, idle, max_redrives, now)
    return summary


def _unfinished() -> list[Job]:
    jobs = Job.objects.filter(status__in=(JobStatus.PENDING, JobStatus.RUNNING)).annotate(
        progress=Coalesce(Sum(F("chunks__done") + F("chunks__failed")), 0) + Count("chunks", Q(chunks__complete=True)),
        open_chunks=Count("chunks", Q(chunks__complete=False)),
        chunk_count=Count("chunks"),
    )
    return list(jobs.order_by("created_at"))


def _idle_seconds(job: Job, now: datetime) -> float:
    """Seconds since the job last moved; records the move when its progress changed since the last pass."""
    progress = int(job.progress)  # type: ignore[attr-defined]
    if progress != job.progress_seen:
        Job.objects.filter(id=job.id).update(progress_seen=progress, last_progress_at=now, redrives=0)
        job.redrives = 0
        return 0.0
    since = job.last_progress_at or job.started_at or job.created_at
    return max((now - since).total_seconds(), 0.0)


def _act(job: Job, action: Action, idle: float, max_redrives: int, now: datetime) -> None:
    job_id = str(job.id)
    if action is Action.FINISH:
        job_finish(job_id=job_id)
        return
    if action is Action.FAIL:
        error = (
            f"no progress for {idle:.0f} s after {job.redrives} re-drives by the reconciler (max {max_redrives}): "
            "its work was lost or cannot run; see docs/reliability.md"
        )
        if job_fail(job_id=job_id, error=error):
            RECONCILER_JOBS_FAILED_TOTAL.inc()
            log.warning("job %s failed: %s", job_id, error)
        return
    # Count the attempt first: a re-drive that dies half-way still counts, so the attempts stay bounded.
    counted = Job.objects.filter(id=job.id, status=job.status, redrives=job.redrives).update(
        redrives=job.redrives + 1, last_progress_at=now
    )
    if not counted:
        return  # the job moved meanwhile (finished, started, or another reconciler): look again next pass
    RECONCILER_JOBS_REDRIVEN_TOTAL.labels(action=action.value).inc()
    log.warning("job %s: no progress for %.0f s, re-drive %d: %s", job_id, idle, job.redrives + 1, action.value)
    if action is Action.START:
        job_start_send(job_id=job_id)
    elif action is Action.PUBLISH:
        job_publish(job_id=job_id)
    else:
        chunks = selectors.job_open_chunks(job_id=job_id)
        job_publish(job_id=job_id, chunks=chunks)
        RECONCILER_CHUNKS_REPUBLISHED_TOTAL.inc(len(chunks))
