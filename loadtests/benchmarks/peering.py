"""The peers plan's section: start every peer's workers beside the running systems, run the same chunked work on
every side in rotation and a batch of one-item jobs on each, check every result, stop the peers' workers; and its
part of docs/benchmarks.md. The peers themselves are in `peers.py`."""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict
from typing import Any

from rich.console import Console

from devstack import processes
from loadtests.baseline import app as baseline
from loadtests.benchmarks import peers, smalljobs, workers
from loadtests.benchmarks.peers import PEERS, Driver
from loadtests.benchmarks.sides import wait_idle
from loadtests.benchmarks.systems import Systems, rotated
from loadtests.checking import audit_items, check
from loadtests.scenarios import JobSpec, expected_sum

DATABASE = "procrastinate"  # procrastinate's own database on the bench's Postgres


def _database(url: str) -> str:
    """The libpq URL of procrastinate's database on the same server, created when missing."""
    import psycopg

    from loadtests.checking import _libpq_url

    base = _libpq_url(url)
    head, _, tail = base.partition("?")
    server = head.rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres{'?' + tail if tail else ''}", autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone():
            connection.execute(f"CREATE DATABASE {DATABASE}")
    return f"{server}/{DATABASE}{'?' + tail if tail else ''}"


def _start(group: processes.ProcessGroup, env: peers.Env, s: Systems) -> list[Driver]:
    drivers = []
    for peer in PEERS:
        peer_env = env.of(peer)
        full = {**processes.base_env({}), **peer_env, "PYTHONPATH": str(workers.REPO)}
        for n, argv in enumerate(peer.workers(peer_env["PEER_REDIS_URL"])):
            group.start(f"{peer.name}-{n}", argv, full, log=s.rundir / "logs" / f"peer-{peer.name}-{n}.log")
        driver = peers.DRIVERS[peer.name](peer, peer_env)
        if peer.name == "procrastinate":
            _schema(driver)
        drivers.append(driver)
    for driver in drivers:
        deadline = time.monotonic() + 90
        while True:
            try:
                if driver.one(3) == 9:
                    break
            except Exception:  # not up yet: its workers are still starting
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.5)
    return drivers


def _schema(driver: Driver) -> None:
    """procrastinate's tables, once per database (the bench's Postgres is a new one every run)."""
    app = driver.module.app
    found = app.connector.get_sync_connector().execute_query_one("SELECT to_regclass('procrastinate_jobs') AS t")
    if not found["t"]:
        app.schema_manager.apply_schema()


def _chunked(s: Systems, side: Any, spec: JobSpec) -> dict[str, Any]:
    """One chunked job on one side, timed as its client sees it; its result checked."""
    size = spec.chunk_size or 100
    try:
        if side == "celerity":
            wait_idle(s.celerity.broker)
            started = time.perf_counter()
            job_id = spec.submit(s.celerity.client)[0]
            body, _ = smalljobs.waited(s.celerity.client, job_id, timeout=peers.TIMEOUT, poll=peers.FOLLOW)
            seconds = time.perf_counter() - started
            verdict = check(spec, body, audit_items(s.database_url, [job_id]).get(job_id))
            return {"seconds": seconds, "correct": verdict.ok, "detail": verdict.reason}
        if side == "plain":
            wait_idle(s.plain.broker)
            started = time.perf_counter()
            values = s.plain.chunks(spec).apply_async().get(timeout=peers.TIMEOUT)
        else:
            started = time.perf_counter()
            values = side.chunked(spec.items, size)
        seconds = time.perf_counter() - started
        got = (sum(v[0] for v in values), sum(v[1] for v in values))
        ok = got == (spec.items, expected_sum(spec.items))
        return {"seconds": seconds, "correct": ok, "detail": "ok" if ok else f"count, sum {got}"}
    except Exception as exc:  # one run that fails is reported with its reason
        return {"seconds": None, "correct": False, "detail": f"{type(exc).__name__}: {exc}"[:300]}


def _small(s: Systems, side: Any, jobs: int, clients: int) -> dict[str, Any]:
    if side == "celerity":
        return smalljobs.celerity(s.api_url, s.token, s.database_url, "one-item", jobs, clients).summary()
    if side == "plain":
        return smalljobs.bare(s.plain, "one-item", jobs, clients).summary()
    batch = smalljobs.Batch(side.name, "one-item", jobs)

    def one(i: int) -> None:
        started = time.perf_counter()
        try:
            value = side.one(i)
        except Exception as exc:  # a failed call is a wrong job, reported
            batch.wrong.append(f"{type(exc).__name__}: {exc}"[:200])
            return
        if value != i * i:
            batch.wrong.append(f"item {i}: {value}")
        else:
            batch.latencies.append(time.perf_counter() - started)

    batch.seconds = smalljobs.parallel(jobs, clients, one)
    return batch.summary()


