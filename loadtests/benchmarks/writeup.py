"""docs/benchmarks.md and its plots, from one bench.json: method, machine, figures, curves, where cost grows faster
than linearly. The prose that explains *why* lives in EXPLANATIONS, next to the numbers it explains."""

from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from loadtests.benchmarks import charts, comparison, dispatch, peering, where
from loadtests.benchmarks.explanations import EXPLANATIONS, METHOD

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


def _chunk_rows(points: list[dict[str, Any]]) -> str:
    """The chunk-size table: Celerity beside both bare forms (the plain one where the run has it)."""
    rows = []
    for p in points:
        ips, secs, ratios = p["items_per_second"], p["seconds"], p.get("ratios", {})
        plain = ratios.get("plain", {}).get("throughput")
        rows.append(
            f"| {p['spec']['chunk_size']:,} | {_f(ips['celerity'])} | {_f(ips.get('plain'))} | {_f(ips.get('celery'))} "
            f"| {_ms(secs['celerity'])} | {_ms(secs.get('plain'))} | {_ms(secs.get('celery'))} "
            f"| {_f(plain, digits=2)} | {_f(p['throughput_ratio'], digits=2)} | {len(p['runs']['celerity'])} "
            f"| {'yes' if p['correct'] else '**NO**'} |"
        )
    return "\n".join(rows)


def _chord_rows(points: list[dict[str, Any]]) -> str:
    rows = []
    for p in points:
        ips, secs, done = p["items_per_second"], p["seconds"], p["chord_completion"]
        rows.append(
            f"| {p['spec']['items']:,} | {_f(ips['celerity'])} | {_f(ips['celery'])} "
            f"| {_ms(secs['celerity'])} | {_ms(secs['celery'])} | {_ms(done['celerity'])} | {_ms(done['celery'])} "
            f"| {_f(p['throughput_ratio'], digits=2)} | {len(p['runs']['celerity'])} "
            f"| {'yes' if p['correct'] else '**NO**'} |"
        )
    return "\n".join(rows)


JOB_HEAD = (
    "| items | Celerity POST | Celerity created → started | Celerity `job_start` run | Celerity created → first chunk "
    "runs | Celerity POST p99 while it starts | Celerity cancel during start | bare Celery build + publish | runs |"
)
CHUNK_HEAD = (
    "| chunk size | Celerity items/s | bare plain items/s | bare canvas items/s | Celerity time | bare plain time "
    "| bare canvas time | ratio to plain | ratio to canvas | runs | checked |\n"
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
)
CHORD_HEAD = (
    "| width | Celerity items/s | Celery items/s | Celerity time | Celery time | Celerity callback | Celery callback "
    "| items/s ratio | runs | checked |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
)


def _column(points: list[dict[str, Any]], field: str, system: str) -> list[float | None]:
    return [p[field].get(system) for p in points]


def _has(results: dict[str, Any], key: str) -> bool:
    found = results.get(key)
    return bool(found) and not (isinstance(found, dict) and "error" in found)


Page = dict[str, Any]  # the run's results, with "_plots": {section: path}


def header(r: Page) -> str:
    correct = "all correct" if r["correct"] else "**SOME RUNS WERE NOT CORRECT**"
    when = r.get("refreshed_at") or time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    runs: dict[tuple[str, str, str], list[str]] = {}
    for key, p in r.get("provenance", {}).items():
        runs.setdefault((p["plan"], p["at"], p["loads"]), []).append(key.replace("_", " "))
    others = "".join(
        f" The {' and '.join(keys)} section{'s' if len(keys) > 1 else ''} come{'' if len(keys) > 1 else 's'} from "
        f"`make bench PLAN={plan}` on {at} (load average {loads})."
        for (plan, at, loads), keys in runs.items()
    )
    return f"""# Benchmarks

_Refreshed by `make bench` on {when} ({r["plan"]} plan, {r["repeats"]} repeats, {r["duration_seconds"] / 60:.1f}
minutes, load average {_loads(r)}).{others} Every figure comes from a run whose result was checked: sums and counts
on every side, and every Celerity item audited in Postgres ({correct})._"""


def _loads(r: Page) -> str:
    values = [a[0] for _, a in r["load_average"]]
    return f"{min(values):.1f} to {max(values):.1f}" if values else "n/a"


