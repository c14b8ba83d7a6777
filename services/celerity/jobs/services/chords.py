"""A chord's recording: its members write their items behind, in batches; its body closes the job.

Why not one statement in the body, as a chunk has: the body then inserts the whole header's rows after the last
member (10,000 rows: ~60 ms, against ~15 ms for bare Celery's whole callback). Why not one INSERT per member, as a
group's members do: a round trip and a commit per member made a chord of 1,000 ~25% slower than bare Celery's.

So each worker process keeps its members' outcomes in a small buffer (`Members`) and writes it with one statement
(`statements.MEMBERS_RECORD`, which also adds them to their chunk rows, so a chord's progress shows as it runs) every
`BATCH` members, or once its oldest outcome is `BATCH_AGE` old, or when a member of another job comes. The buffer is
only a head start, never the record: the body receives every member's outcome (Celery's chord results), looks for
the items still without a row in the chunks that are not complete (the tails still in the buffers, a buffer lost
with its process, a write that failed), writes exactly those with the same statement, and closes the job. Writers
insert in ascending index order and only where an item has no outcome (`UPSERT`), then lock their chunk rows in
index order, so they can race without deadlocking, and a chunk row grows only by the rows its writer inserted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, connection

from celerity.db.retrying import retrying
from celerity.jobs.models import Job, JobChunk, JobStatus
from celerity.jobs.services import statements
from celerity.jobs.services.recording import ITEM_LOCK, count_recorded, finish_if_complete, outcomes_encoded
from celerity.jobs.services.running import Outcome, item_input_run

logger = logging.getLogger(__name__)

BATCH = 50  # members per write: a chord of 1,000 on 2 processes costs ~20 statements, the body inserts < 100 rows
BATCH_AGE = 1.0  # seconds: slow members are written one by one, so their items show as they finish


@dataclass
class Members:
    """One worker process' outcomes of one job's members, not yet written."""

    job_id: str = ""
    outcomes: dict[int, Outcome] = field(default_factory=dict)  # by index: a redelivered member is kept once
    since: float = 0.0

    def add(self, job_id: str, index: int, outcome: Outcome) -> None:
        if job_id != self.job_id:
            self.flush()
            self.job_id = job_id
        if not self.outcomes:
            self.since = time.monotonic()
        self.outcomes[index] = outcome
        if len(self.outcomes) >= BATCH or time.monotonic() - self.since >= BATCH_AGE:
            self.flush()

    def flush(self) -> int:
        """Write the buffer (items newly written); a failure only logs, since the body records what is missing."""
        outcomes, self.outcomes = self.outcomes, {}
        if not outcomes:
            return 0
        try:
            return members_record(job_id=self.job_id, outcomes=outcomes)
        except DatabaseError as exc:
            connection.close_if_unusable_or_obsolete()
            logger.warning("%d chord members of job %s left to its body: %s", len(outcomes), self.job_id, exc)
            return 0


_members = Members()  # this process' buffer: prefork runs one task at a time per process


def chord_member_run(
    *, job_id: str, job_type: str, index: int, has_inputs: bool, options: Mapping[str, Any]
) -> Outcome:
    """A chord's header member: run its item, buffer its outcome for writing, and return it (the body receives it
    among the header's results)."""
    outcome = item_input_run(job_type=job_type, job_id=job_id, index=index, has_inputs=has_inputs, options=options)
    _members.add(job_id, index, outcome)
    return outcome


def chord_members_flush() -> int:
    """Write this process' buffered member outcomes now (the tests' way to empty it)."""
    return _members.flush()


def members_record(*, job_id: str, outcomes: Mapping[int, Outcome]) -> int:
    """Write some members' outcomes in one statement, in index order; returns how many were newly written."""
    indexes = sorted(outcomes)
    outputs, errors = outcomes_encoded([outcomes[i] for i in indexes])
    with connection.cursor() as cursor:
        params: dict[str, Any] = {"job": job_id, "indexes": indexes, "outputs": outputs, "errors": errors}
        cursor.execute(statements.MEMBERS_RECORD, params)
        row = cursor.fetchone()
    if row is None:
        return 0  # the job stopped (cancelled, failed) or never existed
    job_type, workload, written, failed = row
    count_recorded(job_type, workload, written, failed)
    return int(written)


@retrying(lock=ITEM_LOCK)
def job_chord_record(*, job_id: str, outcomes: Sequence[Outcome]) -> int:
    """The chord's body: find the items without an outcome (one statement, which looks only in the chunks that are not
    complete), write those from the header's outcomes (`members_record`), and close the job. Returns how many items
    the body itself wrote."""
    recorded = 0
    status, expected, missing = _chord_missing(job_id)
    if status == JobStatus.RUNNING and missing:
        if len(outcomes) != expected:
            raise ValueError(f"the chord of {job_id} has {expected} items, got {len(outcomes)}")
        recorded = members_record(job_id=job_id, outcomes={i: outcomes[i] for i in missing})
    finish_if_complete(job_id)
    return recorded


def _chord_missing(job_id: str) -> tuple[str, int, list[int]]:
    """(job status, items, indexes without an outcome while the job runs)."""
    with connection.cursor() as cursor:
        cursor.execute(statements.CHORD_MISSING, {"job": job_id})
        row = cursor.fetchone()
    if row is None:
        raise Job.DoesNotExist(f"no job {job_id}")
    status, expected, missing, chunk_rows_missing = row
    if chunk_rows_missing:
        raise JobChunk.DoesNotExist(f"a chunk row of the job {job_id} is missing")
    return str(status), int(expected), list(missing)
