"""`make run` restarts a platform process that exits or stops answering its liveness URL, backing off when it keeps
crashing, and never once the stack is stopping (devstack/supervising.py)."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

from devstack import processes, stack
from devstack.servers import free_port, free_ports
from devstack.supervising import Launch, Probing, Restart, Supervisor, backoff_delay, http_ok

FAST = Probing(every=0.05, failures=2, startup_grace=0.0, backoff=0.2, max_backoff=0.8, settle=600.0)


def _launch(name: str, code: str, **kw: Any) -> Launch:
    return Launch(name, [sys.executable, "-c", code], dict(os.environ), **kw)


def _until(check: Callable[[], object], *, within: float, what: str) -> None:
    """A generous deadline that only stops a hung test; it is never what a test asserts."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within:.0f} s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def supervised() -> Iterator[Callable[..., Supervisor]]:
    made: list[Supervisor] = []

    def make(launch: Launch, probing: Probing = FAST, **kw: Any) -> Supervisor:
        supervisor = Supervisor(processes.ProcessGroup(), probing, say=lambda _line: None, **kw)
        made.append(supervisor)
        supervisor.add(launch)
        supervisor.start()
        return supervisor

    yield make
    for supervisor in made:
        supervisor.stop()
        supervisor.group.stop(grace=5)


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_the_backoff_doubles_up_to_its_cap() -> None:
    assert [backoff_delay(n, first=1.0, cap=30.0) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


def test_a_process_that_keeps_crashing_is_restarted_with_a_growing_delay(
    supervised: Callable[..., Supervisor],
) -> None:
    supervisor = supervised(_launch("crasher", "raise SystemExit(3)"))
    _until(lambda: len(supervisor.restarts) >= 5, within=60, what="five restarts")
    supervisor.stop()
    first = supervisor.restarts[:5]
    assert [(r.name, r.reason, r.exit_code) for r in first] == [("crasher", "exited", 3)] * 5
    assert [r.delay for r in first] == [0.2, 0.4, 0.8, 0.8, 0.8]
    assert len({r.pid for r in first}) == 5, "every restart is a new process"


def test_a_process_failing_its_liveness_url_is_killed_and_restarted(supervised: Callable[..., Supervisor]) -> None:
    dead_url = f"http://127.0.0.1:{free_port()}/healthz"  # nothing listens there: every probe fails
    supervisor = supervised(_launch("hung", "import time; time.sleep(120)", live_url=dead_url))
    hung = supervisor.child("hung").process.pid
    _until(lambda: supervisor.restarts, within=60, what="a liveness restart")
    restart = supervisor.restarts[0]
    assert (restart.name, restart.reason, restart.exit_code) == ("hung", "liveness", -signal.SIGKILL)
    assert _gone(hung)
    assert supervisor.child("hung").process.pid == restart.pid != hung


def test_stopping_during_a_restart_leaves_nothing_behind(supervised: Callable[..., Supervisor]) -> None:
    """The restart holds the lock while it records the new process; stop() waits for it, and nothing starts after."""
    inside, release = threading.Event(), threading.Event()

    def recording(_restart: Restart) -> None:
        inside.set()
        release.wait(30)

    supervisor = supervised(_launch("sleeper", "import time; time.sleep(120)"), on_restart=recording)
    first = supervisor.child("sleeper").process
    os.killpg(first.pid, signal.SIGKILL)
    assert inside.wait(60), "no restart began"
    stopper = threading.Thread(target=supervisor.stop)
    stopper.start()
    release.set()
    stopper.join(60)
    assert not stopper.is_alive()
    started = [first.pid, *(r.pid for r in supervisor.restarts)]
    assert len(started) == 2, "exactly one restart, none after stop()"
    assert [child.process.pid for child in supervisor.group.children] == started[1:]
    supervisor.group.stop(grace=5)
    assert all(_gone(pid) for pid in started)


@pytest.mark.slow
def test_a_killed_worker_of_a_local_stack_is_restarted_and_takes_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("REDIS_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CELERITY_STOP_GRACE", "30")
    with stack.local_stack(
        tmp_path, port=free_port(), metrics_port=free_ports(3), persistent=False, progress=False, autoscale=False
    ) as info:
        killed = {name: info.pids[name] for name in ("worker-default", "worker-bulk")}
        for pid in killed.values():
            os.killpg(pid, signal.SIGKILL)  # the whole worker, parent and pool, as a lost node

        def recorded() -> dict[str, int]:
            return dict(json.loads((tmp_path / "stack.json").read_text())["pids"])

        def healthy() -> bool:
            urls = [url.removesuffix("/metrics") + "/healthz" for url in info.worker_metrics.values()]
            return all(http_ok(url) for url in urls)

        _until(lambda: all(recorded()[n] != pid for n, pid in killed.items()), within=120, what="restarted workers")
        _until(healthy, within=120, what="the restarted workers to answer /healthz")
        assert all(_gone(pid) for pid in killed.values())
        headers = {"Authorization": f"Bearer {info.token}"}
        payload = {"workload": "chunked", "items": 40, "chunk_size": 4, "item_cost_ms": 5}
        job = requests.post(f"{info.api_url}/api/jobs", headers=headers, json=payload, timeout=10).json()
        body: dict[str, Any] = {}

        def finished() -> bool:
            body.update(requests.get(job["url"], headers=headers, timeout=10).json())
            return body["status"] in ("succeeded", "failed")

        _until(finished, within=120, what="the job to finish")
        assert body["status"] == "succeeded"
        assert body["result"] == {"sum": sum(i * i for i in range(40)), "count": 40}
        restarted = recorded()
    assert not (tmp_path / "stack.json").exists()
    assert all(_gone(pid) for pid in restarted.values())
