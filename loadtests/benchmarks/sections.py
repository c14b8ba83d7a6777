"""The bench's sections beyond the overhead and the curves: each takes the running systems, the plan and a console,
and returns its figures for bench.json (every one with a `correct` flag where something was checked).

- `knobs`: Celery's per-task features, one setting at a time (knobs.py);
- `anatomy`: where a Celerity chunk task's time goes (anatomy.py), beside the bare task's;
- `pg_limit`: how fast Postgres takes item rows on its own (pglimit.py);
- `small_jobs`, `fairness`, `broker_memory`: issue #17's "before" (smalljobs.py, fairness.py, memory.py).
"""

from __future__ import annotations

import uuid
from typing import Any

from rich.console import Console

from devstack import processes
from loadtests.benchmarks import anatomy, fairness, knobs, memory, pglimit, smalljobs, workers
from loadtests.benchmarks.baselines import PlainBaseline
from loadtests.benchmarks.cpu import Accounting
from loadtests.benchmarks.sides import wait_idle
from loadtests.benchmarks.systems import Systems, guarded
from loadtests.checking import audit_items, check
from loadtests.scenarios import JobSpec, expected_sum


def knobs_section(s: Systems, plan: dict[str, Any], console: Console) -> dict[str, Any]:
    """Each variant on a pool of its own, stopped after the section."""
    group = processes.ProcessGroup()
    try:

        def start(**kwargs: Any) -> list[str]:
            return workers.start(group, logdir=s.rundir / "logs", **kwargs)

        def run(side: PlainBaseline, spec: JobSpec) -> Any:
            return guarded(
                side, spec, accounting=Accounting({**s.accounting.roots, **group.pids()}, s.accounting.broker)
            )

        return knobs.measure(
            s.plain, plan["knobs"], plan["repeats"], redis_url=s.redis_url, start=start, run=run, say=console.print
        )
    finally:
        group.stop(grace=30)


def anatomy_section(s: Systems, plan: dict[str, Any], console: Console) -> dict[str, Any]:
    size, chunks = plan["anatomy"]
    wait_idle(s.celerity.broker)
    found = anatomy.measure(s.database_url, s.redis_url, chunk_size=size, chunks=chunks)
    found["bare_task_seconds"] = anatomy.bare_task(size)
    found["bare_store_result_seconds"] = _store_result(s.plain)
    console.print(f"  chunk task {found['total_mean'] * 1000:.2f} ms: {found['steps']}")
    return found


def _store_result(side: PlainBaseline, runs: int = 500) -> float:
    """Seconds per `store_result` of a chunk's [count, sum], what the plain baseline's worker does after each task."""
    import time

    backend, ids = side.app.backend, [f"bench-store-{uuid.uuid4()}" for _ in range(runs)]
    started = time.perf_counter()
    for task_id in ids:
        backend.store_result(task_id, [100, 328_350], "SUCCESS")
    seconds = (time.perf_counter() - started) / runs
    side.broker.delete(*[backend.get_key_for_task(task_id) for task_id in ids])
    return seconds


def pg_limit_section(s: Systems, plan: dict[str, Any], console: Console) -> list[dict[str, Any]]:
    wait_idle(s.celerity.broker)
    found = pglimit.measure(s.database_url, s.redis_url, **plan["pg_limit"])
    for point in found:
        console.print(f"  {point['method']} x{point['writers']}: {point['rows_per_second']:,.0f} rows/s")
    return found


def small_jobs_section(s: Systems, plan: dict[str, Any], console: Console) -> dict[str, Any]:
    """Each kind A B, B A: Celerity's batch and bare Celery's alternate, so drift hits both."""
    jobs, clients, repeats = plan["small_jobs"]
    batches = []
    for kind, count in zip(smalljobs.KINDS, jobs, strict=True):
        for repeat in range(repeats):
            order = ["celerity", "bare"] if repeat % 2 == 0 else ["bare", "celerity"]
            pair = {}
            for side in order:
                wait_idle(s.celerity.broker)
                wait_idle(s.plain.broker)
                if side == "celerity":
                    batch = smalljobs.celerity(s.api_url, s.token, s.database_url, kind, count, clients)
                else:
                    batch = smalljobs.bare(s.plain, kind, count, clients)
                pair[side] = batch.summary()
            batches += [pair["celerity"], pair["bare"]]
            console.print(f"  {kind} #{repeat + 1}: " + " | ".join(_small_line(b) for b in pair.values()))
    return {"clients": clients, "batches": batches, "ratios": smalljobs.ratios(batches)}


