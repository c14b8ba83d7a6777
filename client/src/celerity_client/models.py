"""What the API answers, as frozen dataclasses (docs/api.md). Each keeps the answer it came from in `raw`, so a field
the server adds later is never lost, and parsing tolerates fields it does not know or that an older server lacks."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from celerity_client.errors import UnexpectedAnswer

Json = Any  # what json.loads returns: None, bool, int, float, str, list, dict

FINISHED = ("succeeded", "failed", "cancelled")
STATUSES = ("pending", "running", *FINISHED)
ITEM_STATES = ("done", "failed", "pending")


T = TypeVar("T")


def parsed(factory: Callable[..., T], body: Any, **extra: Any) -> T:
    """`factory(body)`, or UnexpectedAnswer when the body lacks what every version of the API answers."""
    try:
        return factory(body, **extra)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UnexpectedAnswer(f"not the jobs API's answer ({type(exc).__name__}: {exc}): {str(body)[:200]}") from None


def page_of(answer: Any) -> tuple[list[Any], bool]:
    """A page's entries and whether another page follows."""
    if not isinstance(answer, Mapping) or not isinstance(answer.get("items"), list):
        raise UnexpectedAnswer(f"not a page of the jobs API: {str(answer)[:200]}")
    return answer["items"], bool(answer.get("next"))


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


@dataclass(frozen=True)
class Progress:
    done: int
    failed: int
    total: int

    @property
    def finished_items(self) -> int:
        """Items with an outcome, successful or not."""
        return self.done + self.failed

    @classmethod
    def from_json(cls, body: Mapping[str, Any] | None) -> Progress:
        body = body or {}
        return cls(int(body.get("done", 0)), int(body.get("failed", 0)), int(body.get("total", 0)))


@dataclass(frozen=True)
class Job:
    id: str
    type: str
    status: str  # one of STATUSES
    items: int
    chunk_size: int
    queue: str
    progress: Progress
    result: Json
    error: str
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Job:
        return cls(
            id=str(body["id"]),
            type=str(body.get("type") or body.get("workload") or ""),
            status=str(body["status"]),
            items=int(body.get("items", 0)),
            chunk_size=int(body.get("chunk_size", 0)),
            queue=str(body.get("queue", "")),
            progress=Progress.from_json(body.get("progress")),
            result=body.get("result"),
            error=str(body.get("error") or ""),
            created_at=_when(body.get("created_at")),
            started_at=_when(body.get("started_at")),
            finished_at=_when(body.get("finished_at")),
            raw=dict(body),
        )


@dataclass(frozen=True)
class Item:
    index: int
    state: str  # one of ITEM_STATES
    input: Json
    output: Json
    error: str
    attempts: int
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Item:
        return cls(
            index=int(body["index"]),
            state=str(body["state"]),
            input=body.get("input"),
            output=body.get("output"),
            error=str(body.get("error") or ""),
            attempts=int(body.get("attempts", 0)),
            raw=dict(body),
        )


@dataclass(frozen=True)
class JobType:
    name: str
    canvas: str
    queue: str  # where its items run unless a submit names a queue
    chunk_size: int  # unless a submit names one
    max_chunk_size: int
    max_items: int
    reduce: bool
    time_limit: float | None
    schema: Mapping[str, Any] | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> JobType:
        limit = body.get("time_limit")
        return cls(
            name=str(body["name"]),
            canvas=str(body.get("canvas", "")),
            queue=str(body.get("queue", "")),
            chunk_size=int(body.get("chunk_size", 0)),
            max_chunk_size=int(body.get("max_chunk_size", 0)),
            max_items=int(body.get("max_items", 0)),
            reduce=bool(body.get("reduce", False)),
            time_limit=None if limit is None else float(limit),
            schema=body.get("schema"),
            raw=dict(body),
        )


@dataclass(frozen=True)
class Submission:
    """A submit's answer (202): the job's id, and the idempotency key that made it, which a later submit may reuse
    to get this same job back instead of a second one."""

    id: str
    status: str
    url: str
    idempotency_key: str
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, body: Mapping[str, Any], *, idempotency_key: str) -> Submission:
        return cls(
            id=str(body["id"]),
            status=str(body.get("status", "pending")),
            url=str(body.get("url", "")),
            idempotency_key=idempotency_key,
            raw=dict(body),
        )
