"""The parts of docs/benchmarks.md that say where the time goes (issue #23): one chunk task step by step, the CPU
every process spent per chunk and the Redis commands per chunk on each side, what Celery's own per-task features
cost, and the physical limit of Postgres taking item rows. Each renders "" when its run has no figures."""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from loadtests.benchmarks import pglimit

SIDES = {"celerity": "Celerity", "plain": "bare, plain", "celery": "bare, canvas"}
PREFIX = {"plain": "plain", "celery": "baseline"}  # the bare sides' worker process names (systems.py)


def _ms(seconds: float | None, digits: int = 2) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:,.{digits}f}"


def _us(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1e6:,.0f} µs"


def role_group(system: str, role: str) -> str | None:
    """Which line of the CPU table a process role is on, for a run of `system`; None for another side's process."""
    if role == "redis":
        return "Redis"
    if role.startswith("postgres"):
        return "Postgres"
    if role == "bench":
        return "the bench process (the client)"
    pool = {"celerity": "worker"}.get(system, PREFIX.get(system, system))
    if role == f"{pool}-bulk":
        return "`bulk` pool: the worker's parent (messages, acks, events)"
    if role == f"{pool}-bulk children":
        return "`bulk` pool: its 2 processes (the tasks)"
    if role.startswith(f"{pool}-default"):
        return "`default` pool (Celerity: `job_start`)"
    if system == "celerity" and role.startswith("web"):
        return "web (the API)"
    if system == "celerity" and role.startswith("reconciler"):
        return "reconciler"
    return None


def cpu_per_chunk(results: dict[str, Any]) -> dict[str, dict[str, float]]:
    """system -> line -> CPU seconds per chunk, median over the overhead section's chunked repeats."""
    chunked = results.get("overhead", {}).get("chunked", {})
    if not chunked:
        return {}
    spec = chunked["spec"]
    chunks = len(range(0, spec["items"], spec["chunk_size"] or 100))
    out: dict[str, dict[str, float]] = {}
    for system, runs in chunked["runs"].items():
        lines: dict[str, list[float]] = defaultdict(list)
        for run in (r for r in runs if r.get("cpu") and r["correct"]):
            per_line: dict[str, float] = defaultdict(float)
            for role, seconds in run["cpu"].items():
                if (line := role_group(system, role)) is not None:
                    per_line[line] += seconds / chunks
            for line, value in per_line.items():
                lines[line].append(value)
        if lines:
            out[system] = {line: statistics.median(values) for line, values in lines.items()}
    return out


def cpu_table(results: dict[str, Any]) -> str:
    figures = cpu_per_chunk(results)
    if not figures:
        return ""
    systems = [s for s in SIDES if s in figures]
    first = figures.get("celerity", {})
    lines = sorted({line for f in figures.values() for line in f}, key=lambda line: -first.get(line, 0))
    rows = [f"| {line} | " + " | ".join(_ms(figures[s].get(line), 3) for s in systems) + " |" for line in lines]
    totals = " | ".join(f"**{_ms(sum(figures[s].values()), 3)}**" for s in systems)
    head = "| process | " + " | ".join(f"{SIDES[s]} (ms per chunk)" for s in systems) + " |"
    table = "\n".join([head, "|---|" + "---:|" * len(systems), *rows, f"| **all** | {totals} |"])
    return table + _cpu_gap(figures)


def _cpu_gap(figures: dict[str, dict[str, float]]) -> str:
    """Where Celerity's CPU per chunk exceeds the plain form's, largest first."""
    cel, plain = figures.get("celerity"), figures.get("plain")
    if not cel or not plain:
        return ""
    gaps = sorted(((cel.get(k, 0) - plain.get(k, 0), k) for k in set(cel) | set(plain)), reverse=True)
    parts = [f"{line} {gap * 1000:+.2f} ms" for gap, line in gaps if gap > 0][:4]
    total = sum(cel.values()) / sum(plain.values()) if sum(plain.values()) else None
    ratio = f" ({total:.1f} times the plain form's)" if total else ""
    return f"\n\nCelerity's CPU per chunk{ratio}, beyond the plain form's, largest first: {'; '.join(parts)}."


def commands_table(results: dict[str, Any], top: int = 12) -> str:
    chunked = results.get("overhead", {}).get("chunked", {})
    if not chunked:
        return ""
    spec = chunked["spec"]
    chunks = len(range(0, spec["items"], spec["chunk_size"] or 100))
    per: dict[str, dict[str, float]] = {}
    for system, runs in chunked["runs"].items():
        counted = [r["redis_commands"] for r in runs if r.get("redis_commands") and r["correct"]]
        if counted:
            served = {n for c in counted for n in c}
            per[system] = {n: statistics.median(c.get(n, 0) for c in counted) / chunks for n in served}
    if "celerity" not in per:
        return ""
    systems = [s for s in SIDES if s in per]
    names = sorted({n for p in per.values() for n in p}, key=lambda n: -max(p.get(n, 0) for p in per.values()))[:top]
    rows = [f"| `{n.upper()}` | " + " | ".join(f"{per[s].get(n, 0):.2f}" for s in systems) + " |" for n in names]
    totals = " | ".join(f"**{sum(per[s].values()):.1f}**" for s in systems)
    head = "| command | " + " | ".join(f"{SIDES[s]} (per chunk)" for s in systems) + " |"
    return "\n".join([head, "|---|" + "---:|" * len(systems), *rows, f"| **all commands** | {totals} |"])


