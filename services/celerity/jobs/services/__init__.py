"""Writes of the jobs app. Every task is dispatched only after the commit of the rows it needs.

A job's route, each step a module, each entered from one side only:

- `validating`: what a job request may ask for (`JobRequest` and its checks).
- `creating`: create a job's row and inputs (the API's write), and send its start after the commit.
- `enqueuing`: `job_enqueue`, the one call for Django code inside Celerity: `creating`'s write in the caller's
  transaction, its start sent when that commits.
- `uploading`: create a job from a stream of NDJSON lines, copied to Postgres in batches.
- `starting`: start a job in a worker (chunk rows, pending → running), then publish its work.
- `publishing`: publish a job's canvases (all, or some chunks' again) while it runs.
- `running`: run items of a job type (never writes).
- `recording`: run chunks and items, record outcomes (one statement per chunk, or per group member, idempotent), detect
  completion.
- `chords`: a chord's members write their outcomes in batches; its body records what is missing and closes the job.
- `reconciling`: the reconciler's pass: re-drive the jobs the broker forgot.
- `rerunning`: retry a failed job's failed items.
- `failing`: a job task failed: the job fails, unless a chord member was revoked under it (the chord runs again).
- `finishing`: finish, fail and cancel jobs, each through one guarded UPDATE.
"""

from celerity.jobs.services.chords import chord_member_run, chord_members_flush, job_chord_record
from celerity.jobs.services.creating import job_create
from celerity.jobs.services.enqueuing import job_enqueue
from celerity.jobs.services.failing import job_task_failed
from celerity.jobs.services.finishing import job_cancel, job_fail, job_finish
from celerity.jobs.services.publishing import job_publish
from celerity.jobs.services.recording import (
    chain_step,
    job_chunk_record,
    job_chunk_run,
    job_item_record,
    job_item_run,
)
from celerity.jobs.services.rerunning import job_retry
from celerity.jobs.services.running import item_input_run, item_run, items_run
from celerity.jobs.services.starting import job_start
from celerity.jobs.services.uploading import Lines, job_upload
from celerity.jobs.services.validating import JobRequest

__all__ = [
    "JobRequest",
    "Lines",
    "chain_step",
    "chord_member_run",
    "chord_members_flush",
    "item_input_run",
    "item_run",
    "items_run",
    "job_cancel",
    "job_chord_record",
    "job_chunk_record",
    "job_chunk_run",
    "job_create",
    "job_enqueue",
    "job_fail",
    "job_finish",
    "job_item_record",
    "job_item_run",
    "job_publish",
    "job_retry",
    "job_start",
    "job_task_failed",
    "job_upload",
]
