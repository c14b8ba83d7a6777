"""The jobs API (django-ninja): parse, call one service or selector, shape the answer. What a failure answers (a JSON
4xx, a 503 to retry) is `api_errors`."""

from __future__ import annotations

import dataclasses
import hmac
import uuid
from typing import Annotated, Any, cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Status
from ninja.security import HttpBearer
from pydantic import Field

from celerity.jobs import api_errors, canvases, selectors, services
from celerity.jobs.errors import JobInputError, JobNotFoundError
from celerity.jobs.models import Job, JobStatus
from celerity.jobs.registry import NAME_PATTERN
from celerity.jobs.schemas import (
    QUEUE_PATTERN,
    ErrorOut,
    ItemOut,
    ItemPage,
    ItemStateName,
    JobAccepted,
    JobIn,
    JobOut,
    JobPage,
    JobTypeList,
    ProgressOut,
    StatusName,
    WorkloadName,
)

IDEMPOTENCY_KEY_MAX = 128  # the column's width
NDJSON = "application/x-ndjson"


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> str | None:
        return token if hmac.compare_digest(token.encode(), settings.CELERITY_API_TOKEN.encode()) else None


api = NinjaAPI(
    title="Celerity jobs API",
    version="1.0",
    auth=BearerToken(),
    openapi_url="/openapi.json",
    docs_url="/docs",
    urls_namespace="api",
)
api_errors.install(api)  # every failure answers in the API's one error shape (api_errors.py)


def _idempotency_key(request: HttpRequest) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX:
        raise JobInputError("Idempotency-Key", f"must be 1..{IDEMPOTENCY_KEY_MAX} characters")
    return key


def _next_page(path: str, *, count: int, limit: int, offset: int, **filters: str | None) -> str | None:
    """The URL of the page after this one, with the same filters (only those given), or None on the last page."""
    if offset + limit >= count:
        return None
    query = "".join(f"&{name}={value}" for name, value in filters.items() if value)
    return f"{path}?limit={limit}&offset={offset + limit}{query}"


