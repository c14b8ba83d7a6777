"""Job types: what one item does, registered by name by any Django app (as kopf registers handlers).

    from celerity.jobs.registry import job_type

    @job_type("checksum", queue="bulk", chunk_size=100, schema={"type": "object", "required": ["text"]})
    def checksum(item: dict) -> str:
        return hashlib.sha256(item["text"].encode()).hexdigest()

The function takes one item's input (JSON) and returns its output (JSON); raising fails that item only, with the
exception as its error. A function with a `context` parameter also gets the item's `ItemContext`. Register in your
app's `AppConfig.ready()` (or a module it imports), so the web and every worker know the same types: only registered
names are accepted by the API and become metric label values.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from celerity.jobs.models import Workload

Json = Any  # what json.loads returns: None, bool, int, float, str, list, dict
Reduce = Callable[[Iterator[Json]], Json]  # gets the outputs streamed: `sum(outputs)`, or `list(outputs)` if you must
ItemFunction = Callable[..., Json]
NAME_PATTERN = r"^[a-z][a-z0-9_.\-]{0,63}$"


class ItemContext:
    """What an item function may want beyond its input: which job and item it is, and the job's options (the load
    tests' simulated cost and failure rate are such options). A plain slotted class: one is made per item, on the hot
    path, where a frozen dataclass costs several times more."""

    __slots__ = ("index", "job_id", "options")

    def __init__(self, *, job_id: str, index: int, options: Mapping[str, Any] = MappingProxyType({})) -> None:
        self.job_id, self.index, self.options = job_id, index, options

    def __repr__(self) -> str:
        return f"ItemContext(job_id={self.job_id!r}, index={self.index})"


@dataclass(frozen=True)
class JobType:
    name: str
    function: ItemFunction
    canvas: Workload = Workload.CHUNKED
    queue: str | None = None  # None: the canvas' work queue (bulk for chunked/map/starmap, default otherwise)
    chunk_size: int | None = None  # None: the canvas' default
    reduce: Reduce | None = None  # over the outputs of the items that succeeded, in index order, as an iterator
    time_limit: float | None = None  # seconds one item may run before it fails (None: only the task's limit)
    schema: Mapping[str, Any] | None = None  # JSON Schema every inline item must satisfy
    takes_context: bool = False  # the function gets the item's ItemContext too (`services.running` calls it)


_types: dict[str, JobType] = {}


class UnknownJobTypeError(LookupError):
    pass


def job_type(
    name: str,
    *,
    canvas: Workload | str = Workload.CHUNKED,
    queue: str | None = None,
    chunk_size: int | None = None,
    reduce: Reduce | None = None,
    time_limit: float | None = None,
    schema: Mapping[str, Any] | None = None,
) -> Callable[[ItemFunction], ItemFunction]:
    """Register the decorated function as job type `name`. Registering a name twice with another function is a
    mistake (two apps would fight over it) and raises; re-registering the same function (a re-imported module) is
    harmless."""

    def register(function: ItemFunction) -> ItemFunction:
        job_type_register(
            JobType(
                name=name,
                function=function,
                canvas=Workload(canvas),
                queue=queue,
                chunk_size=chunk_size,
                reduce=reduce,
                time_limit=time_limit,
                schema=schema,
                takes_context="context" in inspect.signature(function).parameters,
            )
        )
        return function

    return register


def job_type_register(definition: JobType) -> None:
    if not re.match(NAME_PATTERN, definition.name):
        raise ValueError(f"job type name {definition.name!r} must match {NAME_PATTERN}")
    known = _types.get(definition.name)
    if known is not None and known.function is not definition.function:
        raise ValueError(f"job type {definition.name!r} is already registered by {known.function.__module__}")
    if definition.schema is not None:
        from jsonschema import Draft202012Validator

        Draft202012Validator.check_schema(definition.schema)  # a broken schema fails at startup, not per request
    _types[definition.name] = definition


def job_type_get(name: str) -> JobType:
    try:
        return _types[name]
    except KeyError:
        raise UnknownJobTypeError(name) from None


def job_type_names() -> list[str]:
    return sorted(_types)


def job_type_unregister(name: str) -> None:
    """For tests that register a type of their own."""
    _types.pop(name, None)