def anatomy(results: dict[str, Any]) -> str:
    found = results.get("anatomy")
    if not found or "error" in found:
        return f"Not measured: {found['error']}." if found else ""
    total = found["total_mean"]
    steps = sorted(found["steps"].items(), key=lambda kv: -kv[1])
    accounted = sum(v for _, v in steps)
    rows = [f"| {name} | {_ms(v)} | {v / total:.0%} |" for name, v in steps]
    rest = total - accounted
    rows.append(f"| the rest (the retry decorator, the calls between the steps) | {_ms(rest)} | {rest / total:.0%} |")
    statements = [
        f"| {kind} | {s['per_chunk']:.2f} | {_ms(s['mean'])} | {_ms(s['total'])} |"
        for kind, s in sorted(found["statements"].items(), key=lambda kv: -kv[1]["total"])
    ]
    profile = [
        f"| `{p['function']}` | {p['calls'] / found['chunks']:.0f} | {_ms(p['own'], 3)} |"
        for p in found.get("profile", [])[:8]
    ]
    bare, stored = _ms(found["bare_task_seconds"], 3), _ms(found["bare_store_result_seconds"], 3)
    return f"""| step of `job_chunk_run` ({found["chunk_size"]} items) | ms per chunk | share |
|---|---:|---:|
{chr(10).join(rows)}
| **the whole task body** (mean of {found["chunks"]}; median {_ms(found["total_median"])}) | **{_ms(total)}** | 100% |
| the bare plain task's body, for comparison | {bare} | |
| the bare plain task's result stored in Redis (`store_result`), after its body | {stored} | |

| round trip to Postgres | per chunk | mean ms | ms per chunk |
|---|---:|---:|---:|
{chr(10).join(statements)}

The functions that took the time (cProfile, own time per chunk; profiling slows every call, so only their order and
their shares are to be read):

| function | calls per chunk | own ms per chunk |
|---|---:|---:|
{chr(10).join(profile)}"""


def knobs(results: dict[str, Any]) -> str:
    found = results.get("knobs")
    if not found or "error" in found:
        return f"Not measured: {found['error']}." if found else ""
    rows = []
    for label, v in found["variants"].items():
        cpu = "n/a" if v["cpu_us_per_task"] is None else f"{v['cpu_us_per_task']:+,.0f} µs"
        commands = "n/a" if v["commands_per_task"] is None else f"{v['commands_per_task']:+.1f}"
        ratio = "n/a" if v["time_ratio"] is None else f"{v['time_ratio']:.2f}"
        rows.append(f"| {label} | {ratio} | {cpu} | {commands} | {'yes' if v['correct'] else '**NO**'} |")
    reference = [v["reference_cpu_us"] for v in found["variants"].values() if v.get("reference_cpu_us")]
    base = f"{statistics.median(reference):,.0f} µs" if reference else "n/a"
    spec = found["spec"]
    return f"""The plain baseline's work ({spec["items"]:,} items in chunks of {spec["chunk_size"]}, {found["tasks"]}
tasks) on a pool that differs from it by one setting, alternating with the plain baseline itself; medians of the
per-repeat differences. The plain baseline spent {base} of CPU per task (its workers, Redis, the bench process).

| setting, against the plain baseline | job's time ratio | CPU per task | Redis commands per task | checked |
|---|---:|---:|---:|---|
{chr(10).join(rows)}"""


def pg_limit(results: dict[str, Any]) -> str:
    points = results.get("pg_limit")
    if not points or (isinstance(points, dict) and "error" in points):
        return f"Not measured: {points['error']}." if points else ""
    writers = sorted({p["writers"] for p in points})
    rows = []
    for method, label in pglimit.METHODS.items():
        cells = [pglimit.rate(points, method, w) for w in writers]
        rows.append(f"| {label} | " + " | ".join("n/a" if c is None else f"{c:,.0f}" for c in cells) + " |")
    right = all(p["correct"] for p in points)
    head = "| rows/s, by writers | " + " | ".join(str(w) for w in writers) + " |"
    return "\n".join([head, "|---|" + "---:|" * len(writers), *rows]) + (
        "" if right else "\n\n**Some rows were not written exactly once: these figures are not to be trusted.**"
    )


def limit_share(results: dict[str, Any], writers: int = 2) -> tuple[float | None, float | None, float | None]:
    """(Celerity's chunked items/s, its share of RECORD's rate, of COPY's 100-row rate) at `writers` writers."""
    points = results.get("pg_limit")
    celerity = results.get("overhead", {}).get("chunked", {}).get("items_per_second", {}).get("celerity")
    if not points or isinstance(points, dict) or not celerity:
        return celerity, None, None
    record, copy = pglimit.rate(points, "record100", writers), pglimit.rate(points, "copy100", writers)
    return celerity, celerity / record if record else None, celerity / copy if copy else None
