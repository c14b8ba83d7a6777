"""`make run` (python -m devstack run): one foreground process that brings the platform up, is found by other
commands, and stops everything on one Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests

from devstack import processes
from devstack.servers import free_port
from tests.devstack import signalled

pytestmark = pytest.mark.slow


def _isolated_env(rundir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL", "CELERITY_API_TOKEN"}}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return {**env, "CELERITY_RUN_DIR": str(rundir), "CELERITY_STOP_GRACE": "30"}


@pytest.fixture(scope="module")
def module_rundir() -> Iterator[Path]:
    with signalled.run_directory() as rundir:
        yield rundir


@pytest.fixture(scope="module")
def running(module_rundir: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path, int]]:
    rundir = module_rundir
    rundir.mkdir()
    port = free_port()
    argv = [sys.executable, "-m", "devstack", "run", "--quiet", "--port", str(port), "--metrics-port", str(free_port())]
    proc = subprocess.Popen(
        argv, cwd=processes.REPO_ROOT, env=_isolated_env(rundir), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 120
    while not (rundir / "stack.json").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            output = proc.stdout.read().decode() if proc.stdout else ""
            pytest.fail(f"make run did not come up:\n{output}")
        time.sleep(0.25)
    yield proc, rundir, port
    if proc.poll() is None:  # a test failed before the Ctrl-C test: stop it the same way, then make sure
        tree = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for child in psutil.wait_procs(tree, timeout=10)[1]:
            child.kill()
    if proc.stdout:
        proc.stdout.close()


def test_the_api_is_ready_and_the_token_is_stored(running: tuple[subprocess.Popen[bytes], Path, int]) -> None:
    _, rundir, port = running
    token_file = rundir / "api-token"
    assert token_file.stat().st_mode & 0o077 == 0, "the token file is readable by others"
    assert requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200
    info = json.loads((rundir / "stack.json").read_text())
    assert info["token"] == token_file.read_text().strip()
    unauthorized = requests.get(f"http://127.0.0.1:{port}/api/jobs", timeout=5)
    authorized = requests.get(
        f"http://127.0.0.1:{port}/api/jobs", timeout=5, headers={"Authorization": f"Bearer {info['token']}"}
    )
    assert (unauthorized.status_code, authorized.status_code) == (401, 200)


def test_other_commands_find_the_stack_with_no_setup(running: tuple[subprocess.Popen[bytes], Path, int]) -> None:
    _, rundir, _ = running
    env = _isolated_env(rundir)
    info = json.loads((rundir / "stack.json").read_text())
    shell = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", "from django.conf import settings; print(settings.REDIS_URL)"],
        cwd=processes.SERVICES_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert shell.stdout.strip().splitlines()[-1] == info["redis_url"]
    ping = subprocess.run(
        [str(processes.BIN_DIR / "celery"), "-A", "config.celery_app", "inspect", "ping", "--timeout", "5"],
        cwd=processes.SERVICES_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ping.returncode == 0, ping.stdout + ping.stderr
    assert "default@" in ping.stdout
    assert "bulk@" in ping.stdout


def test_the_celerity_command_finds_the_stack_with_no_setup(
    running: tuple[subprocess.Popen[bytes], Path, int], tmp_path: Path
) -> None:
    """From any directory below the one holding the run directory, as from a checkout's subdirectory: no URL, no
    token, no profile (the run directory is linked as `.run`, the name `make run` gives it)."""
    _, rundir, port = running
    checkout = tmp_path / "checkout"
    (checkout / "services").mkdir(parents=True)
    (checkout / ".run").symlink_to(rundir)
    env = {k: v for k, v in _isolated_env(rundir).items() if not k.startswith("CELERITY_")}
    env |= {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / ".config")}
    celerity = str(processes.BIN_DIR / "celerity")
    submitted = subprocess.run(
        [celerity, "submit", "chunked", "--count", "100", "--wait", "--json"],
        cwd=checkout / "services",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert submitted.returncode == 0, submitted.stderr
    job = json.loads(submitted.stdout)
    assert (job["status"], job["result"]) == ("succeeded", {"sum": 328350, "count": 100})
    found = subprocess.run(
        [celerity, "config"], cwd=checkout, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert f"http://127.0.0.1:{port}" in found.stdout
    assert "the local stack" in found.stdout


def test_a_second_run_on_the_same_port_fails_clearly(running: tuple[subprocess.Popen[bytes], Path, int]) -> None:
    _, rundir, port = running
    second = subprocess.run(
        [sys.executable, "-m", "devstack", "run", "--quiet", "--port", str(port), "--rundir", str(rundir / "second")],
        cwd=processes.REPO_ROOT,
        env=_isolated_env(rundir / "second"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 1
    assert f"port {port} is in use" in second.stderr
    assert "Traceback" not in second.stderr + second.stdout


def test_one_ctrl_c_stops_everything(running: tuple[subprocess.Popen[bytes], Path, int]) -> None:
    proc, rundir, _ = running
    children = psutil.Process(proc.pid).children(recursive=True)
    # The servers and the platform run in their own sessions, so the terminal's Ctrl-C reaches only the supervisor.
    servers = [p for p in psutil.process_iter(["cmdline"]) if str(rundir) in " ".join(p.info["cmdline"] or [])]
    assert len(children) >= 3
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=90) == 0
    _gone, alive = psutil.wait_procs([*children, *servers], timeout=30)
    assert alive == [], f"still running after Ctrl-C: {[p.pid for p in alive]}"
    assert not (rundir / "stack.env").exists()
