"""A job whose inputs arrive as a stream of NDJSON lines (`POST /api/jobs/upload`): up to a million items, never all in
memory. Each line is parsed and checked against the job type's schema, and every `UPLOAD_BATCH` items go to Postgres
by `COPY`; the web process holds one batch at a time.

All of it is one transaction: a bad line (its item index and field named), too many items or a dropped connection
rolls back the job and every input already copied, so nothing is created; `job_start` is sent after the commit, as
for any job.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from jsonschema import Draft202012Validator

from celerity.jobs.errors import JobInputError
from celerity.jobs.models import Job, JobItemInput
from celerity.jobs.registry import JobType, Json
from celerity.jobs.services import submitting
from celerity.jobs.services.submitting import JobRequest, item_validate, item_validator, job_chunk_size, job_type_of

UPLOAD_BATCH = 1_000  # inputs per COPY: a MB of JSON at most, whatever the upload's size
COPY = f"COPY {JobItemInput._meta.db_table} (job_id, index, input) FROM STDIN"


class Lines:
    """The request body's lines, each at most `limit` bytes (a longer one is refused, not buffered whole)."""

    def __init__(self, stream: object, limit: int) -> None:
        self.stream, self.limit = stream, limit

    def __iter__(self) -> Iterator[bytes]:
        index = 0
        while line := self.stream.readline(self.limit + 1):  # type: ignore[attr-defined]
            if len(line) > self.limit and not line.endswith(b"\n"):
                raise JobInputError(f"items.{index}", f"a line over {self.limit} bytes")
            if line.strip():
                yield line
                index += 1


def job_upload(*, request: JobRequest, lines: Lines) -> Job:
    """Create a job from NDJSON lines (`request.items` is ignored: the lines are the items)."""
    definition = job_type_of(request=request)
    if request.idempotency_key and (first := Job.objects.filter(idempotency_key=request.idempotency_key).first()):
        return first
    try:
        return _upload(request, lines, definition)
    except IntegrityError:
        # A concurrent upload with the same key committed first (the unique index made this one wait for it).
        first = Job.objects.filter(idempotency_key=request.idempotency_key).first() if request.idempotency_key else None
        if first is None:
            raise
        return first


def _upload(request: JobRequest, lines: Lines, definition: JobType) -> Job:
    validator = item_validator(definition=definition)
    ceiling = int(settings.CELERITY_MAX_UPLOAD_ITEMS)
    with transaction.atomic():
        job = Job.objects.create(
            job_type=definition.name,
            workload=definition.canvas,
            items=0,
            has_inputs=True,
            chunk_size=1,
            queue=request.queue or "",
            item_cost_ms=request.item_cost_ms,
            fail_rate=request.fail_rate,
            idempotency_key=request.idempotency_key or None,
        )
        count, batch = 0, []
        for line in lines:
            if count >= ceiling:
                raise JobInputError("items", f"at most {ceiling} items per upload")
            batch.append((count, _parse(count, line, validator)))
            count += 1
            if len(batch) == UPLOAD_BATCH:
                _copy(job, batch)
                batch = []
        _copy(job, batch)
        if count == 0:
            raise JobInputError("items", "the upload has no items")
        counted = JobRequest(**{**request.__dict__, "items": count})
        Job.objects.filter(id=job.id).update(items=count, chunk_size=job_chunk_size(request=counted))
        job_id = str(job.id)
        transaction.on_commit(lambda: submitting._send_start(job_id))  # looked up now: tests replace it
    job.refresh_from_db()
    return job


def _parse(index: int, line: bytes, validator: Draft202012Validator | None) -> str:
    """The item's JSON text, checked; raises JobInputError naming `items.<index>[.<field>]`."""
    try:
        item: Json = json.loads(line)
    except ValueError:
        raise JobInputError(f"items.{index}", "not valid JSON") from None
    item_validate(validator=validator, index=index, item=item)
    return json.dumps(item)  # one line, whatever whitespace the client sent


def _copy(job: Job, batch: list[tuple[int, str]]) -> None:
    if not batch:
        return
    with connection.cursor() as cursor, cursor.cursor.copy(COPY) as copy:
        for index, text in batch:
            copy.write_row((job.id, index, text))
