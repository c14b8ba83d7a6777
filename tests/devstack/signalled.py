"""What the signal tests share: run a command in a process group of its own, as a shell or CI runner would, signal it
more than once, and check that nothing it started is left and that every port it held is free again."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
import pytest

from devstack import processes
from devstack.servers import free_port, free_ports, port_free

STARTED_WITHIN = 240.0  # seconds for a stack to come up on a busy 2-core CI machine (a bound, never an assertion)
STOPPED_WITHIN = 120.0  # seconds for everything to stop: the workers' grace (30 s here) plus the servers


@contextmanager
def run_directory() -> Iterator[Path]:
    """A run directory outside pytest's basetemp: as root, Postgres runs as the `pgserver` user and needs to traverse
    every parent, while each new pytest session on the machine resets /tmp/pytest-of-<user> to 0700."""
    path = Path(tempfile.mkdtemp(prefix="celerity-signals-"))
    try:
        yield path / "run"
    finally:
        shutil.rmtree(path, ignore_errors=True)


def isolated_env(rundir: Path) -> dict[str, str]:
    """A fresh stack of its own: no given servers or token, state in rundir, free ports."""
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL", "CELERITY_API_TOKEN"}}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return {
        **env,
        "CELERITY_RUN_DIR": str(rundir),
        "CELERITY_STOP_GRACE": "30",
        "CELERITY_READY_TIMEOUT": str(STARTED_WITHIN),
        "PORT": str(free_port()),
        "METRICS_PORT": str(free_ports(3)),
    }


@contextmanager
def command(argv: list[str], rundir: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """The command as the leader of its own process group; whatever a failed test leaves is killed by PID."""
    rundir.mkdir(parents=True, exist_ok=True)
    with (rundir / "command.log").open("wb") as log:
        proc = subprocess.Popen(
            argv,
            cwd=processes.REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        for leftover in [*leftovers(rundir), *(p for p in [_process(proc.pid)] if p)]:
            leftover.kill()
        proc.wait(timeout=30)


def output(rundir: Path) -> str:
    return (rundir / "command.log").read_text(errors="replace")


def log_tails(rundir: Path, lines: int = 15) -> str:
    """The last lines of every process log the command's stack wrote, to say why it did not come up."""
    tails = []
    for log in sorted(rundir.glob("**/logs/*.log")):
        text = log.read_text(errors="replace").splitlines()[-lines:]
        tails.append(f"--- {log.relative_to(rundir)}\n" + "\n".join(text))
    return "\n".join(tails)


def wait_for(ready: Callable[[], bool], proc: subprocess.Popen[bytes], rundir: Path, what: str) -> None:
    deadline = time.monotonic() + STARTED_WITHIN
    while not ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen (exit {proc.poll()}):\n{output(rundir)[-3000:]}\n{log_tails(rundir)}")
        time.sleep(0.25)


def stack_info(stackdir: Path, proc: subprocess.Popen[bytes], rundir: Path) -> dict[str, Any]:
    """Once the stack is up: what it recorded in stack.json (its URLs and every PID it started)."""
    wait_for((stackdir / "stack.json").exists, proc, rundir, f"a stack in {stackdir}")
    info: dict[str, Any] = json.loads((stackdir / "stack.json").read_text())
    return info


def stack_ports(info: dict[str, Any]) -> list[int]:
    urls = [info["api_url"], info["redis_url"], *info["worker_metrics"].values()]
    return [int(urllib.parse.urlsplit(url).port or 0) for url in urls]


def signal_twice(proc: subprocess.Popen[bytes], stackdir: Path, first: tuple[str, int], second: int) -> None:
    """The first signal to the command ("pid") or its group ("group"); the second to the group once the stop has
    begun (stack.json is removed first), so that it arrives while the workers drain."""
    target, signum = first
    if target == "group":
        os.killpg(proc.pid, signum)
    else:
        os.kill(proc.pid, signum)
    deadline = time.monotonic() + STOPPED_WITHIN
    while (stackdir / "stack.json").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if proc.poll() is None:
        os.killpg(proc.pid, second)


def assert_everything_stopped(
    proc: subprocess.Popen[bytes], rundir: Path, started: list[psutil.Process], ports: list[int]
) -> None:
    proc.wait(timeout=STOPPED_WITHIN)
    _gone, alive = psutil.wait_procs([*started, *leftovers(rundir)], timeout=STOPPED_WITHIN)
    pg_log = rundir / "pg" / "log"
    postgres = pg_log.read_text(errors="replace")[-1500:] if pg_log.exists() else ""
    still = [(p.pid, command_line(p)) for p in alive]
    assert alive == [], f"still running: {still}\n{output(rundir)[-3000:]}\npostgres log:\n{postgres}"
    busy = [port for port in ports if not port_free(port)]
    assert busy == [], f"ports still held: {busy}"
    assert "Traceback" not in output(rundir), output(rundir)[-3000:]


def started_processes(proc: subprocess.Popen[bytes], info: dict[str, Any], rundir: Path) -> list[psutil.Process]:
    """Everything the command started: its process tree, the PIDs its stack recorded (pg_ctl detaches Postgres from
    the tree) and anything else that carries the command's run directory."""
    recorded = [p for p in (_process(pid) for pid in info.get("pids", {}).values()) if p]
    tree = psutil.Process(proc.pid).children(recursive=True)
    assert {"redis", "postgres", "web"} <= set(info.get("pids", {})), info
    return [*tree, *recorded, *leftovers(rundir)]


def leftovers(rundir: Path) -> list[psutil.Process]:
    """Live processes that belong to the stack in rundir: its directory on their command line, or in their
    environment (every process the stack starts inherits CELERITY_RUN_DIR)."""
    found = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if p.pid == os.getpid() or p.status() == psutil.STATUS_ZOMBIE:
                continue
            if str(rundir) in " ".join(p.info["cmdline"] or []) or p.environ().get("CELERITY_RUN_DIR") == str(rundir):
                found.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def _process(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None


def command_line(p: psutil.Process) -> str:
    try:
        return " ".join(p.cmdline())[:200]
    except psutil.Error:
        return "?"
