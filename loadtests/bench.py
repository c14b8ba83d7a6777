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
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import redis
from rich.console import Console

from devstack import stopping
from loadtests.benchmarks import ceiling, instrumentation, machine, writeup
from loadtests.benchmarks.events import EventTap
from loadtests.benchmarks.sides import Baseline, Celerity, Measurement
from loadtests.scenarios import JobSpec
from loadtests.target import api_client, local_sources

REPO = Path(__file__).resolve().parents[1]
BASELINE_DB = 3

PLANS: dict[str, dict[str, Any]] = {
    "default": {
        "repeats": 3,
        "overhead": [JobSpec("chunked", 20_000, 100), JobSpec("chord", 1000)],
        "chunk_items": 10_000,
        "chunk_sizes": [10, 30, 100, 300, 1000, 3000],
        "chord_widths": [10, 100, 1000, 3000, 10_000],
        "chord_repeats_above": {3000: 2, 10_000: 1},  # the widest chords run fewer times (time budget)
        "job_sizes": [100, 1000, 10_000, 100_000, 1_000_000],
    },
    "chord": {  # the chord sections only, to iterate on the chord's overhead: `python -m loadtests.bench --plan chord`
        "repeats": 3,
        "overhead": [JobSpec("chord", 1000)],
        "chunk_items": 0,
        "chunk_sizes": [],
        "chord_widths": [1000, 10_000],
        "chord_repeats_above": {10_000: 2},
        "job_sizes": [],
    },
    "quick": {
        "repeats": 1,
        "overhead": [JobSpec("chunked", 2000, 100), JobSpec("chord", 100)],
        "chunk_items": 1000,
        "chunk_sizes": [10, 100, 1000],
        "chord_widths": [10, 100],
        "chord_repeats_above": {},
        "job_sizes": [100, 100_000],
    },
}


def _db(url: str, db: int) -> str:
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(url)._replace(path=f"/{db}"))


@contextmanager
def systems(console: Console) -> Iterator[tuple[Celerity, Baseline, str]]:
    """A local Celerity stack (no autoscaling: both sides keep 2 pools of 2 processes) and the baseline's workers."""
    from devstack import processes, stack
    from devstack.servers import free_port, free_ports

    rundir = stack.RUN_DIR / "bench"
    with ExitStack() as stack_:
        console.print(f">> starting a local Celerity stack in {rundir} and the bare-Celery baseline beside it")
        info = stack_.enter_context(
            stack.local_stack(
                rundir, port=free_port(), metrics_port=free_ports(3), persistent=False, progress=False, autoscale=False
            )
        )
        baseline_url = _db(info.redis_url, BASELINE_DB)
        redis.Redis.from_url(baseline_url).flushdb()
        group = processes.ProcessGroup()
        stack_.callback(group.stop, grace=30)
        env = {**os.environ, "BASELINE_REDIS_URL": baseline_url, "PYTHONPATH": str(REPO)}
        for pool in processes.DEFAULT_POOLS:
            argv = [str(processes.BIN_DIR / "celery"), "-A", "loadtests.baseline.app", "worker", "-Q", pool.name,
                    "-c", str(pool.concurrency), "-n", f"baseline-{pool.name}@%h", "-E", "--loglevel", "WARNING",
                    "--without-mingle", "--without-gossip"]  # fmt: skip  # a command line reads best whole
            group.start(f"baseline-{pool.name}", argv, env, log=rundir / "logs" / f"baseline-{pool.name}.log")
        with stopping.uninterrupted():  # a signal inside a tap's __enter__ would leave its thread on a stopped Redis
            celerity_tap = stack_.enter_context(EventTap(info.redis_url))
            baseline_tap = stack_.enter_context(EventTap(baseline_url))
        celerity = Celerity(
            api_client(info.api_url, info.token),
            redis.Redis.from_url(info.redis_url),
            local_sources(rundir, info.worker_metrics),
            info.database_url,
            celerity_tap,
        )
        baseline = Baseline(baseline_url, baseline_tap)
        baseline.ping()
        yield celerity, baseline, info.redis_url


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


def guarded(
    side: Celerity | Baseline,
    spec: JobSpec,
    run: Callable[[Celerity | Baseline, JobSpec], Measurement] = lambda side, spec: side.run(spec),
) -> Measurement:
    """A run that cannot finish (a timeout, a broker that never drains) fails alone, with its reason: the side
    clears what it left behind, and the rest of the bench still runs and is still written up."""
    try:
        return run(side, spec)
    except Exception as exc:  # any failure of one run is reported in its row, never fatal to the bench
        side.recover()
        reason = f"did not finish: {type(exc).__name__}: {exc}"[:300]
        return Measurement(side.name, spec.workload, spec.items, spec.chunk_size, 0.0, False, reason)


def overhead(c: Celerity, b: Baseline, plan: dict[str, Any], console: Console) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in plan["overhead"]:
        runs: dict[str, list[Measurement]] = {"celerity": [], "celery": []}
        for repeat in range(plan["repeats"]):
            order: list[Celerity | Baseline] = [c, b] if repeat % 2 == 0 else [b, c]  # alternate: drift hits both
            pair = {side.name: guarded(side, spec) for side in order}
            for name, measurement in pair.items():
                runs[name].append(measurement)
            _say(console, f"{spec.label} #{repeat + 1}", list(pair.values()))
        out[spec.workload] = _compare(spec, runs)
    return out


