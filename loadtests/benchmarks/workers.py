"""The bare-Celery workers beside the Celerity stack: one set of pools per baseline, each on a DB of its own of the
same Redis, with as many prefork processes as Celerity's pools (`devstack.processes.DEFAULT_POOLS`)."""

from __future__ import annotations

import json
import os
import urllib.parse
from pathlib import Path
from typing import Any

from devstack import processes

REPO = Path(__file__).resolve().parents[2]


def db_url(url: str, db: int) -> str:
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(url)._replace(path=f"/{db}"))


def worker_argv(name: str, pool: processes.PoolSpec, *, events: bool) -> list[str]:
    argv = [str(processes.BIN_DIR / "celery"), "-A", "loadtests.baseline.app", "worker", "-Q", pool.name,
            "-c", str(pool.concurrency), "-n", f"{name}-{pool.name}@%h", "--loglevel", "WARNING",
            "--without-mingle", "--without-gossip"]  # fmt: skip  # a command line reads best whole
    return [*argv, "-E"] if events else argv


def start(
    group: processes.ProcessGroup,
    *,
    name: str,
    broker_url: str,
    profile: str,
    logdir: Path,
    overrides: dict[str, Any] | None = None,
    pools: tuple[str, ...] = ("default", "bulk"),
) -> list[str]:
    """Start one baseline's pools (named `<name>-<pool>`); their names, for `ProcessGroup.pids`."""
    env = {**os.environ, "BASELINE_REDIS_URL": broker_url, "BASELINE_PROFILE": profile, "PYTHONPATH": str(REPO)}
    if overrides:
        env["BASELINE_SETTINGS"] = json.dumps(overrides)
    events = profile == "celerity" or bool((overrides or {}).get("worker_send_task_events"))
    started = []
    for pool in (p for p in processes.DEFAULT_POOLS if p.name in pools):
        child = f"{name}-{pool.name}"
        group.start(child, worker_argv(name, pool, events=events), env, log=logdir / f"{child}.log")
        started.append(child)
    return started