def _small_line(b: dict[str, Any]) -> str:
    p50, p99 = (b[k] * 1000 if b[k] is not None else float("nan") for k in ("p50", "p99"))
    right = "" if b["correct"] else f" INCORRECT {b['wrong']}"
    return f"{b['system']}: {b['jobs_per_second']:.1f} jobs/s, p50 {p50:.0f} ms, p99 {p99:.0f} ms{right}"


def fairness_section(s: Systems, plan: dict[str, Any], console: Console) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for case, (large, small) in fairness.CASES.items():
        runs: dict[str, list[dict[str, Any]]] = {"celerity": [], "plain": []}
        for _ in range(plan["fairness"]):
            alone = fairness.celerity_pair(s.celerity, None, small)
            behind = fairness.celerity_pair(s.celerity, large, small)
            runs["celerity"].append(
                {**behind, "alone": alone["small"], "correct": alone["correct"] and behind["correct"]}
            )
            alone = fairness.bare_pair(s.plain, None, small)
            behind = fairness.bare_pair(s.plain, large, small)
            runs["plain"].append({**behind, "alone": alone["small"], "correct": alone["correct"] and behind["correct"]})
        out[case] = {side: fairness.summary(r) for side, r in runs.items()}
        out[case]["spec"] = {"large": large.payload(), "small": small.payload()}
        console.print(f"  {case}: " + " | ".join(f"{k}: {_fair_line(v)}" for k, v in out[case].items() if k != "spec"))
    return out


def _fair_line(v: dict[str, Any]) -> str:
    def ms(x: float | None) -> str:
        return "n/a" if x is None else f"{x * 1000:,.0f} ms"

    return f"small alone {ms(v['alone'])}, behind {ms(v['behind'])} (large {ms(v['large'])})"


def broker_memory_section(s: Systems, plan: dict[str, Any], console: Console) -> dict[str, Any]:
    """One large chunked job, on each side: the peak while it runs, then its footprint with the pool paused."""
    spec: JobSpec = plan["broker_memory"]
    messages = len(range(0, spec.items, spec.chunk_size or 100))
    out: dict[str, Any] = {"spec": spec.payload(), "messages": messages}
    for side in (s.celerity, s.plain, s.canvas):
        with memory.Peak(s.celerity.broker) as peak:
            m = guarded(side, spec)
        footprint, ok = _paused_footprint(s, side, spec, messages)
        out[side.name] = {
            "peak_bytes": peak.grown,
            "footprint_bytes": footprint,
            "bytes_per_message": footprint / messages if footprint else None,
            "correct": m.correct and ok,
            "detail": m.detail,
        }
        console.print(
            f"  {side.name}: peak +{peak.grown / 2**20:.2f} MiB while it ran, footprint {footprint / 2**20:.2f} MiB"
        )
    return out


def _paused_footprint(s: Systems, side: Any, spec: JobSpec, messages: int) -> tuple[int, bool]:
    worker = {"celerity": "bulk", "plain": "plain-bulk", "celery": "baseline-bulk"}[side.name]
    url = {"celerity": s.redis_url, "plain": s.plain.broker_url, "celery": s.canvas.broker_url}[side.name]
    wait_idle(side.broker)
    with memory.paused(url, worker):
        if side.name == "celerity":
            grown, handle = memory.footprint(side.broker, messages, lambda: spec.submit(side.client)[0])
        elif side.name == "plain":
            grown, handle = memory.footprint(side.broker, messages, lambda: side.chunks(spec).apply_async())
        else:
            grown, handle = memory.footprint(side.broker, messages, lambda: side.canvas(spec)[0].apply_async())
    if side.name == "celerity":
        job_id = str(handle)
        verdict = check(spec, side.until_finished(job_id, 300.0), audit_items(s.database_url, [job_id]).get(job_id))
        return grown, verdict.ok
    values = handle.get(timeout=300, disable_sync_subtasks=False)
    return grown, (sum(v[0] for v in values), sum(v[1] for v in values)) == (spec.items, expected_sum(spec.items))