def short_answer(r: Page) -> str:
    ov = r.get("overhead", {})
    chunked, chord = ov.get("chunked", {}), ov.get("chord", {})
    lines = []
    if chunked:
        ips, ratios = chunked["items_per_second"], chunked.get("ratios", {})
        spec = chunked["spec"]
        plain = ratios.get("plain", {}).get("throughput")
        lines.append(
            f"- **Chunked work** ({spec['items']:,} items, chunks of {spec['chunk_size']}): Celerity "
            f"{_f(ips.get('celerity'))} items/s against bare Celery written the plain way {_f(ips.get('plain'))} "
            f"items/s, a ratio of **{_f(plain, digits=2)}**, and against bare Celery's canvas form "
            f"{_f(ips.get('celery'))} items/s, a ratio of **{_f(chunked.get('throughput_ratio'), digits=2)}** "
            "(medians of the per-repeat ratios)."
        )
    if chord:
        secs, done = chord["seconds"], chord["chord_completion"]
        lines.append(
            f"- **Chord** ({chord['spec']['items']:,} header tasks, the same chord on both): Celerity "
            f"{_ms(secs.get('celerity'))} from submit to result, bare Celery {_ms(secs.get('celery'))} (ratio of times "
            f"**{_f(chord.get('time_ratio'), digits=2)}**); from the last header task to the callback's result "
            f"{_ms(done.get('celerity'))} against {_ms(done.get('celery'))}."
        )
    if _has(r, "small_jobs"):
        ratios = r["small_jobs"]["ratios"]
        parts = [
            f"{kind}: **{_f(v['throughput'], digits=2)}x** the throughput, p50 **{_f(v['p50'], digits=1)}x**"
            for kind, v in ratios.items()
        ]
        lines.append(
            f"- **Small jobs** from {r['small_jobs']['clients']} clients against bare Celery: " + "; ".join(parts) + "."
        )
    if _has(r, "pg_limit"):
        _, record, copy = where.limit_share(r)
        if record is not None:
            lines.append(
                f"- **The physical limit**: Celerity's chunked work reached {_f(record * 100, '%')} of the rate at "
                "which Postgres takes the recorder's statements from 2 writers alone, and "
                f"{_f(None if copy is None else copy * 100, '%')} of COPY's (batches of 100)."
            )
    if _has(r, "ceiling"):
        c = r["ceiling"]
        lines.append(
            f"- **Broker ceiling**: {_f(c['roundtrip_pairs_per_second'])} LPUSH+RPOP pairs/s one round trip at a time, "
            f"{_f(c['pipelined_lpush_per_second'])} LPUSH/s pipelined."
        )
    plot = r["_plots"].get("overhead")
    image = f"\n\n![overhead]({plot})" if plot else ""
    return "## The short answer\n" + "\n".join(lines) + image + (f"\n\n{EXPLANATIONS['overhead']}" if chunked else "")


def before_after(r: Page) -> str:
    if not all(_has(r, k) for k in ("overhead", "chunk_size", "chord_width", "job_size")):
        return ""
    loads = ", ".join(f"{name} {a[0]:.1f}" for name, a in r["load_average"])
    return f"""## Before and after issue #9
Ratios are Celerity against bare Celery's canvas form within one run (medians of the per-repeat ratios), so the two
columns compare runs on different days with different load on the shared cores: the "before" run had a load average
of 0.0 to 4.0, this one {loads}.

{comparison.before_after(r)}

{EXPLANATIONS["before_after"]}"""


def where_time_goes(r: Page) -> str:
    parts = ["## Where the time goes"]
    if _has(r, "overhead"):
        parts += [
            "### Per task kind",
            "Celerity's own task histograms, per job, median over the overhead section's repeats (a task's run time "
            "includes its SQL; the queue wait is publish → start).",
            comparison.where_time_goes(r),
            EXPLANATIONS["where"],
        ]
    if table := where.anatomy(r):
        parts += ["### One chunk task, step by step", EXPLANATIONS["anatomy"], table, EXPLANATIONS["anatomy_after"]]
    if table := where.cpu_table(r):
        parts += ["### CPU per chunk, every process", EXPLANATIONS["cpu"], table]
    if table := where.commands_table(r):
        parts += ["### Redis commands per chunk", EXPLANATIONS["commands"], table]
    if table := where.knobs(r):
        parts += ["### Celery's own per-task work", table, EXPLANATIONS["knobs"]]
    return "\n\n".join(parts) if len(parts) > 1 else ""


def physical_limit(r: Page) -> str:
    if not (table := where.pg_limit(r)):
        return ""
    celerity, record, copy = where.limit_share(r)
    share = (
        f"During the overhead section Celerity's chunked work recorded {_f(celerity)} items/s: "
        f"{_f(None if record is None else record * 100, '%', 1)} of what the recorder's statement alone reaches with 2 "
        f"writers (the `bulk` pool's processes), {_f(None if copy is None else copy * 100, '%', 1)} of COPY's."
    )
    return f"## The physical limit: Postgres taking item rows\n{EXPLANATIONS['pg_limit']}\n\n{table}\n\n{share}"


