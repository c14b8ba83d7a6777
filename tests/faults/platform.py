"""The platform on the fault suite's servers: gunicorn, a `default` and a `bulk` worker and the reconciler, each a
process group of its own (so one can be SIGKILLed whole), with short bounds so that every recovery takes seconds."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import psycopg

from devstack import processes, servers

# Short on purpose (production defaults are minutes): a lost message comes back after VISIBILITY s, a silent job is
# re-driven after BOUND s. Tasks here run well under a second, so the short visibility timeout runs nothing twice
# that is still running.
VISIBILITY, BOUND, INTERVAL = 10, 12, 1.0
STARTUP_GRACE = 30.0
LIVENESS_FAILURES = 8  # one probe a second; a worker starting up or reconnecting after a restart answers within that
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
    groups: dict[str, processes.ProcessGroup] = field(default_factory=dict)
    restarts: list[str] = field(default_factory=list)
    health: dict[str, str] = field(default_factory=dict)
    born: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}"

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
        self._start("web", processes.web_argv(), web)
        for pool in processes.DEFAULT_POOLS:
            self.start_worker(pool.name)
        reconciler = {**self.env(), "CELERITY_RECONCILER_PORT": str(servers.free_port())}
        self._start("reconciler", [str(processes.BIN_DIR / "python"), "manage.py", "reconcile"], reconciler)
        wait_for(lambda: _ok(f"{self.api}/readyz"), within=90, what="the fault suite's web to be ready")
        threading.Thread(target=self._supervise, name="fault-supervisor", daemon=True).start()

    def _supervise(self) -> None:
        """What the Deployment and the kubelet do for a worker: restart it when it exits (restartPolicy: Always), and
        when its liveness probe (/healthz: 503 while its consumer is not connected) fails LIVENESS_FAILURES times in
        a row. The second one matters: kombu can trip over a lost broker connection (docs/reliability.md), after which
        Celery logs "Unrecoverable error" and the worker neither consumes nor exits."""
        failures: dict[str, int] = {}
        with (self.logdir / "supervisor.log").open("a") as journal:
            while not self._stopping.wait(1.0):
                try:
                    self._probe_and_restart(failures, journal)
                except Exception as exc:  # the supervisor outlives any one bad round, as the kubelet does
                    journal.write(f"{time.strftime('%X')} supervisor round failed: {exc!r}\n")
                journal.flush()

    def _probe_and_restart(self, failures: dict[str, int], journal: Any) -> None:
        with self._lock:
            for name in [n for n in self.groups if n.startswith("worker-")]:
                alive = not self.groups[name].exited()
                if alive and time.monotonic() - self.born[name] < STARTUP_GRACE:
                    continue  # the startup probe's window: Django and Celery take a while to come up
                failures[name] = 0 if alive and _ok(self.health[name]) else failures.get(name, 0) + 1
                if not alive or failures[name] >= LIVENESS_FAILURES:
                    journal.write(f"{time.strftime('%X')} restarting {name} ({'liveness' if alive else 'exited'})\n")
                    self.groups.pop(name).stop(grace=5)
                    self.restarts.append(name)
                    failures[name] = 0
                    self._start_worker(name.removeprefix("worker-"))

    def start_worker(self, pool_name: str) -> None:
        with self._lock:
            self._start_worker(pool_name)
        wait_for(lambda: len(self.pool_pids(pool_name)) >= 2, within=90, what=f"{pool_name} worker's pool processes")

    def _start_worker(self, pool_name: str) -> None:
        pool, port = next(p for p in processes.DEFAULT_POOLS if p.name == pool_name), servers.free_port()
        metrics = self._dir(f"metrics-{pool.name}-{time.monotonic_ns()}")
        env = processes.worker_env(pool, self.env(), metrics_port=port, multiproc_dir=metrics)
        name = f"worker-{pool.name}"
        self._start(name, processes.worker_argv(pool), env)
        self.health[name], self.born[name] = f"http://127.0.0.1:{port}/healthz", time.monotonic()

    def worker_pid(self, pool_name: str) -> int:
        return self.groups[f"worker-{pool_name}"].children[0].process.pid

    def pool_pids(self, pool_name: str) -> list[int]:
        try:
            return [child.pid for child in psutil.Process(self.worker_pid(pool_name)).children()]
        except psutil.NoSuchProcess:
            return []

    def pause_worker(self, pool_name: str) -> None:
        """Stop a pool's worker (warm shutdown) and keep it stopped, so that what is published to it stays queued."""
        with self._lock:
            self.groups.pop(f"worker-{pool_name}").stop(grace=30)

    def kill_worker(self, pool_name: str) -> None:
        """SIGKILL a whole worker (parent and pool), as a node failure does: nobody acknowledges or returns anything.
        The supervisor starts a new one, as the Deployment would."""
        with self._lock:
            for child in self.groups[f"worker-{pool_name}"].children:
                os.killpg(child.process.pid, signal.SIGKILL)
                child.process.wait(30)

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            for group in self.groups.values():
                group.stop(grace=20)
            self.groups.clear()

    def _start(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        group = processes.ProcessGroup()
        group.start(name, argv, env, log=self.logdir / f"{name}.log")
        self.groups[name] = group

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


def _ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - loopback URL we built
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, http.client.HTTPException):
        return False


def rows(database_url: str, query: str, params: list[Any]) -> Iterator[tuple[Any, ...]]:
    with psycopg.connect(**servers._psycopg_params(database_url, dbname="faults"), autocommit=True) as conn:
        yield from conn.execute(query, params).fetchall()
