"""`make bench`: Celerity against bare Celery on the same Redis and worker settings, in one run.

- **overhead**: the same chunked and chord work on both, alternating, ratios taken within each repeat;
- **scaling curves**: chunk size against items/s, chord width against completion time, job size against the
  submit latency;
- **broker ceiling**: raw Redis list operations on this machine, and the share of Redis each run used.

Every run is checked (sums, counts, and Celerity's items audited in the database). Figures are medians over the
repeats. It writes loadtests/results/bench-<time>/bench.json, docs/benchmarks.md and its plots in docs/benchmarks/.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console

from devstack import stopping
from loadtests.benchmarks import ceiling, instrumentation, machine, peering, peers, sections, workers, writeup
from loadtests.benchmarks.baselines import PlainBaseline
from loadtests.benchmarks.cpu import Accounting
from loadtests.benchmarks.sides import Celerity, Measurement
from loadtests.benchmarks.systems import CEILING_DB, Side, Systems, guarded, rotated, systems
from loadtests.scenarios import JobSpec

REPO = Path(__file__).resolve().parents[1]
__all__ = ["PLANS", "guarded", "main", "rotated"]

PLANS: dict[str, dict[str, Any]] = {
    "default": {
        "repeats": 3,
        "ceiling": True,
        "overhead": [JobSpec("chunked", 20_000, 100), JobSpec("chord", 1000)],
        "chunk_items": 10_000,
        "chunk_sizes": [10, 30, 100, 300, 1000, 3000],
        "chord_widths": [10, 100, 1000, 3000, 10_000],
        "chord_repeats_above": {3000: 2, 10_000: 1},  # the widest chords run fewer times (time budget)
        "job_sizes": [100, 1000, 10_000, 100_000, 1_000_000],
        "knobs": JobSpec("chunked", 20_000, 100),
        "anatomy": (100, 200),  # chunk size, chunks timed
        "pg_limit": {"seconds": 2.0, "writers": [1, 2, 4]},
        "small_jobs": ((200, 100), 8, 2),  # (one-item jobs, chords of 10) per batch, client threads, repeats
        "fairness": 2,  # repeats of each case
        "broker_memory": JobSpec("chunked", 100_000, 100),
    },
    "chord": {  # the chord sections only, to iterate on the chord's overhead: `python -m loadtests.bench --plan chord`
        "repeats": 3,
        "ceiling": True,
        "overhead": [JobSpec("chord", 1000)],
        "chunk_items": 0,
        "chunk_sizes": [],
        "chord_widths": [1000, 10_000],
        "chord_repeats_above": {10_000: 2},
        "job_sizes": [],
    },
    "quick": {
        "repeats": 1,
        "ceiling": True,
        "overhead": [JobSpec("chunked", 2000, 100), JobSpec("chord", 100)],
        "chunk_items": 1000,
        "chunk_sizes": [10, 100, 1000],
        "chord_widths": [10, 100],
        "chord_repeats_above": {},
        "job_sizes": [100, 100_000],
        "knobs": JobSpec("chunked", 2000, 100),
        "anatomy": (100, 30),
        "pg_limit": {"seconds": 0.5, "writers": [1, 2]},
        "small_jobs": ((20, 10), 4, 1),
        "fairness": 1,
        "broker_memory": JobSpec("chunked", 10_000, 100),
    },
    "dispatch": {  # issue #17's sections only: `python -m loadtests.bench --plan dispatch`
        "repeats": 3,
        "small_jobs": ((200, 100), 8, 2),
        "fairness": 2,
        "broker_memory": JobSpec("chunked", 100_000, 100),
    },
    "peers": {  # `make bench PLAN=peers`, which installs requirements/peers.txt first
        "repeats": 3,
        "peers": {"chunked": JobSpec("chunked", 20_000, 100), "small": (200, 8)},
    },
    "where": {  # issue #23's measuring sections: `python -m loadtests.bench --plan where`
        "repeats": 3,
        "overhead": [JobSpec("chunked", 20_000, 100), JobSpec("chord", 1000)],  # the page's whole overhead section
        "knobs": JobSpec("chunked", 20_000, 100),
        "anatomy": (100, 200),
        "pg_limit": {"seconds": 2.0, "writers": [1, 2, 4]},
    },
    "knobs": {  # Celery's per-task features only: `python -m loadtests.bench --plan knobs --no-docs`
        "repeats": 3,
        "knobs": JobSpec("chunked", 20_000, 100),
    },
}


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _say(console: Console, label: str, runs: list[Measurement]) -> None:
    parts = [label]
    for m in runs:
        figure = f"{m.items_per_second:,.0f} items/s in {m.seconds:.2f}s"
        if not m.seconds:  # a submit-only measurement
            start = f", job_start ran {m.setup_seconds * 1000:,.0f} ms" if m.setup_seconds is not None else ""
            figure = f"submitted in {(m.submit_seconds or 0) * 1000:,.1f} ms{start}"
        if m.chord_completion is not None:
            figure += f", callback {m.chord_completion * 1000:.0f} ms after the last header"
        parts.append(f"{m.system}: {figure}{'' if m.correct else ' [red]INCORRECT: ' + m.detail + '[/red]'}")
    console.print("  " + " | ".join(parts))


def sides_for(s: Systems, spec: JobSpec) -> list[Side]:
    """Chunked work has both bare forms; a chord has one (the same chord)."""
    return [s.celerity, s.plain, s.canvas] if spec.workload == "chunked" else [s.celerity, s.canvas]


def measured(
    sides: Sequence[Side],
    spec: JobSpec,
    repeats: int,
    console: Console,
    run: Callable[[Any, JobSpec], Measurement] = lambda side, spec: side.run(spec),
    accounting: Accounting | None = None,
) -> dict[str, list[Measurement]]:
    runs: dict[str, list[Measurement]] = {side.name: [] for side in sides}
    for repeat in range(repeats):
        ordered = [guarded(side, spec, run, accounting) for side in rotated(sides, repeat)]
        for m in ordered:
            runs[m.system].append(m)
        _say(console, f"{spec.label} #{repeat + 1}", ordered)
    return runs


def overhead(s: Systems, plan: dict[str, Any], console: Console) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in plan["overhead"]:
        runs = measured(sides_for(s, spec), spec, plan["repeats"], console, accounting=s.accounting)
        out[spec.workload] = _compare(spec, runs)
    return out


def _ratios(celerity: list[Measurement], bare: list[Measurement]) -> dict[str, float | None]:
    """Celerity against one baseline within each repeat (both measured minutes apart at most), then the median:
    throughput (higher is better for Celerity), time and chord completion (lower is better)."""
    pairs = list(zip(celerity, bare, strict=False))
    return {
        "throughput": _median(
            [c.items_per_second / b.items_per_second for c, b in pairs if c.items_per_second and b.items_per_second]
        ),
        "time": _median([c.seconds / b.seconds for c, b in pairs if c.seconds and b.seconds]),
        "completion": _median(
            [c.chord_completion / b.chord_completion for c, b in pairs if c.chord_completion and b.chord_completion]
        ),
    }


def _compare(spec: JobSpec, runs: dict[str, list[Measurement]]) -> dict[str, Any]:
    ratios = {name: _ratios(runs["celerity"], ms) for name, ms in runs.items() if name != "celerity"}
    canvas = ratios.get("celery", {})
    return {
        "spec": asdict(spec),
        "runs": {name: [asdict(m) | {"items_per_second": m.items_per_second} for m in ms] for name, ms in runs.items()},
        "items_per_second": {name: _median([m.items_per_second for m in ms]) for name, ms in runs.items()},
        "seconds": {name: _median([m.seconds for m in ms]) for name, ms in runs.items()},
        "chord_completion": {name: _median([m.chord_completion for m in ms]) for name, ms in runs.items()},
        "header_runtime": {name: _median([m.header_runtime for m in ms]) for name, ms in runs.items()},
        "ratios": ratios,  # against each baseline by name
        "throughput_ratio": canvas.get("throughput"),  # against the canvas form ("celery"), as before
        "time_ratio": canvas.get("time"),
        "completion_ratio": canvas.get("completion"),
        "correct": all(m.correct for ms in runs.values() for m in ms),
    }


def curve(
    s: Systems,
    specs: list[JobSpec],
    repeats: Callable[[JobSpec], int],
    console: Console,
    run: Callable[[Any, JobSpec], Measurement] = lambda side, spec: side.run(spec),
    sides: Callable[[Systems, JobSpec], list[Side]] = sides_for,
) -> list[dict[str, Any]]:
    points = []
    for spec in specs:
        runs = measured(sides(s, spec), spec, repeats(spec), console, run)
        point = _compare(spec, runs)
        point["submit_seconds"] = {n: _median([m.submit_seconds for m in ms]) for n, ms in runs.items()}
        point["start_seconds"] = {n: _median([m.start_seconds for m in ms]) for n, ms in runs.items()}
        for name in ("setup_seconds", "first_chunk_seconds", "probe_submit_p99", "cancel_seconds"):
            point[name] = {n: _median([getattr(m, name) for m in ms]) for n, ms in runs.items()}
        points.append(point)
    return points


def _submit(side: Side, spec: JobSpec) -> Measurement:
    if isinstance(side, PlainBaseline):
        raise TypeError("the job-size curve compares Celerity's submit with the canvas form's publish")
    return side.submit_only(spec) if isinstance(side, Celerity) else side.publish_only(spec)


def _ceiling(s: Systems, plan: dict[str, Any], console: Console) -> dict[str, Any]:
    found = asdict(ceiling.measure(workers.db_url(s.redis_url, CEILING_DB), runs=plan["repeats"]))
    console.print(f"  {found}")
    return found


def _chunk_size(s: Systems, plan: dict[str, Any], console: Console) -> list[dict[str, Any]]:
    sizes = [JobSpec("chunked", plan["chunk_items"], k) for k in plan["chunk_sizes"]]
    return curve(s, sizes, lambda _: plan["repeats"], console)


def _chord_width(s: Systems, plan: dict[str, Any], console: Console) -> list[dict[str, Any]]:
    widths, fewer = [JobSpec("chord", w) for w in plan["chord_widths"]], plan["chord_repeats_above"]
    return curve(s, widths, lambda p: min([plan["repeats"], *(n for w, n in fewer.items() if p.items >= w)]), console)


def _job_size(s: Systems, plan: dict[str, Any], console: Console) -> list[dict[str, Any]]:
    jobs = [JobSpec("chunked", n, 1000) for n in plan["job_sizes"]]
    return curve(s, jobs, lambda _: plan["repeats"], console, run=_submit, sides=lambda s, _: [s.celerity, s.canvas])


Section = Callable[[Systems, dict[str, Any], Console], Any]
# (results key, the plan's key, heading printed, section): a plan runs the sections whose key it sets (not empty), in
# this order.
SECTIONS: list[tuple[str, str, str, Section]] = [
    ("ceiling", "ceiling", "broker ceiling", _ceiling),
    ("overhead", "overhead", "overhead: the same work on Celerity and on bare Celery", overhead),
    ("chunk_size", "chunk_sizes", "chunk size: against items/s", _chunk_size),
    ("chord_width", "chord_widths", "chord width: against completion time", _chord_width),
    ("job_size", "job_sizes", "job size: against submit latency", _job_size),
    (
        "knobs",
        "knobs",
        "Celery's per-task features: the plain baseline with one setting changed",
        sections.knobs_section,
    ),
    ("anatomy", "anatomy", "where the time goes: one chunk task, step by step", sections.anatomy_section),
    ("pg_limit", "pg_limit", "the physical limit: Postgres taking item rows on its own", sections.pg_limit_section),
    ("small_jobs", "small_jobs", "small jobs: from concurrent clients", sections.small_jobs_section),
    ("fairness", "fairness", "fairness: a small job behind a large one", sections.fairness_section),
    ("broker_memory", "broker_memory", "broker memory: one large job", sections.broker_memory_section),
    ("peers", "peers", "peers: the same work on other task queues", peering.measure),
]


def all_correct(found: Any) -> bool:
    """Every `correct` flag anywhere in a section's results is true (points, runs, sub-sections)."""
    if isinstance(found, dict):
        return all(v is not False for k, v in found.items() if k == "correct") and all(
            all_correct(v) for k, v in found.items() if k != "correct"
        )
    if isinstance(found, list):
        return all(all_correct(v) for v in found)
    return True


