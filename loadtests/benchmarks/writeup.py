"""docs/benchmarks.md and its plots, from one bench.json: method, machine, figures, curves, where cost grows faster
than linearly. The prose that explains *why* lives in EXPLANATIONS, next to the numbers it explains."""

from __future__ import annotations

import itertools
import math
import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from loadtests.benchmarks import comparison
from loadtests.benchmarks.explanations import EXPLANATIONS, METHOD
from loadtests.plots import png

SUPERLINEAR = 1.15  # a log-log slope above this between two points is called faster than linear


def _f(value: float | None, unit: str = "", digits: int = 0) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}{unit}"


def _ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else (f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s")


def slopes(xs: list[float], ys: list[float | None]) -> list[tuple[float, float, float]]:
    """(x0, x1, d log y / d log x) between successive points with values."""
    points = [(x, y) for x, y in zip(xs, ys, strict=True) if y is not None and y > 0]
    return [(x0, x1, math.log(y1 / y0) / math.log(x1 / x0)) for (x0, y0), (x1, y1) in itertools.pairwise(points)]


def _slope_text(xs: list[float], ys: list[float | None]) -> str:
    parts = [
        f"{x0:,.0f}→{x1:,.0f}: {s:.2f}{' **(faster than linear)**' if s > SUPERLINEAR else ''}"
        for x0, x1, s in slopes(xs, ys)
    ]
    return ", ".join(parts) or "n/a"


def _save(fig: Any, directory: Path, name: str) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(png(fig, dpi=72))
    return f"benchmarks/{name}"


def _plots(results: dict[str, Any], directory: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    colors = {"celerity": "tab:blue", "celery": "tab:gray"}
    ov = results["overhead"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3))
    names = list(ov)
    for i, system in enumerate(("celerity", "celery")):
        left.bar(
            [j + i * 0.4 for j in range(len(names))],
            [ov[n]["items_per_second"][system] or 0 for n in names],
            0.4,
            label=system,
            color=colors[system],
        )
    left.set_xticks([j + 0.2 for j in range(len(names))], [f"{n}\n{ov[n]['spec']['items']:,} items" for n in names])
    left.set(ylabel="items/s (median)", title="same work, same workers")
    left.legend(fontsize=8)
    if "chord" in ov:
        values = [(ov["chord"]["chord_completion"][s] or 0) * 1000 for s in ("celerity", "celery")]
        right.bar(["celerity", "celery"], values, color=[colors["celerity"], colors["celery"]])
        right.set(ylabel="ms (median)", title="chord: last header task → callback done")
    out["overhead"] = _save(fig, directory, "overhead.png")

    def xy(key: str, field: str, system: str, scale: float = 1.0) -> tuple[list[float], list[float]]:
        """The curve's points; a missing value is NaN, which matplotlib leaves out."""
        pts = results[key]
        xs = [float(p["spec"]["chunk_size"] if key == "chunk_size" else p["spec"]["items"]) for p in pts]
        return xs, [math.nan if p[field][system] is None else p[field][system] * scale for p in pts]

    fig, ax = plt.subplots(figsize=(9, 3))
    for system in ("celerity", "celery"):
        ax.plot(*xy("chunk_size", "items_per_second", system), marker="o", label=system, color=colors[system])
    per_job = results["chunk_size"][0]["spec"]["items"]
    ax.set(
        xscale="log",
        xlabel="chunk size (items per task)",
        ylabel="items/s (median)",
        title=f"chunk size against throughput ({per_job:,} items per job)",
    )
    ax.legend(fontsize=8)
    out["chunk_size"] = _save(fig, directory, "chunk_size.png")

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    for system in ("celerity", "celery"):
        left.plot(*xy("chord_width", "seconds", system), marker="o", label=system, color=colors[system])
        right.plot(*xy("chord_width", "chord_completion", system, 1000), marker="o", label=system, color=colors[system])
    left.set(xscale="log", yscale="log", xlabel="chord width (header tasks)", ylabel="seconds", title="submit → result")
    right.set(xscale="log", yscale="log", xlabel="chord width", ylabel="ms", title="last header → callback done")
    left.legend(fontsize=8)
    out["chord_width"] = _save(fig, directory, "chord_width.png")

    fig, ax = plt.subplots(figsize=(9, 3))
    xs, ys = xy("job_size", "submit_seconds", "celerity")
    ax.plot(xs, ys, marker="o", label="Celerity: POST /api/jobs", color=colors["celerity"])
    xs, ys = xy("job_size", "setup_seconds", "celerity")
    ax.plot(
        xs, ys, marker="s", ls="--", label="Celerity: job_start in a worker (rows + canvas)", color=colors["celerity"]
    )
    xs, ys = xy("job_size", "submit_seconds", "celery")
    ax.plot(xs, ys, marker="o", label="bare Celery: build + apply_async", color=colors["celery"])
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="job size (items, chunks of 1000)",
        ylabel="seconds",
        title="job size against submit latency",
    )
    ax.legend(fontsize=8)
    out["job_size"] = _save(fig, directory, "job_size.png")
    return out


