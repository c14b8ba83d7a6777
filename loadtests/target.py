"""Which deployment to load: the one given, else the running `make run` stack, else a local stack started here."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from celerity_client import Celerity, RetryPolicy
from loadtests.promstats import Sources


def api_client(url: str, token: str) -> Celerity:
    """The load tests' client: it never retries, so that every request the platform refuses is counted as an error
    (a real client would wait and ask again, and the run would only look slower)."""
    return Celerity(url, token, retry=RetryPolicy.never())


@dataclass
class Target:
    api_url: str
    token: str
    metrics: Sources = field(default_factory=Sources)
    database_url: str = ""  # local stacks only: the per-item audit
    origin: str = "given"  # given | running | started

    def client(self) -> Celerity:
        return api_client(self.api_url, self.token)


def local_sources(rundir: Path, worker_metrics: dict[str, str]) -> Sources:
    """Where a local stack's metrics are: its workers' /metrics URLs, and the metric files every process of it
    writes (read directly, so that replicas the autoscaler already removed still count)."""
    from devstack import stack

    return Sources(urls=list(worker_metrics.values()), dirs=stack.metrics_dirs(rundir))


@contextlib.contextmanager
def connect(
    url: str | None,
    token: str | None,
    *,
    metrics_urls: list[str] | None = None,
    rundir: Path | None = None,
    say: Callable[[str], None] = print,
) -> Iterator[Target]:
    """Yield the target; a stack started here is stopped on exit, whatever happened."""
    if url:
        if not token:
            raise SystemExit("error: TARGET needs TOKEN (the deployment's CELERITY_API_TOKEN)")
        yield Target(url.rstrip("/"), token, Sources(urls=list(metrics_urls or [])))
        return
    from devstack import stack
    from devstack.servers import free_port, free_ports

    running = stack.read_running(stack.RUN_DIR)
    if running:
        say(f">> using the running `make run` stack at {running.api_url}")
        yield Target(
            running.api_url,
            running.token,
            local_sources(stack.RUN_DIR, running.worker_metrics),
            running.database_url,
            origin="running",
        )
        return
    rundir = rundir or stack.RUN_DIR / "loadtest"
    say(f">> no local stack is running: starting one in {rundir} for this load test (stopped afterwards)")
    with stack.local_stack(
        rundir, port=free_port(), metrics_port=free_ports(3), echo_logs=False, persistent=False, progress=False
    ) as info:
        yield Target(
            info.api_url, info.token, local_sources(rundir, info.worker_metrics), info.database_url, origin="started"
        )
