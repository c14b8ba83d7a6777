"""The parts of docs/benchmarks.md that are issue #17's "before": small jobs from concurrent clients, a small job
behind a large one, and the broker's memory for one large job. Each renders "" when its run has no figures."""

from __future__ import annotations

import statistics
from typing import Any

from loadtests.benchmarks import smalljobs

NAMES = {"celerity": "Celerity", "plain": "bare Celery", "celery": "bare Celery, canvas form"}


def _ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else (f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s")


def _mib(value: float | None) -> str:
    return "n/a" if value is None else f"{value / 2**20:,.2f} MiB"


def _error(found: Any) -> str | None:
    if not found:
        return ""
    if isinstance(found, dict) and "error" in found:
        return f"Not measured: {found['error']}."
    return None


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def small_jobs_summary(found: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(kind, system) -> medians over the repeats of jobs/s, p50, p99 and Celerity's own created → finished."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for kind in smalljobs.KINDS:
        for system in ("celerity", "plain"):
            batches = [b for b in found["batches"] if b["kind"] == kind and b["system"] == system]
            if not batches:
                continue
            out[kind, system] = {
                "jobs": batches[0]["jobs"],
                "repeats": len(batches),
                **{k: _median([b[k] for b in batches]) for k in ("jobs_per_second", "p50", "p99", "server_p50")},
                "server_waited": any(b["server_waited"] for b in batches),
                "correct": all(b["correct"] for b in batches),
            }
    return out


def small_jobs(results: dict[str, Any]) -> str:
    found: Any = results.get("small_jobs")
    if (message := _error(found)) is not None:
        return message
    summary, ratios = small_jobs_summary(found), found["ratios"]
    rows = []
    for (kind, system), s in summary.items():
        server = _ms(s["server_p50"]) if system == "celerity" else "n/a"
        rows.append(
            f"| {kind} | {NAMES[system]} | {s['jobs']} x {s['repeats']} | {s['jobs_per_second']:,.1f} "
            f"| {_ms(s['p50'])} | {_ms(s['p99'])} | {server} | {'yes' if s['correct'] else '**NO**'} |"
        )
    lines = [
        f"- {kind}: throughput **{_r(r['throughput'])}x** bare Celery's, p50 latency **{_r(r['p50'])}x** bare Celery's"
        for kind, r in ratios.items()
    ]
    waited = any(s["server_waited"] for (_, system), s in summary.items() if system == "celerity")
    how = (
        "the API held the clients' `GET /api/jobs/{id}?wait=` until the job ended"
        if waited
        else f"the API answered every `GET /api/jobs/{{id}}?wait={smalljobs.WAIT}` at once (no `wait` yet), so the "
        f"clients polled every {smalljobs.POLL * 1000:.0f} ms"
    )
    return f"""{found["clients"]} client threads, each submitting a job and waiting for its outcome before the next;
latency is the client's, from its submit to the outcome in hand. Celerity: {how}. Bare Celery: `item.delay().get()` and
`chord([item] * 10, total).delay().get()` on the plain baseline's `default` pool (results by the Redis backend's
pub/sub).

| job | system | jobs | jobs/s | p50 | p99 | Celerity created → finished, p50 | checked |
|---|---|---:|---:|---:|---:|---:|---|
{chr(10).join(rows)}

Ratios within each repeat (Celerity's batch and bare Celery's alternate, A B then B A), then the median:
{chr(10).join(lines)}"""


def _r(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def fairness(results: dict[str, Any]) -> str:
    found: Any = results.get("fairness")
    if (message := _error(found)) is not None:
        return message
    rows = []
    for case, sides in found.items():
        for system in ("celerity", "plain"):
            s = sides[system]
            slowdown = "n/a" if s["slowdown"] is None else f"{s['slowdown']:.1f}x"
            rows.append(
                f"| {case} | {NAMES[system]} | {_ms(s['alone'])} | {_ms(s['behind'])} | {slowdown} | {_ms(s['large'])} "
                f"| {len(s['runs'])} | {'yes' if s['correct'] else '**NO**'} |"
            )
    head = (
        "| case | system | small job alone | small job behind the large one | slowdown | the large job | runs "
        "| checked |"
    )
    return f"""{head}
|---|---|---:|---:|---:|---:|---:|---|
{chr(10).join(rows)}"""


def broker_memory(results: dict[str, Any]) -> str:
    found: Any = results.get("broker_memory")
    if (message := _error(found)) is not None:
        return message
    spec, messages = found["spec"], found["messages"]
    rows = []
    for system in ("celerity", "plain", "celery"):
        if system not in found:
            continue
        s = found[system]
        per = "n/a" if s["bytes_per_message"] is None else f"{s['bytes_per_message']:,.0f} B"
        rows.append(
            f"| {NAMES[system]} | {_mib(s['peak_bytes'])} | {_mib(s['footprint_bytes'])} | {per} "
            f"| {'yes' if s['correct'] else '**NO**'} |"
        )
    chunks = spec.get("chunk_size")
    return f"""One chunked job of {spec["items"]:,} items in chunks of {chunks} ({messages:,} chunk messages), alone on
the broker.

| system | peak above idle while it runs | footprint with the pool paused | per message | checked |
|---|---:|---:|---:|---|
{chr(10).join(rows)}"""