def _job_out(job: Job) -> JobOut:
    progress = selectors.job_progress_get(job=job)
    return JobOut(
        id=job.id,
        type=job.job_type,
        workload=cast(WorkloadName, job.workload),
        status=cast(StatusName, job.status),
        items=job.items,
        chunk_size=job.chunk_size,
        queue=job.queue,
        item_cost_ms=job.item_cost_ms,
        fail_rate=job.fail_rate,
        progress=ProgressOut(done=progress.done, failed=progress.failed, total=progress.total),
        result=job.result,
        error=job.error,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


@api.post("/jobs", response={202: JobAccepted, 401: ErrorOut, 413: ErrorOut, 422: ErrorOut, 503: ErrorOut})
def job_create(request: HttpRequest, payload: JobIn) -> Status[JobAccepted]:
    """`Idempotency-Key`: a retried submit with the same key answers with the first job and creates nothing."""
    key = _idempotency_key(request)
    fields = payload.model_dump(exclude={"workload", "type"})
    job = services.job_create(request=services.JobRequest(job_type=payload.job_type, idempotency_key=key, **fields))
    url = request.build_absolute_uri(f"/api/jobs/{job.id}")
    return Status(202, JobAccepted(id=job.id, status=cast(StatusName, job.status), url=url))


@api.post(
    "/jobs/upload",
    response={202: JobAccepted, 401: ErrorOut, 404: ErrorOut, 415: ErrorOut, 422: ErrorOut},
    openapi_extra={"requestBody": {"content": {NDJSON: {"schema": {"type": "string"}}}, "required": True}},
)
def job_upload(
    request: HttpRequest,
    type: Annotated[str, Field(pattern=NAME_PATTERN)],
    chunk_size: Annotated[int | None, Field(ge=1)] = None,
    queue: Annotated[str | None, Field(pattern=QUEUE_PATTERN)] = None,
) -> Status[JobAccepted] | HttpResponse:
    """One item per line (NDJSON), streamed: up to CELERITY_MAX_UPLOAD_ITEMS, never all in memory."""
    if request.content_type not in (NDJSON, "application/jsonl"):
        return api_errors.error_response(415, "unsupported_media_type", f"send {NDJSON}", {"Content-Type": NDJSON})
    if queue is not None and queue not in settings.CELERITY_QUEUES:
        raise JobInputError("queue", f"unknown queue; one of {', '.join(settings.CELERITY_QUEUES)}")
    key = _idempotency_key(request)
    job_request = services.JobRequest(job_type=type, items=0, chunk_size=chunk_size, queue=queue, idempotency_key=key)
    lines = services.Lines(request, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    job = services.job_upload(request=job_request, lines=lines)
    url = request.build_absolute_uri(f"/api/jobs/{job.id}")
    return Status(202, JobAccepted(id=job.id, status=cast(StatusName, job.status), url=url))


@api.get("/jobs", response={200: JobPage, 401: ErrorOut, 422: ErrorOut, 503: ErrorOut})
def job_list(
    request: HttpRequest,
    limit: Annotated[int, Field(ge=1, le=100)] = 20,
    offset: Annotated[int, Field(ge=0, le=1_000_000)] = 0,
    status: StatusName | None = None,
    type: Annotated[str | None, Field(pattern=NAME_PATTERN)] = None,
) -> JobPage:
    jobs = selectors.job_list(status=JobStatus(status) if status else None, job_type=type)
    count = jobs.count()
    page = [_job_out(job) for job in jobs[offset : offset + limit]]
    following = _next_page("/api/jobs", count=count, limit=limit, offset=offset, status=status, type=type)
    return JobPage(count=count, limit=limit, offset=offset, next=following, items=page)


@api.get("/types", response={200: JobTypeList, 401: ErrorOut}, by_alias=True)
def job_type_list(request: HttpRequest) -> dict[str, Any]:
    """The registered job types and the defaults a request without them gets."""
    types = [dataclasses.asdict(summary) for summary in canvases.job_type_list()]
    return {"count": len(types), "items": types}  # a dict: ninja reads `schema` by its alias from it


@api.get("/jobs/{job_id}", response={200: JobOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut, 503: ErrorOut})
def job_detail(request: HttpRequest, job_id: uuid.UUID) -> JobOut:
    job = selectors.job_get(job_id=job_id)
    if job is None:
        raise JobNotFoundError(f"no job {job_id}")
    return _job_out(job)


@api.post(
    "/jobs/{job_id}/cancel",
    response={202: JobOut, 401: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut, 503: ErrorOut},
)
def job_cancel(request: HttpRequest, job_id: uuid.UUID) -> Status[JobOut]:
    """Revokes the job's outstanding work; the job is `cancelled` at once. A finished job answers 409."""
    return Status(202, _job_out(services.job_cancel(job_id=job_id)))


@api.post("/jobs/{job_id}/retry", response={202: JobOut, 401: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut})
def job_retry(request: HttpRequest, job_id: uuid.UUID) -> Status[JobOut]:
    """Re-runs only the failed items of a failed job (409 otherwise); the reduce runs again when they are recorded."""
    return Status(202, _job_out(services.job_retry(job_id=job_id)))


@api.get("/jobs/{job_id}/items", response={200: ItemPage, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut})
def job_items(
    request: HttpRequest,
    job_id: uuid.UUID,
    state: ItemStateName | None = None,
    limit: Annotated[int, Field(ge=1, le=1000)] = 100,
    offset: Annotated[int, Field(ge=0)] = 0,
) -> ItemPage:
    """The job's recorded items in index order, each with its input, output or error, and attempts."""
    if selectors.job_status_get(job_id=job_id) is None:
        raise JobNotFoundError(f"no job {job_id}")
    count, page = selectors.job_items_page(job_id=job_id, state=state, limit=limit, offset=offset)
    following = _next_page(f"/api/jobs/{job_id}/items", count=count, limit=limit, offset=offset, state=state)
    items = [ItemOut(**row) for row in page]
    return ItemPage(count=count, limit=limit, offset=offset, next=following, items=items)