def name(side: Any) -> str:
    return side if isinstance(side, str) else str(side.name)


def summary(runs: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Per side: the median items/s and, within each repeat, the ratio to bare Celery's plain form, then the median."""
    out = {}
    for side, found in runs.items():
        pairs = [(r, p) for r, p in zip(found, runs.get("plain", []), strict=False) if r["correct"] and p["correct"]]
        seconds = [r["seconds"] for r in found if r["correct"]]
        out[side] = {
            "seconds": statistics.median(seconds) if seconds else None,
            "ratio_to_plain": statistics.median(p["seconds"] / r["seconds"] for r, p in pairs) if pairs else None,
            "runs": found,
            "correct": all(r["correct"] for r in found),
        }
    return out


def measure(s: Systems, plan: dict[str, Any], console: Console) -> dict[str, Any]:
    spec: JobSpec = plan["peers"]["chunked"]
    jobs, clients = plan["peers"]["small"]
    env = peers.Env(s.redis_url, _database(s.database_url))
    group = processes.ProcessGroup()
    drivers: list[Driver] = []
    try:
        drivers = _start(group, env, s)
        sides: list[Any] = ["celerity", "plain", *drivers]
        runs: dict[str, list[dict[str, Any]]] = {name(side): [] for side in sides}
        for repeat in range(plan["repeats"]):
            for side in rotated(sides, repeat):
                runs[name(side)].append(run := _chunked(s, side, spec))
                console.print(f"  {spec.label} #{repeat + 1} {name(side)}: {_line(spec, run)}")
        small = {}
        for side in sides:
            small[name(side)] = _small(s, side, jobs, clients)
            console.print(f"  one-item x {jobs} {name(side)}: {small[name(side)]['jobs_per_second']:.1f} jobs/s")
    finally:
        for driver in drivers:
            driver.close()
        group.stop(grace=30)
    guarantees = {**peers.SELF, **{p.name: p.guarantees for p in PEERS}}
    labels = {"celerity": "Celerity", "plain": "bare Celery 5.7, plain (`loadtests/baseline`)"}
    return {
        "spec": spec.payload(),
        "clients": clients,
        "chunked": summary(runs),
        "small": small,
        "guarantees": {k: asdict(g) for k, g in guarantees.items()},
        "labels": labels | {p.name: p.label for p in PEERS},
        "settings": {"plain": {k: str(v) for k, v in baseline.PLAIN_SETTINGS.items()}},
    }


def _line(spec: JobSpec, run: dict[str, Any]) -> str:
    if not run["seconds"]:
        return f"INCORRECT: {run['detail']}"
    return f"{spec.items / run['seconds']:,.0f} items/s{'' if run['correct'] else ' INCORRECT: ' + run['detail']}"


def render(results: dict[str, Any]) -> str:
    """The peers' table: each system's figures beside its guarantees; "" when the run has no peers."""
    found = results.get("peers")
    if not found:
        return ""
    if "error" in found:
        return f"Not measured: {found['error']}."
    spec, rows = found["spec"], []
    for side, figures in found["chunked"].items():
        g, small = found["guarantees"].get(side, {}), found["small"].get(side, {})
        seconds, ratio = figures["seconds"], figures["ratio_to_plain"]
        right = figures["correct"] and small.get("correct", False)
        rows.append(
            f"| {found['labels'].get(side, side)} | {_n(spec['items'] / seconds if seconds else None)} "
            f"| {_n(ratio, 2)} | {_n(small.get('jobs_per_second'), 1)} | {_ms(small.get('p50'))} "
            f"| {_ms(small.get('p99'))} | {g.get('durable', '')} | {g.get('delivery', '')} | {g.get('per_item', '')} "
            f"| {g.get('serializer', '')} | {'yes' if right else '**NO**'} |"
        )
    head = (
        "| system | chunked items/s | ratio to bare plain | one-item jobs/s | p50 | p99 | durable | delivery "
        "| per-item outcomes | serializer | checked |"
    )
    return f"""Chunked work: {spec["items"]:,} items in chunks of {spec.get("chunk_size")}, each side in turn, medians
of the repeats; the ratio is bare Celery's plain time over the system's, within each repeat. One-item jobs: a batch from
{found["clients"]} client threads, each waiting for its job's result before the next. Every time is the client's, from
the first publish to every result in hand.

{head}
|---|---:|---:|---:|---:|---:|---|---|---|---|---|
{chr(10).join(rows)}"""


def _n(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:,.0f} ms"