def _compare(spec: JobSpec, runs: dict[str, list[Measurement]]) -> dict[str, Any]:
    pairs = list(zip(runs["celerity"], runs["celery"], strict=True))
    return {
        "spec": asdict(spec),
        "runs": {name: [asdict(m) | {"items_per_second": m.items_per_second} for m in ms] for name, ms in runs.items()},
        "items_per_second": {name: _median([m.items_per_second for m in ms]) for name, ms in runs.items()},
        "seconds": {name: _median([m.seconds for m in ms]) for name, ms in runs.items()},
        "chord_completion": {name: _median([m.chord_completion for m in ms]) for name, ms in runs.items()},
        "header_runtime": {name: _median([m.header_runtime for m in ms]) for name, ms in runs.items()},
        # Ratios within each repeat (both sides measured minutes apart at most), then their median.
        "throughput_ratio": _median(
            [
                cm.items_per_second / bm.items_per_second
                for cm, bm in pairs
                if cm.items_per_second and bm.items_per_second
            ]
        ),
        "time_ratio": _median([cm.seconds / bm.seconds for cm, bm in pairs if cm.seconds and bm.seconds]),
        "completion_ratio": _median(
            [
                cm.chord_completion / bm.chord_completion
                for cm, bm in pairs
                if cm.chord_completion and bm.chord_completion
            ]
        ),
        "correct": all(m.correct for ms in runs.values() for m in ms),
    }


def curve(
    c: Celerity,
    b: Baseline,
    specs: list[JobSpec],
    repeats: Callable[[JobSpec], int],
    console: Console,
    run: Callable[[Celerity | Baseline, JobSpec], Measurement] = lambda side, spec: side.run(spec),
) -> list[dict[str, Any]]:
    points = []
    for spec in specs:
        runs: dict[str, list[Measurement]] = {"celerity": [], "celery": []}
        for repeat in range(repeats(spec)):
            order: list[Celerity | Baseline] = [c, b] if repeat % 2 == 0 else [b, c]
            pair = [guarded(side, spec, run) for side in order]
            for m in pair:
                runs[m.system].append(m)
            _say(console, f"{spec.label} #{repeat + 1}", pair)
        point = _compare(spec, runs)
        point["submit_seconds"] = {n: _median([m.submit_seconds for m in ms]) for n, ms in runs.items()}
        point["start_seconds"] = {n: _median([m.start_seconds for m in ms]) for n, ms in runs.items()}
        for name in ("setup_seconds", "first_chunk_seconds", "probe_submit_p99", "cancel_seconds"):
            point[name] = {n: _median([getattr(m, name) for m in ms]) for n, ms in runs.items()}
        points.append(point)
    return points


def _submit(side: Celerity | Baseline, spec: JobSpec) -> Measurement:
    return side.submit_only(spec) if isinstance(side, Celerity) else side.publish_only(spec)


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
    console = Console()
    out = REPO / "loadtests" / "results" / time.strftime("bench-%Y%m%d-%H%M%S")
    started = time.time()
    results: dict[str, Any] = {"plan": args.plan, "repeats": plan["repeats"], "machine": machine.describe()}
    loads: list[tuple[str, tuple[float, float, float]]] = [("start", os.getloadavg())]
    with systems(console) as (c, b, redis_url):
        results["versions"] = machine.versions(redis_url, c.database_url)
        console.print(">> broker ceiling")
        results["ceiling"] = asdict(ceiling.measure(_db(redis_url, 5), runs=plan["repeats"]))
        console.print(f"  {results['ceiling']}")
        console.print(">> overhead: the same work on Celerity and on bare Celery")
        results["overhead"] = overhead(c, b, plan, console)
        loads.append(("overhead", os.getloadavg()))
        console.print(">> chunk size against items/s")
        sizes = [JobSpec("chunked", plan["chunk_items"], k) for k in plan["chunk_sizes"]]
        results["chunk_size"] = curve(c, b, sizes, lambda _: plan["repeats"], console)
        loads.append(("chunk size", os.getloadavg()))
        console.print(">> chord width against completion time")
        widths = [JobSpec("chord", w) for w in plan["chord_widths"]]
        fewer = plan["chord_repeats_above"]
        results["chord_width"] = curve(
            c, b, widths, lambda s: min([plan["repeats"], *(n for w, n in fewer.items() if s.items >= w)]), console
        )
        loads.append(("chord width", os.getloadavg()))
        console.print(">> job size against submit latency")
        jobs = [JobSpec("chunked", n, 1000) for n in plan["job_sizes"]]
        results["job_size"] = curve(c, b, jobs, lambda _: plan["repeats"], console, run=_submit)
        loads.append(("job size", os.getloadavg()))
    console.print(">> instrumentation: task signals with Celerity's handlers off and on")
    try:
        results["instrumentation"] = instrumentation.measure()
    except Exception as exc:  # reported in the write-up; the rest of the bench stands
        results["instrumentation"] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    console.print(f"  {results['instrumentation']}")
    results["load_average"] = loads
    results["duration_seconds"] = time.time() - started
    results["correct"] = all(
        point["correct"] for key in ("chunk_size", "chord_width", "job_size") for point in results[key]
    ) and all(o["correct"] for o in results["overhead"].values())
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    console.print(f">> wrote {out / 'bench.json'} ({results['duration_seconds']:.0f} s)")
    if not args.no_docs:
        written = writeup.write(results, REPO / "docs" / "benchmarks.md", REPO / "docs" / "benchmarks")
        console.print(f">> refreshed {written}")
    if not results["correct"]:
        console.print("[bold red]some runs were not correct: their figures are not to be trusted[/bold red]")
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(stopping.exit_status(main))  # SIGTERM/SIGINT: the stack and the baseline stop first
