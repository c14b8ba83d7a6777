"""Everything a bench run measures, started together: a local Celerity stack and, on the same Redis, the bare-Celery
baselines' workers (each on a DB of its own); the accounting of every process; and the guard around one run."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from rich.console import Console

from devstack import stopping
from loadtests.benchmarks import workers
from loadtests.benchmarks.baselines import CanvasBaseline, PlainBaseline
from loadtests.benchmarks.cpu import Accounting
from loadtests.benchmarks.events import EventTap
from loadtests.benchmarks.sides import Celerity, Measurement
from loadtests.scenarios import JobSpec
from loadtests.target import api_client, local_sources

BASELINE_DB, PLAIN_DB, CEILING_DB = 3, 4, 5  # the knobs' pools take DBs from knobs.FIRST_DB on
Side = Celerity | CanvasBaseline | PlainBaseline


@dataclass
class Systems:
    """Every side of the run, on one Redis: Celerity, bare Celery's canvas form and its plain form; and what the
    accounting of a run reads (every process by role, Redis' commands)."""

    celerity: Celerity
    canvas: CanvasBaseline
    plain: PlainBaseline
    redis_url: str
    database_url: str
    accounting: Accounting
    rundir: Path
    api_url: str
    token: str


@contextmanager
def systems(console: Console) -> Iterator[Systems]:
    """A local Celerity stack (no autoscaling: every side keeps 2 pools of 2 processes) and the baselines' workers."""
    from devstack import processes, stack
    from devstack.servers import free_port, free_ports

    rundir = stack.RUN_DIR / "bench"
    with ExitStack() as stack_:
        console.print(f">> starting a local Celerity stack in {rundir} and the bare-Celery baselines beside it")
        info = stack_.enter_context(
            stack.local_stack(
                rundir, port=free_port(), metrics_port=free_ports(3), persistent=False, progress=False, autoscale=False
            )
        )
        canvas_url, plain_url = workers.db_url(info.redis_url, BASELINE_DB), workers.db_url(info.redis_url, PLAIN_DB)
        for url in (canvas_url, plain_url):
            redis.Redis.from_url(url).flushdb()
        group = processes.ProcessGroup()
        stack_.callback(group.stop, grace=30)
        logdir = rundir / "logs"
        workers.start(group, name="baseline", broker_url=canvas_url, profile="celerity", logdir=logdir)
        workers.start(group, name="plain", broker_url=plain_url, profile="plain", logdir=logdir)
        with stopping.uninterrupted():  # a signal inside a tap's __enter__ would leave its thread on a stopped Redis
            celerity_tap = stack_.enter_context(EventTap(info.redis_url))
            canvas_tap = stack_.enter_context(EventTap(canvas_url))
        broker = redis.Redis.from_url(info.redis_url)
        celerity = Celerity(
            api_client(info.api_url, info.token),
            broker,
            local_sources(rundir, info.worker_metrics),
            info.database_url,
            celerity_tap,
        )
        canvas, plain = CanvasBaseline(canvas_url, canvas_tap), PlainBaseline(plain_url)
        canvas.ping()
        plain.ping()
        roots = {**info.pids, **group.pids(), "bench": os.getpid()}
        accounting = Accounting(roots, broker)
        yield Systems(
            celerity, canvas, plain, info.redis_url, info.database_url, accounting, rundir, info.api_url, info.token
        )


def guarded(
    side: Side,
    spec: JobSpec,
    run: Callable[[Any, JobSpec], Measurement] = lambda side, spec: side.run(spec),
    accounting: Accounting | None = None,
) -> Measurement:
    """A run that cannot finish (a timeout, a broker that never drains) fails alone, with its reason: the side
    clears what it left behind, and the rest of the bench still runs and is still written up. With `accounting`,
    the run's CPU seconds per process role and Redis commands are kept with its figures."""
    try:
        reading = accounting.read() if accounting else None
        measurement = run(side, spec)
        if accounting is not None and reading is not None:
            measurement.cpu, measurement.redis_commands = accounting.since(reading)
        return measurement
    except Exception as exc:  # any failure of one run is reported in its row, never fatal to the bench
        side.recover()
        reason = f"did not finish: {type(exc).__name__}: {exc}"[:300]
        return Measurement.of(side.name, spec, 0.0, False, reason)


def rotated(sides: Sequence[Side], repeat: int) -> list[Side]:
    """Each repeat starts with the next side (A B, B A for two; A B C, B C A, C A B for three): drift hits all."""
    k = repeat % len(sides)
    return [*sides[k:], *sides[:k]]
