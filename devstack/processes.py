"""The platform's processes (web, worker pools) as local child processes, started and stopped the way Kubernetes does.

Stopping sends SIGTERM and waits, like a pod's termination grace period: Celery's warm shutdown finishes the running
tasks (or, past `CELERITY_WORKER_DRAIN_TIMEOUT` when set, hands them back to the queue), so nothing is lost on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from devstack import stopping

REPO_ROOT = Path(__file__).resolve().parents[1]
SERVICES_DIR = REPO_ROOT / "services"
BIN_DIR = Path(sys.executable).parent


@dataclass(frozen=True)
class PoolSpec:
    name: str
    queues: tuple[str, ...]
    concurrency: int = 2


DEFAULT_POOLS = (PoolSpec("default", ("default",)), PoolSpec("bulk", ("bulk",)))


def worker_argv(pool: PoolSpec, *, loglevel: str = "INFO") -> list[str]:
    return [
        str(BIN_DIR / "celery"), "-A", "config.celery_app", "worker",
        "-Q", ",".join(pool.queues), "-c", str(pool.concurrency), "-n", f"{pool.name}@%h",
        "-E", "--loglevel", loglevel, "--without-mingle", "--without-gossip",
    ]  # fmt: skip  # a command line: each option beside its value


def web_argv() -> list[str]:
    return [str(BIN_DIR / "gunicorn"), "config.wsgi", "-c", "config/gunicorn.conf.py"]


def worker_env(pool: PoolSpec, base: dict[str, str], *, metrics_port: int, multiproc_dir: Path) -> dict[str, str]:
    return {
        **base,
        "CELERITY_POOL": pool.name,
        "CELERITY_WORKER_METRICS_PORT": str(metrics_port),
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc_dir),
    }


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]


@dataclass
class ProcessGroup:
    """Children started from services/, stopped together with SIGTERM then, after `grace`, SIGKILL."""

    children: list[Child] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str], *, log: Path | None = None) -> Child:
        # Uninterrupted: a signal between the fork and the append would leave a child that `stop` never sees.
        with stopping.uninterrupted(), contextlib.ExitStack() as files:
            stdout = files.enter_context(open(log, "ab")) if log else None  # the child keeps its own copy of the fd
            process = subprocess.Popen(
                argv,
                cwd=SERVICES_DIR,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=subprocess.STDOUT if stdout else None,
                start_new_session=True,
            )
            child = Child(name, process)
            self.children.append(child)
        return child

    def exited(self) -> list[Child]:
        return [child for child in self.children if child.process.poll() is not None]

    def stop(self, *, grace: float = 30.0) -> None:
        with stopping.uninterrupted():
            for child in self.children:
                if child.process.poll() is None:
                    os.killpg(child.process.pid, signal.SIGTERM)
            deadline = time.monotonic() + grace
            for child in self.children:
                try:
                    child.process.wait(max(deadline - time.monotonic(), 0.1))
                except subprocess.TimeoutExpired:
                    os.killpg(child.process.pid, signal.SIGKILL)
                    child.process.wait()
            self.children.clear()

    def pids(self) -> dict[str, int]:
        return {child.name: child.process.pid for child in self.children}


def base_env(stack: dict[str, str]) -> dict[str, str]:
    """The environment every platform process gets: the caller's, plus the stack's URLs and token."""
    env = {**os.environ, **stack}
    env["PATH"] = f"{BIN_DIR}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env
