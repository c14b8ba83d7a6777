"""Writes of the jobs app. Every task is dispatched only after the commit of the rows it needs.

- `submitting`: validate and create a job, start it (chunk rows), publish its work.
- `recording`: compute items, record outcomes (one statement per chunk, idempotent), detect completion.
- `finishing`: finish, fail and cancel jobs, each through one guarded UPDATE.
"""

from celerity.jobs.services.finishing import job_cancel, job_fail, job_finish
from celerity.jobs.services.recording import (
    chain_step,
    item_square,
    job_chord_record,
    job_chunk_record,
    job_chunk_run,
    job_item_record,
    job_item_run,
)
from celerity.jobs.services.submitting import JobRequest, job_create, job_publish, job_start

__all__ = [
    "JobRequest",
    "chain_step",
    "item_square",
    "job_cancel",
    "job_chord_record",
    "job_chunk_record",
    "job_chunk_run",
    "job_create",
    "job_fail",
    "job_finish",
    "job_item_record",
    "job_item_run",
    "job_publish",
    "job_start",
]
