"""The platform on the fault suite's servers: gunicorn, a `default` and a `bulk` worker and the reconciler, each a
process group of its own (so one can be SIGKILLed whole), with short bounds so that every recovery takes seconds."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import psycopg

from devstack import processes, servers, supervising

# Short on purpose (production defaults are minutes): a lost message comes back after VISIBILITY s, a silent job is
# re-driven after BOUND s. Tasks here run well under a second, so the short visibility timeout runs nothing twice
# that is still running.
VISIBILITY, BOUND, INTERVAL = 10, 12, 1.0
STARTUP_GRACE = 30.0
LIVENESS_FAILURES = 8
SETTINGS = {
    "DJANGO_SETTINGS_MODULE": "config.settings.test",
    "CELERITY_API_TOKEN": "fault-token",
    "CELERITY_VISIBILITY_TIMEOUT": str(VISIBILITY),
    "CELERITY_TASK_TIME_LIMIT": "120",
    "CELERITY_TASK_SOFT_TIME_LIMIT": "100",
    "CELERITY_WORKER_LOST_RETRY_DELAY": "0.5",
    "CELERITY_RECONCILE_BOUND": str(BOUND),
    "CELERITY_RECONCILE_INTERVAL": str(INTERVAL),
    "CELERITY_RECONCILE_MAX_REDRIVES": "5",
    "CELERITY_HEARTBEAT_INTERVAL": "1",
}


@dataclass
class Platform:
    redis_url: str
    database_url: str
    logdir: Path
    port: int = field(default_factory=servers.free_port)
    group: processes.ProcessGroup = field(default_factory=processes.ProcessGroup)
    supervisor: supervising.Supervisor = field(init=False)

    def __post_init__(self) -> None:
        # What the Deployment and the kubelet do (devstack/supervising.py), with short bounds: one probe a second,
        # and a worker starting up or reconnecting after a restart answers within LIVENESS_FAILURES of them.
        probing = supervising.Probing(
            every=1.0, failures=LIVENESS_FAILURES, startup_grace=STARTUP_GRACE, backoff=0.5, max_backoff=5.0
        )
        self.supervisor = supervising.Supervisor(self.group, probing, say=self._journal)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def restarts(self) -> list[str]:
        return [restart.name for restart in self.supervisor.restarts]

    def env(self) -> dict[str, str]:
        return processes.base_env({"REDIS_URL": self.redis_url, "DATABASE_URL": self.database_url, **SETTINGS})

    def migrate(self) -> None:
        subprocess.run(
            [str(processes.BIN_DIR / "python"), "manage.py", "migrate", "--noinput"],
            cwd=processes.SERVICES_DIR,
            env=self.env(),
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        web = {
            **self.env(),
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
            "WEB_CONCURRENCY": "2",
            "PROMETHEUS_MULTIPROC_DIR": str(self._dir("metrics-web")),
        }
        # Web and reconciler are restarted when they exit; only the workers are probed, as before (their /healthz
        # is what the broker faults exercise).
        self.supervisor.add(supervising.Launch("web", processes.web_argv(), web, log=self.logdir / "web.log"))
        for pool in processes.DEFAULT_POOLS:
            self.start_worker(pool.name)
        reconciler = {**self.env(), "CELERITY_RECONCILER_PORT": str(servers.free_port())}
        argv = [str(processes.BIN_DIR / "python"), "manage.py", "reconcile"]
        self.supervisor.add(supervising.Launch("reconciler", argv, reconciler, log=self.logdir / "reconciler.log"))
        wait_for(lambda: supervising.http_ok(f"{self.api}/readyz"), within=90, what="the fault suite's web to be ready")
        self.supervisor.start()

    def start_worker(self, pool_name: str) -> None:
        self.supervisor.add(lambda: self._worker(pool_name))
        wait_for(lambda: len(self.pool_pids(pool_name)) >= 2, within=90, what=f"{pool_name} worker's pool processes")

    def _worker(self, pool_name: str) -> supervising.Launch:
        """A fresh metrics port and directory for every start, as a new pod gets."""
        pool, port = next(p for p in processes.DEFAULT_POOLS if p.name == pool_name), servers.free_port()
        metrics = self._dir(f"metrics-{pool.name}-{time.monotonic_ns()}")
        env = processes.worker_env(pool, self.env(), metrics_port=port, multiproc_dir=metrics)
        name = f"worker-{pool.name}"
        health = f"http://127.0.0.1:{port}/healthz"
        return supervising.Launch(
            name, processes.worker_argv(pool), env, live_url=health, log=self.logdir / f"{name}.log"
        )

    def worker_pid(self, pool_name: str) -> int:
        return self.supervisor.child(f"worker-{pool_name}").process.pid

    def pool_pids(self, pool_name: str) -> list[int]:
        try:
            return [child.pid for child in psutil.Process(self.worker_pid(pool_name)).children()]
        except psutil.NoSuchProcess:
            return []

    def pause_worker(self, pool_name: str) -> None:
        """Stop a pool's worker (warm shutdown) and keep it stopped, so that what is published to it stays queued."""
        self.supervisor.release(f"worker-{pool_name}").stop(grace=30)

    def kill_worker(self, pool_name: str) -> None:
        """SIGKILL a whole worker (parent and pool), as a node failure does: nobody acknowledges or returns anything.
        The supervisor starts a new one, as the Deployment would."""
        process = self.supervisor.child(f"worker-{pool_name}").process
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)

    def stop(self) -> None:
        self.supervisor.stop()
        self.group.stop(grace=20)

    def _journal(self, line: str) -> None:
        with (self.logdir / "supervisor.log").open("a") as journal:
            journal.write(f"{time.strftime('%X')} {line}\n")

    def _dir(self, name: str) -> Path:
        path = self.logdir / name
        path.mkdir(parents=True, exist_ok=True)
        return path


def wait_for(check: Any, *, within: float, what: str, every: float = 0.1) -> Any:
    """Poll until check() is truthy; a generous deadline only stops a hung test, it is not what a test asserts."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if value := check():
                return value
        except (OSError, psycopg.Error):
            pass  # a server being restarted: ask again
        time.sleep(every)
    raise AssertionError(f"timed out after {within:.0f} s waiting for {what}")


def rows(database_url: str, query: str, params: list[Any]) -> Iterator[tuple[Any, ...]]:
    with psycopg.connect(**servers._psycopg_params(database_url, dbname="faults"), autocommit=True) as conn:
        yield from conn.execute(query, params).fetchall()
