"""Sections of docs/benchmarks.md about Celerity's own cost: before/after issue #9, where the time goes per task kind,
what the instrumentation costs, and the runs that did not finish."""

from __future__ import annotations

import statistics
from typing import Any

from loadtests.benchmarks import before

TARGETS = {
    "chunked": 0.85,
    "chunk_size": 0.7,
    "chord_time": 1.05,
    "chord_callback": 3.0,
    "first_chunk": 5.0,
    "submit_p99": 0.050,
    "cancel": 1.0,
    "instrumentation": 0.05,
}


def _r(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _point(points: list[dict[str, Any]], field: str, value: int) -> dict[str, Any] | None:
    return next((p for p in points if p["spec"][field] == value), None)


def _met(ok: bool | None) -> str:
    return "n/a" if ok is None else ("yes" if ok else "**no**")


def _callback_ratio(point: dict[str, Any] | None) -> float | None:
    if point is None:
        return None
    cel, bare = point["chord_completion"]["celerity"], point["chord_completion"]["celery"]
    return cel / bare if cel and bare else None


def before_after(results: dict[str, Any]) -> str:
    ov, sizes, widths, jobs = results["overhead"], results["chunk_size"], results["chord_width"], results["job_size"]
    rows = []
    chunked = ov.get("chunked", {}).get("throughput_ratio")
    rows.append(
        (
            "chunked 20,000 in chunks of 100: items/s ratio",
            f"{before.CHUNKED_RATIO:.2f}",
            _r(chunked),
            f"≥ {TARGETS['chunked']}",
            _met(None if chunked is None else chunked >= TARGETS["chunked"]),
        )
    )
    for size, then in before.CHUNK_SIZE_RATIOS.items():
        now = (_point(sizes, "chunk_size", size) or {}).get("throughput_ratio")
        rows.append(
            (
                f"chunk size {size:,}: items/s ratio",
                f"{then:.2f}",
                _r(now),
                f"≥ {TARGETS['chunk_size']}",
                _met(None if now is None else now >= TARGETS["chunk_size"]),
            )
        )
    chord = ov.get("chord", {}).get("time_ratio")
    rows.append(
        (
            "chord of 1,000: time ratio",
            f"{before.CHORD_TIME_RATIO:.2f}",
            _r(chord),
            f"≤ {TARGETS['chord_time']}",
            _met(None if chord is None else chord <= TARGETS["chord_time"]),
        )
    )
    for width, (cel, bare) in before.CHORD_CALLBACK_MS.items():
        now = _callback_ratio(_point(widths, "items", width))
        target = width == 10_000
        rows.append(
            (
                f"chord of {width:,}: last header → callback, ratio",
                f"{cel / bare:.1f}",
                _r(now, 1),
                f"≤ {TARGETS['chord_callback']:.0f}" if target else "",
                _met(None if now is None or not target else now <= TARGETS["chord_callback"]),
            )
        )
    biggest = max(jobs, key=lambda p: p["spec"]["items"]) if jobs else None
    if biggest is not None:
        n = biggest["spec"]["items"]
        first = biggest.get("first_chunk_seconds", {}).get("celerity")
        p99 = biggest.get("probe_submit_p99", {}).get("celerity")
        cancel = biggest.get("cancel_seconds", {}).get("celerity")
        start_then = before.JOB_START_SECONDS.get(n)
        rows.append(
            (
                f"{n:,}-item job: submit → first chunk runs (s)",
                f"> {start_then:.1f}" if start_then else "n/a",
                _r(first),
                f"≤ {TARGETS['first_chunk']:.0f}",
                _met(None if first is None else first <= TARGETS["first_chunk"]),
            )
        )
        p99_ms = None if p99 is None else p99 * 1000
        rows.append(
            (
                f"{n:,}-item job: POST p99 while it starts (ms)",
                "n/a",
                _r(p99_ms, 0),
                f"≤ {TARGETS['submit_p99'] * 1000:.0f}",
                _met(None if p99 is None else p99 <= TARGETS["submit_p99"]),
            )
        )
        rows.append(
            (
                f"{n:,}-item job: cancel during start (s)",
                "14 (issue #8)",
                _r(cancel),
                f"< {TARGETS['cancel']:.0f}",
                _met(None if cancel is None else cancel < TARGETS["cancel"]),
            )
        )
    cost = instrumentation_share(results)
    rows.append(
        (
            "instrumentation per chunk task",
            "n/a",
            "n/a" if cost is None else f"{cost:.1%}",
            f"≤ {TARGETS['instrumentation']:.0%}",
            _met(None if cost is None else cost <= TARGETS["instrumentation"]),
        )
    )
    table = "\n".join(f"| {' | '.join(row)} |" for row in rows)
    return f"""| measure | before ({before.DATE}) | now | target | met |
|---|---:|---:|---:|---|
{table}"""


def _runs(results: dict[str, Any], workload: str) -> list[dict[str, Any]]:
    return list(results["overhead"].get(workload, {}).get("runs", {}).get("celerity", []))


def where_time_goes(results: dict[str, Any]) -> str:
    """Per task kind, from Celerity's own histograms: medians over the repeats of each overhead run."""
    lines = []
    for workload in ("chunked", "chord"):
        runs = [r for r in _runs(results, workload) if r.get("tasks")]
        if not runs:
            continue
        names = sorted({name for r in runs for name in r["tasks"]})
        for name in names:
            rows = [r["tasks"][name] for r in runs if name in r["tasks"]]

            def med(key: str, rows: list[dict[str, Any]] = rows) -> float | None:
                values = [row[key] for row in rows if row.get(key) is not None]
                return statistics.median(values) if values else None

            count, run_mean, wait_mean = med("run_time_count"), med("run_time_mean"), med("queue_wait_mean")
            busy = None if count is None or run_mean is None else count * run_mean
            lines.append(
                f"| {workload} | `{name.rsplit('.', 1)[-1]}` | {_r(count, 0)} "
                f"| {_r(None if run_mean is None else run_mean * 1000, 2)} "
                f"| {_r(busy, 2)} | {_r(None if wait_mean is None else wait_mean * 1000, 1)} |"
            )
    return """| job | task | tasks per job | mean run time (ms) | process-seconds per job | mean queue wait (ms) |
|---|---|---:|---:|---:|---:|
""" + "\n".join(lines)


def instrumentation_share(results: dict[str, Any]) -> float | None:
    """The signal handlers' cost per task against the mean run time of Celerity's chunk task in the same run."""
    figures = results.get("instrumentation") or {}
    cost = figures.get("signals_cost_seconds")
    chunk = [r["tasks"].get("celerity.jobs.job_chunk_run", {}).get("run_time_mean") for r in _runs(results, "chunked")]
    means = [m for m in chunk if m]
    return None if cost is None or not means else cost / statistics.median(means)


def instrumentation(results: dict[str, Any]) -> str:
    figures = results.get("instrumentation") or {}
    if "error" in figures or not figures:
        return f"Not measured: {figures.get('error', 'no figures')}."
    share = instrumentation_share(results)
    header = [r["tasks"].get("celerity.jobs.item_square", {}).get("run_time_mean") for r in _runs(results, "chord")]
    header_means = [m for m in header if m]
    header_share = figures["signals_cost_seconds"] / statistics.median(header_means) if header_means else None
    return f"""| | per task |
|---|---:|
| one task's signals, handlers off (Celery's own dispatch) | {figures["signals_off_seconds"] * 1e6:,.1f} µs |
| the same, handlers on (metrics written to the multiprocess files) | {figures["signals_on_seconds"] * 1e6:,.1f} µs |
| **cost of the handlers** | **{figures["signals_cost_seconds"] * 1e6:,.1f} µs** |
| share of a chunk task's run time (chunked, chunks of 100) | {"n/a" if share is None else f"{share:.2%}"} |
| share of a chord header task's run time (one item) | {"n/a" if header_share is None else f"{header_share:.2%}"} |
| one heartbeat document, every 5 s per worker | {figures["heartbeat_seconds"] * 1e6:,.1f} µs |"""


def failures(results: dict[str, Any]) -> str:
    """Every run that did not finish or was not correct, with its reason; empty when there is none."""
    found = []
    sections = [("overhead", list(results.get("overhead", {}).values()))] + [
        (key, results.get(key) or []) for key in ("chunk_size", "chord_width", "job_size")
    ]
    for section, points in sections:
        for point in points:
            for system, runs in point["runs"].items():
                for run in runs:
                    if not run["correct"]:
                        spec = point["spec"]
                        chunks = f" in chunks of {spec['chunk_size']}" if spec.get("chunk_size") else ""
                        found.append(
                            f"- {section}, {spec['workload']} of {spec['items']:,}{chunks}, {system}: {run['detail']}"
                        )
    for name in ("instrumentation",):
        if "error" in (results.get(name) or {}):
            found.append(f"- {name}: {results[name]['error']}")
    return "\n".join(found)
