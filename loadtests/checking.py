"""The correctness verdict for one finished job: its sum, its count, no item lost, none counted twice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loadtests.scenarios import JobSpec, expected_sum


@dataclass(frozen=True)
class Verdict:
    ok: bool
    lost: int
    duplicated: int
    reason: str


def check(spec: JobSpec, body: dict[str, Any]) -> Verdict:
    done = int((body.get("progress") or {}).get("done", 0))
    lost, duplicated = max(spec.items - done, 0), max(done - spec.items, 0)
    result = body.get("result") or {}
    problems = []
    if body.get("status") != "succeeded":
        problems.append(f"status {body.get('status')}")
    if result.get("count") != spec.items:
        problems.append(f"count {result.get('count')} != {spec.items}")
    if result.get("sum") != expected_sum(spec.items):
        problems.append(f"sum {result.get('sum')} != {expected_sum(spec.items)}")
    if lost or duplicated:
        problems.append(f"{lost} lost, {duplicated} duplicated")
    return Verdict(not problems, lost, duplicated, "; ".join(problems) or "ok")