def _curve_rows(points: list[dict[str, Any]], x: str) -> str:
    rows = []
    for p in points:
        key = p["spec"]["chunk_size"] if x == "chunk_size" else p["spec"]["items"]
        runs = len(p["runs"]["celerity"])
        rows.append(
            f"| {key:,} | {_f(p['items_per_second']['celerity'])} | {_f(p['items_per_second']['celery'])} "
            f"| {_ms(p['seconds']['celerity'])} | {_ms(p['seconds']['celery'])} "
            f"| {_ms(p['chord_completion']['celerity'])} | {_ms(p['chord_completion']['celery'])} "
            f"| {_f(p['throughput_ratio'], digits=2)} | {runs} | {'yes' if p['correct'] else '**NO**'} |"
        )
    return "\n".join(rows)


JOB_HEAD = (
    "| items | Celerity POST | Celerity created → started | Celerity `job_start` run | Celerity created → first chunk "
    "runs | Celerity POST p99 while it starts | Celerity cancel during start | bare Celery build + publish | runs |"
)
CURVE_HEAD = (
    "| {x} | Celerity items/s | Celery items/s | Celerity time | Celery time | Celerity callback | Celery callback "
    "| items/s ratio | runs | checked |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
)


def _column(points: list[dict[str, Any]], field: str, system: str) -> list[float | None]:
    return [p[field][system] for p in points]