def dispatch_sections(r: Page) -> str:
    parts = []
    if table := dispatch.small_jobs(r):
        parts.append(f"## Small jobs\n{table}\n\n{EXPLANATIONS['small_jobs']}")
    if table := dispatch.fairness(r):
        parts.append(f"## Fairness: a small job behind a large one\n{EXPLANATIONS['fairness']}\n\n{table}")
    if table := dispatch.broker_memory(r):
        parts.append(f"## The broker's memory for one large job\n{table}\n\n{EXPLANATIONS['broker_memory']}")
    return "\n\n".join(parts)


def peers_section(r: Page) -> str:
    if not (table := peering.render(r)):
        return ""
    return f"## Peers: the same work on other task queues\n{EXPLANATIONS['peers']}\n\n{table}"


def failures(r: Page) -> str:
    failed = comparison.failures(r)
    return f"## Runs that did not finish or were not correct\n{failed}" if failed else ""


def method(r: Page) -> str:
    return f"## Method\n{METHOD}"


def machine(r: Page) -> str:
    m, v = r["machine"], r["versions"]
    versions = ", ".join(v[k] for k in ("celery", "kombu", "redis", "Django", "gunicorn", "psycopg"))
    loads = ", ".join(f"{name} {a[0]:.1f}" for name, a in r["load_average"])
    return f"""## Machine
| | |
|---|---|
| CPU | {m["cpu"]}, {m["cores"]} cores |
| memory | {m["memory_gib"]} GiB |
| kernel, Python | {m["kernel"]}, {m["python"]} |
| load average at start | {m["load_average_at_start"]} |
| Redis, Postgres | {v["redis-server"]}, {v["postgres"]} |
| celery, kombu, redis-py, Django, gunicorn, psycopg | {versions} |

Load average after each section: {loads}. A load above the core count means other work shared the cores:
absolute figures are then noisy; ratios, taken within each repeat, much less so."""


def broker_ceiling(r: Page) -> str:
    if not _has(r, "ceiling"):
        return ""
    c = r["ceiling"]
    extra = "".join(f"| redis-benchmark {k} | {_f(val)} |\n" for k, val in sorted(c["redis_benchmark"].items()))
    chunked_runs = r.get("overhead", {}).get("chunked", {}).get("runs", {}).get("celerity", [])
    share = [run["redis"].get("redis_cpu_share", 0.0) for run in chunked_runs]
    rate = [run["redis"].get("redis_commands_per_second", 0.0) for run in chunked_runs]
    used = (
        f" During Celerity's chunked runs Redis was busy {_f(100 * sum(share) / len(share), '%', 1)} of one core and "
        f"served {_f(sum(rate) / len(rate))} commands/s."
        if share
        else ""
    )
    return f"""## Broker ceiling
Measured with {c["method"]}; payloads of {c["payload_bytes"]} bytes (an item task's message); median of
{c["runs"]}.{used}

| operation | per second |
|---|---:|
| LPUSH, pipelined (500 per round trip) | {_f(c["pipelined_lpush_per_second"])} |
| RPOP, pipelined | {_f(c["pipelined_rpop_per_second"])} |
| LPUSH then RPOP, one round trip each (one connection) | {_f(c["roundtrip_pairs_per_second"])} |
{extra}
{EXPLANATIONS["ceiling"]}"""


def chunk_size(r: Page) -> str:
    if not _has(r, "chunk_size"):
        return ""
    sizes = r["chunk_size"]
    x = [p["spec"]["items"] / float(p["spec"]["chunk_size"]) for p in sizes]
    slope = {s: _slope_text(x, _column(sizes, "seconds", s)) for s in ("celerity", "plain", "celery")}
    return f"""## Chunk size against items/s
![chunk size]({r["_plots"]["chunk_size"]})

{CHUNK_HEAD}
{_chunk_rows(sizes)}

Log-log slope of the job's time against its number of chunks: Celerity {slope["celerity"]}; bare Celery, plain
{slope["plain"]}; bare Celery, canvas {slope["celery"]}.

{EXPLANATIONS["chunk_size"]}"""


def chord_width(r: Page) -> str:
    if not _has(r, "chord_width"):
        return ""
    widths = r["chord_width"]
    x = [float(p["spec"]["items"]) for p in widths]
    return f"""## Chord width against completion time
![chord width]({r["_plots"]["chord_width"]})

{CHORD_HEAD}
{_chord_rows(widths)}

Log-log slopes, submit → result: Celerity {_slope_text(x, _column(widths, "seconds", "celerity"))}; bare Celery
{_slope_text(x, _column(widths, "seconds", "celery"))}.
Last header → callback: Celerity {_slope_text(x, _column(widths, "chord_completion", "celerity"))}; bare Celery
{_slope_text(x, _column(widths, "chord_completion", "celery"))}.

{EXPLANATIONS["chord_width"]}"""


