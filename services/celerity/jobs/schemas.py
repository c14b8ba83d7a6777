"""Request and response shapes of the jobs API. Unknown fields are refused, never silently ignored."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from ninja import Schema
from pydantic import ConfigDict, Field


class JobIn(Schema):
    model_config = ConfigDict(extra="forbid")

    workload: Literal["chunked", "chord", "group", "chain", "map", "starmap"]
    items: int = Field(ge=1, description="process items 0..items-1; per-workload maxima in docs/api.md")
    chunk_size: int | None = Field(default=None, ge=1, le=10_000, description="items per chunk (default 100)")
    queue: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.\-]{1,64}$", description="override the pool")
    item_cost_ms: int = Field(default=0, ge=0, le=60_000, description="simulated work per item, milliseconds")
    fail_rate: float = Field(default=0.0, ge=0.0, le=1.0, description="fraction of items that fail (deterministic)")


class JobAccepted(Schema):
    id: uuid.UUID
    status: str
    url: str


class ProgressOut(Schema):
    done: int
    failed: int
    total: int


class JobOut(Schema):
    id: uuid.UUID
    workload: str
    status: str
    items: int
    chunk_size: int
    queue: str
    progress: ProgressOut
    result: dict[str, int] | None
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
    error: str
    message: str
    fields: dict[str, str] = Field(default_factory=dict)
