"""Jobs, their chunks, their items' inputs and outcomes. An item's outcome row is created when its outcome is recorded
(so starting a million-item job writes one row per chunk, not a million rows, and an item row that exists has an
outcome). Inputs are stored only for jobs that carry real items (`JobItemInput`, written at submit); a job of
generated items (the demo squares: item i's input is i) stores none.

Progress lives in one row per chunk, SET (never incremented) by whoever records that chunk, and is summed on read: no
chunk ever waits on another chunk's lock (the "hot row" problem of a single progress counter). A job is complete when
none of its chunk rows is incomplete, a question a partial index answers without scanning the finished chunks.
"""

from __future__ import annotations

import uuid

from django.db import models


class Workload(models.TextChoices):
    CHUNKED = "chunked"
    CHORD = "chord"
    GROUP = "group"
    CHAIN = "chain"
    MAP = "map"
    STARMAP = "starmap"


class JobStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class Job(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job_type = models.CharField(max_length=64)  # a registered name (celerity.jobs.registry)
    workload = models.CharField(max_length=16, choices=Workload.choices)  # the job type's canvas
    # True when every item's input is a JobItemInput row; False: item i's input is i.
    has_inputs = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.PENDING)
    items = models.PositiveIntegerField()
    chunk_size = models.PositiveIntegerField()
    queue = models.CharField(max_length=64, blank=True, default="")
    item_cost_ms = models.PositiveIntegerField(default=0)
    fail_rate = models.FloatField(default=0.0)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # How many times `POST /api/jobs/{id}/retry` re-ran the failed items; its tasks get ids of their own, since the
    # failure revoked the first ones' (and a worker remembers revoked ids).
    retries = models.PositiveSmallIntegerField(default=0)
    # A client's key for a submit it may retry: the same key answers with this job instead of creating another.
    idempotency_key = models.CharField(max_length=128, null=True, blank=True, unique=True)
    # Set once the canvas is on the broker: a redelivered `job_start` that finds it empty publishes again.
    published_at = models.DateTimeField(null=True, blank=True)
    # The reconciler's memory (services/reconciling.py): the progress it last saw, when that changed, and how many
    # times it re-drove the job since. Written by the reconciler alone, never on the recording path (no hot row).
    progress_seen = models.BigIntegerField(default=0)
    last_progress_at = models.DateTimeField(null=True, blank=True)
    redrives = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ("-created_at",)
        # The reconciler's every pass reads the unfinished jobs: only they are indexed.
        indexes = [
            models.Index(
                fields=("status",), condition=models.Q(status__in=("pending", "running")), name="jobs_job_unfinished"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.job_type} job {self.id} ({self.status})"


class JobChunk(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    start = models.PositiveIntegerField()
    stop = models.PositiveIntegerField()
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    total = models.BigIntegerField(default=0)  # Σ of this chunk's numeric outputs (rounded), e.g. Σ i² for squares
    complete = models.BooleanField(default=False)  # every item of the chunk has an outcome

    class Meta:
        constraints = [models.UniqueConstraint(fields=("job", "index"), name="jobs_chunk_unique_index")]
        # "Is any chunk of this job still open?" is asked after every recording: only open chunks are indexed.
        indexes = [models.Index(fields=("job",), condition=models.Q(complete=False), name="jobs_chunk_open")]

    def __str__(self) -> str:
        return f"chunk {self.index} of {self.job_id}"

    @property
    def size(self) -> int:
        return self.stop - self.start


class ItemState(models.IntegerChoices):
    PENDING = 0  # to be run again: `POST /api/jobs/{id}/retry` reset its failure
    DONE = 1
    FAILED = 2


class Item(models.Model):
    # No database constraint and no index of its own: the recorders insert item rows by the thousand, and Postgres'
    # per-row foreign-key check plus a second index on job_id cost two thirds of each insert (a chord of 10,000:
    # 250 ms against 75 ms). Item rows are only inserted by statements that read their job row in the same
    # statement; deleting a job still deletes its items (Django cascades); and the unique (job, index) index serves
    # every lookup by job.
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False)
    index = models.PositiveIntegerField()
    state = models.SmallIntegerField(choices=ItemState.choices, default=ItemState.PENDING)
    output = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")  # the last attempt's, when it failed
    attempts = models.PositiveSmallIntegerField(default=0)  # runs whose outcome was recorded
    # How many times an outcome was written: stays 1 per attempt when redelivered chunks are ignored (idempotency is
    # testable); an outcome is written only where there was none, or where a retry asked for one (state PENDING).
    writes = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=("job", "index"), name="jobs_item_unique_index")]

    def __str__(self) -> str:
        return f"item {self.index} of {self.job_id}"


class JobItemInput(models.Model):
    """One item's input, for jobs that carry real items; read by the task that runs the item (a chunk reads its own
    range), so no message carries inputs and no worker holds more than a chunk's."""

    # Like Item's: no per-row foreign-key check (an upload inserts a million rows) and no second index on job_id.
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False)
    index = models.PositiveIntegerField()
    input = models.JSONField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=("job", "index"), name="jobs_input_unique_index")]

    def __str__(self) -> str:
        return f"input {self.index} of {self.job_id}"
