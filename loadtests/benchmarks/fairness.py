"""Fairness (issue #17's "before"): how long a small job takes when it is submitted just after a large one, against
the same small job alone, on Celerity and on bare Celery (the plain baseline's workers, first in, first out).

Three cases, each a large job of a few seconds of simulated work on 2 processes and a 10-item job `DELAY` seconds
after it: a chunked job behind a chunked one (both on `bulk`), a group behind a group (both on `default`), and a
chunked job behind a group (Celerity starts every job with `job_start` on `default`, where the group's members wait;
bare Celery's chunk goes straight to `bulk`). Times are the jobs' own: Celerity's `created_at → finished_at`, bare
Celery's publish → its last result's `date_done`. Every job's sum and count is checked.
"""

from __future__ import annotations

import statistics
import time
from datetime import datetime
from typing import Any

from celery import group

from loadtests.baseline import app as baseline
from loadtests.benchmarks.baselines import PlainBaseline
from loadtests.benchmarks.sides import Celerity, wait_idle
from loadtests.checking import check
from loadtests.scenarios import JobSpec, expected_sum

DELAY = 0.5  # seconds between the large job's submit and the small one's
CASES: dict[str, tuple[JobSpec, JobSpec]] = {
    "chunked behind chunked (`bulk`)": (JobSpec("chunked", 800, 100, item_cost_ms=5), JobSpec("chunked", 10, 10)),
    "group behind group (`default`)": (JobSpec("group", 80, item_cost_ms=50), JobSpec("group", 10)),
    "chunked behind group": (JobSpec("group", 80, item_cost_ms=50), JobSpec("chunked", 10, 10)),
}


def _seconds(body: dict[str, Any]) -> float | None:
    if not body.get("finished_at"):
        return None
    created, finished = (datetime.fromisoformat(str(body[k])) for k in ("created_at", "finished_at"))
    return (finished - created).total_seconds()


def celerity_pair(side: Celerity, large: JobSpec | None, small: JobSpec) -> dict[str, Any]:
    """Submit `large` (unless None), then `small` DELAY later; both jobs' times and whether both were right."""
    wait_idle(side.broker)
    specs = ([large] if large else []) + [small]
    ids = []
    for n, spec in enumerate(specs):
        if n:
            time.sleep(DELAY)
        ids.append(spec.submit(side.client)[0])
    bodies = [side.until_finished(job_id, 300.0) for job_id in ids]
    verdicts = [check(spec, body) for spec, body in zip(specs, bodies, strict=True)]
    return {
        "small": _seconds(bodies[-1]),
        "large": _seconds(bodies[0]) if large else None,
        "correct": all(v.ok for v in verdicts),
        "detail": "; ".join(v.reason for v in verdicts if not v.ok) or "ok",
    }


def _bare_canvas(side: PlainBaseline, spec: JobSpec) -> Any:
    if spec.workload == "chunked":
        return side.chunks(spec)
    return group(side.sig(baseline.ITEM, i, "fair", spec.item_cost_ms, queue="default") for i in range(spec.items))


def _bare_values(spec: JobSpec, values: list[Any]) -> tuple[int, int]:
    if spec.workload == "chunked":
        return sum(v[0] for v in values), sum(v[1] for v in values)
    return len(values), sum(values)


def bare_pair(side: PlainBaseline, large: JobSpec | None, small: JobSpec) -> dict[str, Any]:
    wait_idle(side.broker)
    specs = ([large] if large else []) + [small]
    published = []
    for n, spec in enumerate(specs):
        if n:
            time.sleep(DELAY)
        published.append((time.time(), _bare_canvas(side, spec).apply_async()))
    times, right = [], []
    for spec, (at, result) in zip(specs, published, strict=True):
        values = result.get(timeout=300)
        end = side.finished_at([r.id for r in result.results])
        times.append(None if end is None else end - at)
        right.append(_bare_values(spec, values) == (spec.items, expected_sum(spec.items)))
    return {
        "small": times[-1],
        "large": times[0] if large else None,
        "correct": all(right),
        "detail": "ok" if all(right) else "a sum or count was wrong",
    }


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of one side's repeats of one case: the small job alone, behind the large one, the large one."""

    def med(key: str) -> float | None:
        values = [r[key] for r in runs if r.get(key) is not None]
        return statistics.median(values) if values else None

    alone, behind = med("alone"), med("small")
    return {
        "alone": alone,
        "behind": behind,
        "large": med("large"),
        "slowdown": behind / alone if alone and behind else None,
        "runs": runs,
        "correct": all(r["correct"] for r in runs),
    }