def job_size(r: Page) -> str:
    if not _has(r, "job_size"):
        return ""
    jobs = r["job_size"]
    x = [float(p["spec"]["items"]) for p in jobs]
    rows = "\n".join(
        f"| {p['spec']['items']:,} | {_ms(p['submit_seconds']['celerity'])} | {_ms(p['start_seconds']['celerity'])} "
        f"| {_ms(p.get('setup_seconds', {}).get('celerity'))} "
        f"| {_ms(p.get('first_chunk_seconds', {}).get('celerity'))} "
        f"| {_ms(p.get('probe_submit_p99', {}).get('celerity'))} | {_ms(p.get('cancel_seconds', {}).get('celerity'))} "
        f"| {_ms(p['submit_seconds']['celery'])} | {len(p['runs']['celerity'])} |"
        for p in jobs
    )
    return f"""## Job size against submit latency
![job size]({r["_plots"]["job_size"]})

{JOB_HEAD}
|---:|---:|---:|---:|---:|---:|---:|---:|---:|
{rows}

Log-log slopes: Celerity POST {_slope_text(x, _column(jobs, "submit_seconds", "celerity"))}; Celerity `job_start`
{_slope_text(x, [p.get("setup_seconds", {}).get("celerity") for p in jobs])}; bare Celery publish
{_slope_text(x, _column(jobs, "submit_seconds", "celery"))}.

{EXPLANATIONS["job_size"]}"""


def instrumentation(r: Page) -> str:
    if "instrumentation" not in r:
        return ""
    return f"""## Instrumentation
Metrics, heartbeats and signals measured on their own (`loadtests/benchmarks/instrumentation.py`): the signals a
worker sends around every task, with Celerity's handlers off and on, in a process writing its metrics to a
multiprocess directory as a pool child does; the share is against the mean run time of Celerity's tasks in this run.

{comparison.instrumentation(r)}"""


def reproduce(r: Page) -> str:
    return f"""## Reproduce
`make bench` (about {r["duration_seconds"] / 60:.0f} minutes here). `python -m loadtests.bench --plan quick --no-docs`
is a smoke run that leaves this page alone; `--plan where` runs only issue #23's measuring sections, `--plan dispatch`
only issue #17's, `--plan knobs` only Celery's per-task features. The raw figures of every run (each run's CPU seconds
per process and Redis commands included) are in `loadtests/results/bench-<time>/bench.json`;
`python -m loadtests.bench --render <bench.json>` writes this page again from one."""


STEPS: list[Callable[[Page], str]] = [
    header,
    short_answer,
    peers_section,
    dispatch_sections,
    before_after,
    where_time_goes,
    physical_limit,
    failures,
    method,
    machine,
    broker_ceiling,
    chunk_size,
    chord_width,
    job_size,
    instrumentation,
    reproduce,
]


def render(results: dict[str, Any], plots: dict[str, str]) -> str:
    """The page: each step renders its part from the run's results ("" when the run has no figures for it)."""
    page = {**results, "_plots": plots}
    return "\n\n".join(part for step in STEPS if (part := step(page))) + "\n"


DATA = "bench.json"  # beside the plots: the figures the page was written from


def merged(results: dict[str, Any], saved: dict[str, Any] | None, sections: list[str]) -> dict[str, Any]:
    """The page's figures after a run: a default run's own, keeping the sections only another plan measures (the
    peers); another plan's sections put into the page's figures, each with where it came from."""
    if saved is None:
        return results
    if results["plan"] == "default":
        kept = {k: saved[k] for k in sections if k in saved and k not in results}
        earlier = saved.get("provenance", {})
        provenance = {k: earlier.get(k) or _provenance(saved) for k in kept}
        return {**results, **kept, "provenance": provenance}
    page = {**saved, "provenance": dict(saved.get("provenance", {}))}
    for key in (k for k in sections if k in results):
        page[key] = results[key]
        page["provenance"][key] = _provenance(results)
    return page


def _provenance(run: dict[str, Any]) -> dict[str, str]:
    loads = [a[0] for _, a in run.get("load_average", [])]
    return {
        "plan": str(run.get("plan")),
        "at": str(run.get("refreshed_at", "an earlier run")),
        "loads": f"{min(loads):.1f} to {max(loads):.1f}" if loads else "n/a",
    }


def write(results: dict[str, Any], doc: Path, plot_dir: Path) -> Path:
    doc.write_text(render(results, charts.draw(results, plot_dir)))
    (plot_dir / DATA).write_text(json.dumps(results, indent=1, default=str) + "\n")
    return doc
