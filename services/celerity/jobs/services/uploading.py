"""A job whose inputs arrive as a stream of NDJSON lines (`POST /api/jobs/upload`): up to a million items, never all in
memory. Each line is parsed and checked against the job type's schema, and every `UPLOAD_BATCH` items go to Postgres
by `COPY`; the web process holds one batch at a time.

All of it is one transaction: a bad line (its item index and field named), too many items or a dropped connection
rolls back the job and every input already copied, so nothing is created; `job_start` is sent after the commit, as
for any job.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

from django.conf import settings
from django.db import connection
from jsonschema import Draft202012Validator

from celerity.jobs.errors import JobInputError
from celerity.jobs.models import Job, JobItemInput
from celerity.jobs.registry import Json
from celerity.jobs.services.creating import job_row_create
from celerity.jobs.services.validating import JobRequest, item_validate, item_validator, job_chunk_size, job_type_of

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
    """Create a job from NDJSON lines (`request.items` is ignored: the lines are the items). Its row is created with
    no items, then counted and given its chunk size once every line is in, in the same transaction."""
    definition = job_type_of(request=request)
    validator = item_validator(definition=definition)

    def fill(job: Job) -> None:
        count = _lines_copy(job, lines, validator)
        chunk_size = job_chunk_size(request=dataclasses.replace(request, items=count))
        Job.objects.filter(id=job.id).update(items=count, chunk_size=chunk_size)

    job = job_row_create(request=request, definition=definition, items=0, chunk_size=1, has_inputs=True, fill=fill)
    job.refresh_from_db()
    return job


def _lines_copy(job: Job, lines: Lines, validator: Draft202012Validator | None) -> int:
    """Parse, check and copy every line in batches; returns how many items there were."""
    ceiling = int(settings.CELERITY_MAX_UPLOAD_ITEMS)
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
    return count


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
