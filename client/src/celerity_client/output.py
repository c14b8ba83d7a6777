"""What the command prints: plain tables and `key: value` lines for people, JSON for scripts. Lists are written as
they arrive, so a listing of a million items is never held."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TextIO

from celerity_client.models import Item, Job, JobType, Json

CELL = 60  # characters of an input or error in a table cell


def compact(value: Json) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def short(text: str, width: int = CELL) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def table(out: TextIO, header: Sequence[str], rows: Iterable[Sequence[str]], *, sample: int = 50) -> int:
    """Columns sized to the first `sample` rows (the rest are written as they come); returns the rows written."""
    it: Iterator[Sequence[str]] = iter(rows)
    first = [row for _, row in zip(range(sample), it, strict=False)]
    widths = [max([len(h), *(len(row[i]) for row in first)]) for i, h in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()

    out.write(line(header) + "\n")
    count = 0
    for count, row in enumerate(itertools.chain(first, it), start=1):  # noqa: B007 - count is the total
        out.write(line(row) + "\n")
    return count


def json_array(out: TextIO, values: Iterable[Json]) -> None:
    """A JSON array written element by element."""
    out.write("[")
    for n, value in enumerate(values):
        out.write(("," if n else "") + "\n  " + compact(value))
    out.write("\n]\n")


def when(job: Job) -> str:
    return job.created_at.strftime("%Y-%m-%d %H:%M:%S") if job.created_at else ""


def job_rows(jobs: Iterable[Job]) -> Iterator[list[str]]:
    for job in jobs:
        p = job.progress
        yield [job.id, job.type, job.status, f"{p.done:,}", f"{p.failed:,}", f"{p.total or job.items:,}", when(job)]


JOB_HEADER = ["ID", "TYPE", "STATUS", "DONE", "FAILED", "ITEMS", "CREATED"]


def job_detail(out: TextIO, job: Job) -> None:
    p = job.progress
    lines: list[tuple[str, Any]] = [
        ("id", job.id),
        ("type", job.type),
        ("status", job.status),
        ("progress", f"{p.done:,} done, {p.failed:,} failed, of {p.total or job.items:,}"),
        ("chunk size", job.chunk_size),
        ("queue", job.queue or "(the type's)"),
        ("created", job.created_at.isoformat() if job.created_at else ""),
        ("started", job.started_at.isoformat() if job.started_at else ""),
        ("finished", job.finished_at.isoformat() if job.finished_at else ""),
    ]
    if job.error:
        lines.append(("error", job.error))
    if job.result is not None:
        lines.append(("result", compact(job.result)))
    for name, value in lines:
        out.write(f"{name + ':':<12}{value}\n")


def item_rows(items: Iterable[Item]) -> Iterator[list[str]]:
    for item in items:
        yield [str(item.index), item.state, str(item.attempts), short(compact(item.input)), short(item.error)]


ITEM_HEADER = ["INDEX", "STATE", "ATTEMPTS", "INPUT", "ERROR"]


def type_rows(types: Iterable[JobType]) -> Iterator[list[str]]:
    for t in types:
        limit = "" if t.time_limit is None else f"{t.time_limit:g} s"
        schema = "yes" if t.schema else "no"
        yield [
            t.name,
            t.canvas,
            t.queue,
            str(t.chunk_size),
            f"{t.max_items:,}",
            "yes" if t.reduce else "no",
            schema,
            limit,
        ]


TYPE_HEADER = ["NAME", "CANVAS", "QUEUE", "CHUNK", "MAX ITEMS", "REDUCE", "SCHEMA", "ITEM LIMIT"]
