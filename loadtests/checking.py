"""The correctness verdict for one job: finished, its sum and count right, no item lost, none counted twice.

The API's answer is checked for every job. On a local stack the database is also audited item by item: an item
whose outcome was never written is lost, one written more than once was applied twice (a redelivered chunk that the
idempotency guard should have ignored). The API alone cannot show the second kind, since it counts items, not writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loadtests.scenarios import JobSpec, expected_sum


@dataclass(frozen=True)
class Audit:
    """Per-item evidence from the database (local stacks): rows, never written, written more than once."""

    rows: int
    unwritten: int
    written_twice: int


@dataclass(frozen=True)
class Verdict:
    ok: bool
    lost: int
    duplicated: int
    reason: str


def check(spec: JobSpec, body: dict[str, Any], audit: Audit | None = None) -> Verdict:
    progress = body.get("progress") or {}
    done, failed = int(progress.get("done", 0)), int(progress.get("failed", 0))
    lost, duplicated = max(spec.items - done - failed, 0), max(done + failed - spec.items, 0)
    result = body.get("result") or {}
    problems = []
    if body.get("status") != "succeeded":
        problems.append(f"status {body.get('status')}")
    if failed:
        problems.append(f"{failed} items failed")
    if result.get("count") != spec.items:
        problems.append(f"count {result.get('count')} != {spec.items}")
    if result.get("sum") != expected_sum(spec.items):
        problems.append(f"sum {result.get('sum')} != {expected_sum(spec.items)}")
    if audit is not None:
        if audit.rows != spec.items:
            problems.append(f"{audit.rows} item rows for {spec.items} items")
        lost = max(lost, audit.unwritten, spec.items - audit.rows)
        duplicated = max(duplicated, audit.written_twice)
    if lost or duplicated:
        problems.append(f"{lost} lost, {duplicated} duplicated")
    return Verdict(not problems, lost, duplicated, "; ".join(problems) or "ok")


def audit_items(database_url: str, job_ids: list[str]) -> dict[str, Audit]:
    """One query for all jobs: item rows per job, how many were never written and how many more than once."""
    if not job_ids:
        return {}
    import psycopg  # only local stacks have a reachable database

    query = (
        "SELECT job_id::text, count(*), count(*) FILTER (WHERE writes = 0), count(*) FILTER (WHERE writes > 1) "
        "FROM jobs_item WHERE job_id = ANY(%s::uuid[]) GROUP BY job_id"
    )
    with psycopg.connect(_libpq_url(database_url), connect_timeout=10) as connection:
        rows = connection.execute(query, (job_ids,)).fetchall()
    found = {str(job): Audit(int(n), int(unwritten), int(twice)) for job, n, unwritten, twice in rows}
    return {job: found.get(job, Audit(0, 0, 0)) for job in job_ids}


def _libpq_url(url: str) -> str:
    # Django's scheme alias; libpq only knows postgres:// and postgresql://.
    return "postgresql://" + url.split("://", 1)[1] if url.startswith(("postgres://", "pgsql://")) else url
