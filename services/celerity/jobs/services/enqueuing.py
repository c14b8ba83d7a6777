"""Submitting a job from Django code that runs inside Celerity: a view, a Celery task, a management command, or an app
installed next to the job types. No HTTP and no token: one call, in the caller's own transaction.

    from django.db import transaction
    from celerity.jobs.services import job_enqueue

    with transaction.atomic():
        order = Order.objects.create(...)
        job = job_enqueue(job_type="checksum", items=[{"text": order.text}], idempotency_key=f"order-{order.pk}")
        order.checksum_job = job.id
        order.save()

The job row is written in the caller's transaction (a savepoint inside it), and its start is sent with
`transaction.on_commit`: only once the caller commits, never before (the seed article's race: a task that runs
before its row is committed finds nothing), and never if the caller rolls back, which leaves no job behind. Outside
any transaction it commits and starts at once. Bad input raises `JobInputError` naming the field, and the caller's
transaction stays usable. An `idempotency_key` already used returns that job and creates nothing, as the API does.
"""

from __future__ import annotations

from collections.abc import Sequence

from celerity.jobs.models import Job
from celerity.jobs.registry import Json
from celerity.jobs.services.creating import job_create
from celerity.jobs.services.validating import JobRequest


def job_enqueue(
    *,
    job_type: str,
    items: int | Sequence[Json],
    chunk_size: int | None = None,
    queue: str | None = None,
    idempotency_key: str | None = None,
) -> Job:
    """A job of `job_type` over `items` (a count N, the items 0..N-1, or the inputs, at most
    CELERITY_MAX_INLINE_ITEMS), started when the caller's transaction commits. `queue` is trusted, as from any
    service caller: name one of CELERITY_QUEUES."""
    request = JobRequest(
        job_type=job_type, items=items, chunk_size=chunk_size, queue=queue, idempotency_key=idempotency_key
    )
    return job_create(request=request)
