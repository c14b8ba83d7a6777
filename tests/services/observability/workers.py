"""Start a real worker for one test: `celery worker` exactly as devstack starts it, plus the test-only tasks."""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from devstack import processes
from devstack.servers import free_port

REPO_ROOT = Path(__file__).resolve().parents[3]
SELFTASKS = "tests.services.observability.selftasks"


@dataclass
class Worker:
    group: processes.ProcessGroup
    child: processes.Child
    pool: processes.PoolSpec
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def nodename(self) -> str:
        return f"{self.pool.name}@{socket.gethostname()}"  # what `-n <pool>@%h` expands to

    def logs(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def wait_ready(self, timeout: float = 30) -> Worker:
        """Ready when the parent serves /healthz: it starts serving at `worker_ready`, once consuming."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.child.process.poll() is not None:
                raise RuntimeError(f"worker {self.pool.name} exited during start-up:\n{self.logs()}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"worker {self.pool.name} not ready in {timeout:.0f}s:\n{self.logs()}")

    def stop(self, grace: float = 15) -> None:
        self.group.stop(grace=grace)


def start_worker(
    env: dict[str, str],
    tmp: Path,
    *,
    name: str,
    queues: tuple[str, ...],
    concurrency: int = 2,
    extra_env: dict[str, str] | None = None,
    ready: bool = True,
) -> Worker:
    pool = processes.PoolSpec(name, queues, concurrency=concurrency)
    port = free_port()
    metrics_dir = tmp / f"{name}-metrics"
    metrics_dir.mkdir(parents=True, exist_ok=True)
    wenv = processes.worker_env(pool, env, metrics_port=port, multiproc_dir=metrics_dir)
    wenv["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), wenv.get("PYTHONPATH")]))
    wenv.update(extra_env or {})
    group = processes.ProcessGroup()
    log = tmp / f"{name}.log"
    child = group.start(name, [*processes.worker_argv(pool), "-I", SELFTASKS], wenv, log=log)
    worker = Worker(group, child, pool, port, log)
    return worker.wait_ready() if ready else worker