def render(results: dict[str, Any], plots: dict[str, str]) -> str:
    m, v, c, ov = results["machine"], results["versions"], results["ceiling"], results["overhead"]
    chunked, chord = ov.get("chunked", {}), ov.get("chord", {})
    chunked_runs = chunked.get("runs", {}).get("celerity", [])
    redis_share = [r["redis"].get("redis_cpu_share", 0.0) for r in chunked_runs]
    redis_rate = [r["redis"].get("redis_commands_per_second", 0.0) for r in chunked_runs]
    sizes, widths, jobs = results["chunk_size"], results["chord_width"], results["job_size"]
    chord_x = [float(p["spec"]["items"]) for p in widths]
    size_x = [float(p["spec"]["items"]) for p in jobs]
    chunks_x = [p["spec"]["items"] / float(p["spec"]["chunk_size"]) for p in sizes]
    ceiling_rows = "".join(f"| redis-benchmark {k} | {_f(val)} |\n" for k, val in sorted(c["redis_benchmark"].items()))
    versions = ", ".join(v[k] for k in ("celery", "kombu", "redis", "Django", "gunicorn", "psycopg"))
    loads = ", ".join(f"{name} {a[0]:.1f}" for name, a in results["load_average"])
    job_rows = "\n".join(
        f"| {p['spec']['items']:,} | {_ms(p['submit_seconds']['celerity'])} | {_ms(p['start_seconds']['celerity'])} "
        f"| {_ms(p.get('setup_seconds', {}).get('celerity'))} "
        f"| {_ms(p.get('first_chunk_seconds', {}).get('celerity'))} "
        f"| {_ms(p.get('probe_submit_p99', {}).get('celerity'))} | {_ms(p.get('cancel_seconds', {}).get('celerity'))} "
        f"| {_ms(p['submit_seconds']['celery'])} | {len(p['runs']['celerity'])} |"
        for p in jobs
    )
    failed = comparison.failures(results)
    failed_section = f"\n## Runs that did not finish or were not correct\n{failed}\n" if failed else ""
    slope = {
        "chunks_celerity": _slope_text(chunks_x, _column(sizes, "seconds", "celerity")),
        "chunks_celery": _slope_text(chunks_x, _column(sizes, "seconds", "celery")),
        "chord_celerity": _slope_text(chord_x, _column(widths, "seconds", "celerity")),
        "chord_celery": _slope_text(chord_x, _column(widths, "seconds", "celery")),
        "callback_celerity": _slope_text(chord_x, _column(widths, "chord_completion", "celerity")),
        "callback_celery": _slope_text(chord_x, _column(widths, "chord_completion", "celery")),
        "post": _slope_text(size_x, _column(jobs, "submit_seconds", "celerity")),
        "start": _slope_text(size_x, [p.get("setup_seconds", {}).get("celerity") for p in jobs]),
        "publish": _slope_text(size_x, _column(jobs, "submit_seconds", "celery")),
    }
    ips, secs, done = chunked.get("items_per_second", {}), chord.get("seconds", {}), chord.get("chord_completion", {})
    return f"""# Benchmarks

_Refreshed by `make bench` on {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())} ({results["plan"]} plan,
{results["repeats"]} repeats, {results["duration_seconds"] / 60:.1f} minutes). Every figure comes from a run whose
result was checked: sums and counts on both sides, and every Celerity item audited in Postgres
({"all correct" if results["correct"] else "**SOME RUNS WERE NOT CORRECT**"})._

## The short answer
- **Overhead, chunked work** ({chunked.get("spec", {}).get("items", 0):,} items, chunks of
  {chunked.get("spec", {}).get("chunk_size")}): Celerity {_f(ips.get("celerity"))} items/s, bare Celery
  {_f(ips.get("celery"))} items/s: a ratio of **{_f(chunked.get("throughput_ratio"), digits=2)}** (median of the
  per-repeat ratios).
- **Overhead, chord** ({chord.get("spec", {}).get("items", 0):,} header tasks): Celerity {_ms(secs.get("celerity"))}
  from submit to result, bare Celery {_ms(secs.get("celery"))} (ratio of times
  **{_f(chord.get("time_ratio"), digits=2)}**). From the last header task to the callback's result: Celerity
  {_ms(done.get("celerity"))}, bare Celery {_ms(done.get("celery"))}.
- **Broker ceiling**: {_f(c["roundtrip_pairs_per_second"])} LPUSH+RPOP pairs/s one round trip at a time,
  {_f(c["pipelined_lpush_per_second"])} LPUSH/s pipelined. During Celerity's chunked runs Redis was busy
  {_f(100 * (sum(redis_share) / len(redis_share) if redis_share else 0), "%", 1)} of one core and served
  {_f(sum(redis_rate) / len(redis_rate) if redis_rate else None)} commands/s.

![overhead]({plots["overhead"]})

{EXPLANATIONS["overhead"]}

## Before and after issue #9
Ratios are Celerity against bare Celery within one run (medians of the per-repeat ratios), so the two columns
compare runs on different days with different load on the shared cores: the "before" run had a load average of 0.0
to 4.0, this one {loads}.

{comparison.before_after(results)}

{EXPLANATIONS["before_after"]}

## Where the time goes, per task kind
Celerity's own task histograms, per job, median over the overhead section's repeats (a task's run time includes its
SQL; the queue wait is publish → start).

{comparison.where_time_goes(results)}

{EXPLANATIONS["where"]}
{failed_section}
## Method
{METHOD}

## Machine
| | |
|---|---|
| CPU | {m["cpu"]}, {m["cores"]} cores |
| memory | {m["memory_gib"]} GiB |
| kernel, Python | {m["kernel"]}, {m["python"]} |
| load average at start | {m["load_average_at_start"]} |
| Redis, Postgres | {v["redis-server"]}, {v["postgres"]} |
| celery, kombu, redis-py, Django, gunicorn, psycopg | {versions} |

Load average after each section: {loads}. A load above the core count means other work shared the cores:
absolute figures are then noisy; ratios, taken within each repeat, much less so.

## Broker ceiling
Measured with {c["method"]}; payloads of {c["payload_bytes"]} bytes (an item task's message); median of {c["runs"]}.

| operation | per second |
|---|---:|
| LPUSH, pipelined (500 per round trip) | {_f(c["pipelined_lpush_per_second"])} |
| RPOP, pipelined | {_f(c["pipelined_rpop_per_second"])} |
| LPUSH then RPOP, one round trip each (one connection) | {_f(c["roundtrip_pairs_per_second"])} |
{ceiling_rows}
{EXPLANATIONS["ceiling"]}

## Chunk size against items/s
![chunk size]({plots["chunk_size"]})

{CURVE_HEAD.format(x="chunk size")}
{_curve_rows(sizes, "chunk_size")}

Log-log slope of the job's time against its number of chunks: Celerity {slope["chunks_celerity"]};
bare Celery {slope["chunks_celery"]}.

{EXPLANATIONS["chunk_size"]}

## Chord width against completion time
![chord width]({plots["chord_width"]})

{CURVE_HEAD.format(x="width")}
{_curve_rows(widths, "items")}

Log-log slopes, submit → result: Celerity {slope["chord_celerity"]}; bare Celery {slope["chord_celery"]}.
Last header → callback: Celerity {slope["callback_celerity"]}; bare Celery {slope["callback_celery"]}.

{EXPLANATIONS["chord_width"]}

## Job size against submit latency
![job size]({plots["job_size"]})

{JOB_HEAD}
|---:|---:|---:|---:|---:|---:|---:|---:|---:|
{job_rows}

Log-log slopes: Celerity POST {slope["post"]}; Celerity `job_start` {slope["start"]}; bare Celery publish
{slope["publish"]}.

{EXPLANATIONS["job_size"]}

## Instrumentation
Metrics, heartbeats and signals measured on their own (`loadtests/benchmarks/instrumentation.py`): the signals a
worker sends around every task, with Celerity's handlers off and on, in a process writing its metrics to a
multiprocess directory as a pool child does; the share is against the mean run time of Celerity's tasks in this run.

{comparison.instrumentation(results)}

## Reproduce
`make bench` (about {results["duration_seconds"] / 60:.0f} minutes here). `python -m loadtests.bench --plan quick
--no-docs` is a smoke run that leaves this page alone. The raw figures of every run, including Celerity's own
per-task run times and Redis' CPU share, are in `loadtests/results/bench-<time>/bench.json`.
"""


def write(results: dict[str, Any], doc: Path, plot_dir: Path) -> Path:
    plots = _plots(results, plot_dir)
    doc.write_text(render(results, plots))
    return doc
