"""Request and response shapes of the jobs API. Strict: unknown fields are refused and no value is coerced (`"10"`,
`true` and `10.0` are not an item count), so what a client sends is what it meant."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from django.conf import settings
from ninja import Schema
from pydantic import ConfigDict, Field, field_validator, model_validator

from celerity.jobs.registry import NAME_PATTERN

WorkloadName = Literal["chunked", "chord", "group", "chain", "map", "starmap"]
QUEUE_PATTERN = r"^[A-Za-z0-9_.\-]{1,64}$"
StatusName = Literal["pending", "running", "succeeded", "failed", "cancelled"]


class JobIn(Schema):
    model_config = ConfigDict(extra="forbid", strict=True)

    type: str | None = Field(default=None, pattern=NAME_PATTERN, description="a registered job type")
    workload: WorkloadName | None = Field(
        default=None, description="the demo job type of that canvas (squares; the same as `type`)"
    )
    items: Any = Field(
        description="a count N (item i's input is i, for i in 0..N-1) or the items' inputs as a list of JSON values "
        "(at most CELERITY_MAX_INLINE_ITEMS); per-canvas maxima in docs/api.md",
        json_schema_extra={"anyOf": [{"type": "integer", "minimum": 1}, {"type": "array", "minItems": 1}]},
    )
    chunk_size: int | None = Field(default=None, ge=1, description="items per chunk; default and maximum per workload")
    queue: str | None = Field(
        default=None, pattern=QUEUE_PATTERN, description="run on this queue (one of CELERITY_QUEUES)"
    )
    item_cost_ms: int = Field(default=0, ge=0, le=60_000, description="simulated work per item, milliseconds")
    fail_rate: float = Field(default=0.0, ge=0.0, le=1.0, description="fraction of items that fail (deterministic)")

    @field_validator("items")
    @classmethod
    def _count_or_inputs(cls, items: Any) -> int | list[Any]:
        # Checked by hand: a union of int and list would name its members in the error ("items.list[any]").
        if type(items) is int:  # not bool, not float: nothing is coerced
            if items < 1:
                raise ValueError("a count must be at least 1")
            return items
        if isinstance(items, list):
            if not items:
                raise ValueError("give at least one item")
            return items
        raise ValueError("a count (integer) or a list of items")

    @model_validator(mode="after")
    def _one_type(self) -> JobIn:
        if (self.type is None) == (self.workload is None):
            raise ValueError("give exactly one of type and workload")
        return self

    @property
    def job_type(self) -> str:
        return self.type or str(self.workload)

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
    type: str
    workload: WorkloadName = Field(description="the job type's canvas")
    status: StatusName
    items: int
    chunk_size: int
    queue: str = Field(description="the queue the request named, empty for the workload's default")
    item_cost_ms: int
    fail_rate: float
    progress: ProgressOut
    result: dict[str, Any] | None = Field(
        description='with a reduce: {"reduce": its value over the outputs of the items that succeeded, "count": '
        'items that succeeded, "failed": items that failed}; without: {"sum": Σ of the numeric outputs, "count"}'
    )
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


ItemStateName = Literal["done", "failed", "pending"]


class ItemOut(Schema):
    index: int
    state: ItemStateName
    input: Any = Field(description="the item's input (its index for jobs of generated items)")
    output: Any
    error: str
    attempts: int


class ItemPage(Schema):
    count: int
    limit: int
    offset: int
    next: str | None
    items: list[ItemOut]


class JobTypeOut(Schema):
    name: str
    canvas: WorkloadName
    queue: str = Field(description="where its items run unless the request names a queue")
    chunk_size: int = Field(description="items per chunk unless the request names a chunk_size")
    max_chunk_size: int
    max_items: int = Field(description="the most items one job of this type takes")
    reduce: bool = Field(description="whether a reduce runs over the successful items' outputs")
    time_limit: float | None = Field(description="seconds one item may run, or null for only the task's limit")
    schema_: dict[str, Any] | None = Field(
        alias="schema", serialization_alias="schema", description="the JSON Schema every item must satisfy, or null"
    )


class JobTypeList(Schema):
    count: int
    items: list[JobTypeOut]


class ErrorOut(Schema):
    error: str = Field(
        description="invalid_json, unauthorized, not_found, conflict, too_large, invalid_request, unavailable, internal"
    )
    message: str
    fields: dict[str, str] = Field(default_factory=dict, description="each offending field and why")
