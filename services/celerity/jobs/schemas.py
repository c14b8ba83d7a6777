"""Request and response shapes of the jobs API. Strict: unknown fields are refused and no value is coerced (`"10"`,
`true` and `10.0` are not an item count), so what a client sends is what it meant."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from django.conf import settings
from ninja import Schema
from pydantic import ConfigDict, Field, field_validator

WorkloadName = Literal["chunked", "chord", "group", "chain", "map", "starmap"]
StatusName = Literal["pending", "running", "succeeded", "failed", "cancelled"]


class JobIn(Schema):
    model_config = ConfigDict(extra="forbid", strict=True)

    workload: WorkloadName = Field(description="the Celery canvas primitive every item goes through")
    items: int = Field(ge=1, description="process items 0..items-1; per-workload maxima in docs/api.md")
    chunk_size: int | None = Field(default=None, ge=1, description="items per chunk; default and maximum per workload")
    queue: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_.\-]{1,64}$", description="run on this queue (one of CELERITY_QUEUES)"
    )
    item_cost_ms: int = Field(default=0, ge=0, le=60_000, description="simulated work per item, milliseconds")
    fail_rate: float = Field(default=0.0, ge=0.0, le=1.0, description="fraction of items that fail (deterministic)")

    @field_validator("queue")
    @classmethod
    def _known_queue(cls, queue: str | None) -> str | None:
        # A queue no pool consumes would leave the job running forever.
        if queue is not None and queue not in settings.CELERITY_QUEUES:
            raise ValueError(f"unknown queue; one of {', '.join(settings.CELERITY_QUEUES)}")
        return queue


class JobAccepted(Schema):
    id: uuid.UUID
    status: StatusName
    url: str


class ProgressOut(Schema):
    done: int
    failed: int
    total: int


class JobOut(Schema):
    id: uuid.UUID
    workload: WorkloadName
    status: StatusName
    items: int
    chunk_size: int
    queue: str = Field(description="the queue the request named, empty for the workload's default")
    item_cost_ms: int
    fail_rate: float
    progress: ProgressOut
    result: dict[str, int] | None = Field(description='{"sum": Σ i² of the done items, "count": done items}')
    error: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobPage(Schema):
    count: int
    limit: int
    offset: int
    next: str | None
    items: list[JobOut]


class ErrorOut(Schema):
    error: str = Field(
        description="invalid_json, unauthorized, not_found, conflict, too_large, invalid_request, unavailable, internal"
    )
    message: str
    fields: dict[str, str] = Field(default_factory=dict, description="each offending field and why")