def _save(out: Path, results: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(results, indent=2, default=str) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--plan", choices=PLANS, default=os.environ.get("BENCH_PLAN", "default"))
    parser.add_argument("--repeats", type=int, default=None, help="override the plan's repeats")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    parser.add_argument("--render", type=Path, metavar="BENCH_JSON", help="only rewrite the docs from a bench.json")
    args = parser.parse_args(argv)
    if args.render:
        saved = json.loads(args.render.read_text())
        print(f">> refreshed {writeup.write(saved, REPO / 'docs' / 'benchmarks.md', REPO / 'docs' / 'benchmarks')}")
        return 0
    plan = dict(PLANS[args.plan])
    if args.repeats:
        plan["repeats"] = args.repeats
    if plan.get("peers"):
        try:
            peers.require(peers.PEERS)
        except peers.PeerMissing as exc:  # before anything starts: one line that says what to install
            print(f"error: {exc}", file=sys.stderr)
            return 2
    console = Console()
    out = REPO / "loadtests" / "results" / time.strftime("bench-%Y%m%d-%H%M%S")
    started = time.time()
    results: dict[str, Any] = {"plan": args.plan, "repeats": plan["repeats"], "machine": machine.describe()}
    results["refreshed_at"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    loads: list[tuple[str, tuple[float, float, float]]] = [("start", os.getloadavg())]
    with systems(console) as sides:
        results["versions"] = machine.versions(sides.redis_url, sides.database_url)
        for key, wanted, title, section in SECTIONS:
            if not plan.get(wanted):
                continue
            console.print(f">> {title}")
            try:
                results[key] = section(sides, plan, console)
            except Exception as exc:  # one section that cannot run is reported; the others still run
                results[key] = {"error": f"{type(exc).__name__}: {exc}"[:500], "correct": False}
                console.print(f"  [red]{results[key]['error']}[/red]")
            _save(out, results)  # a run stopped later keeps what it measured
            loads.append((title.split(":")[0], os.getloadavg()))
    if plan.get("overhead"):  # its share is against the chunk task's run time in the overhead section
        console.print(">> instrumentation: task signals with Celerity's handlers off and on")
        try:
            results["instrumentation"] = instrumentation.measure()
        except Exception as exc:  # reported in the write-up; the rest of the bench stands
            results["instrumentation"] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
        console.print(f"  {results['instrumentation']}")
    results["load_average"] = loads
    results["duration_seconds"] = time.time() - started
    results["correct"] = all_correct({key: results.get(key) for key, *_ in SECTIONS})
    _save(out, results)
    console.print(f">> wrote {out / 'bench.json'} ({results['duration_seconds']:.0f} s)")
    if not args.no_docs:
        plots = REPO / "docs" / "benchmarks"
        saved = json.loads((plots / writeup.DATA).read_text()) if (plots / writeup.DATA).exists() else None
        page = writeup.merged(results, saved, [key for key, *_ in SECTIONS] + ["instrumentation"])
        page["correct"] = all_correct({key: page.get(key) for key, *_ in SECTIONS})
        written = writeup.write(page, REPO / "docs" / "benchmarks.md", plots)
        console.print(f">> refreshed {written}")
    if not results["correct"]:
        console.print("[bold red]some runs were not correct: their figures are not to be trusted[/bold red]")
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(stopping.exit_status(main))  # SIGTERM/SIGINT: the stack and the baseline stop first
