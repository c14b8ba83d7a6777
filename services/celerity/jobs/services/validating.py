"""What a job request may ask for, checked before anything is written: a registered type, an item count and a chunk
size within the canvas' limits, a task that fits its time budget, inline items that satisfy the type's schema. Every
refusal is a `JobInputError` naming the field, which the API answers with a 422."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from celerity.jobs import canvases
from celerity.jobs.errors import JobInputError
from celerity.jobs.registry import JobType, Json, UnknownJobTypeError, job_type_get, job_type_names


@dataclass(frozen=True)
class JobRequest:
    job_type: str  # a registered name; the demo's six are named after their workloads
    items: int | Sequence[Json]  # a count (item i's input is i) or the items' inputs
    chunk_size: int | None = None
    queue: str | None = None
    item_cost_ms: int = 0
    fail_rate: float = 0.0
    idempotency_key: str | None = None

    @property
    def count(self) -> int:
        return self.items if isinstance(self.items, int) else len(self.items)

    @property
    def inputs(self) -> Sequence[Json] | None:
        return None if isinstance(self.items, int) else self.items


def job_type_of(*, request: JobRequest) -> JobType:
    try:
        return job_type_get(str(request.job_type))
    except UnknownJobTypeError:
        raise JobInputError("type", f"unknown job type; one of {', '.join(job_type_names())}") from None


def job_chunk_size(*, request: JobRequest) -> int:
    """The request's chunk size, or the job type's, or its canvas' default; raises JobInputError naming the field it
    cannot accept."""
    definition = job_type_of(request=request)
    workload = definition.canvas
    limits = canvases.LIMITS[workload]
    ceiling = canvases.max_items(workload)
    if request.inputs is not None and len(request.inputs) > settings.CELERITY_MAX_INLINE_ITEMS:
        raise JobInputError("items", f"at most {settings.CELERITY_MAX_INLINE_ITEMS} inline items")
    if not 1 <= request.count <= ceiling:
        raise JobInputError("items", f"must be 1..{ceiling} for a {workload.value} job")
    chunk_size = request.chunk_size or canvases.type_chunk_size(definition)
    if not 1 <= chunk_size <= limits.max_chunk:
        raise JobInputError("chunk_size", f"must be 1..{limits.max_chunk} for a {workload.value} job")
    if request.item_cost_ms < 0 or not 0.0 <= request.fail_rate <= 1.0:
        field = "item_cost_ms" if request.item_cost_ms < 0 else "fail_rate"
        raise JobInputError(field, "out of range")
    # One task must finish well inside its soft time limit, or it is killed and the job fails.
    budget_ms = settings.CELERY_TASK_SOFT_TIME_LIMIT * 1000 // 2
    per_task = request.item_cost_ms * (min(chunk_size, request.count) if limits.sequential_chunks else 1)
    if per_task > budget_ms:
        field = "chunk_size" if limits.sequential_chunks and request.chunk_size else "item_cost_ms"
        raise JobInputError(
            field,
            f"one task would run {per_task} ms, over the {budget_ms} ms budget (half the "
            "task soft time limit): use smaller chunks or cheaper items",
        )
    return chunk_size


def job_inputs_validate(*, definition: JobType, inputs: Sequence[Json]) -> None:
    """Every item against the job type's schema; the first offence is named by its index and field
    (`items.3.text`)."""
    validator = item_validator(definition=definition)
    for index, item in enumerate(inputs):
        item_validate(validator=validator, index=index, item=item)


def item_validator(*, definition: JobType) -> Draft202012Validator | None:
    return Draft202012Validator(definition.schema) if definition.schema is not None else None


def item_validate(*, validator: Draft202012Validator | None, index: int, item: Json) -> None:
    """Raises JobInputError naming `items.<index>.<field>` when the item fails the schema."""
    if validator is not None and (error := best_match(validator.iter_errors(item))) is not None:
        where = ".".join(["items", str(index), *(str(part) for part in error.absolute_path)])
        raise JobInputError(where, error.message[:500])
