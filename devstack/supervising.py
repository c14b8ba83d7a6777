"""What the kubelet does for a pod's container, for the platform's local processes (`make run`, the fault suite).

A process that exits while the stack is up is started again (restartPolicy: Always); one whose liveness URL fails
`failures` times in a row has its process group SIGKILLed and is started again. The second one matters: kombu can
trip over a lost broker connection (docs/reliability.md), after which Celery logs "Unrecoverable error" and the worker
stops consuming long before it exits. Restarts of the same process back off exponentially (CrashLoopBackOff), and the
backoff is forgotten once a start has lived `settle` seconds.

Threads: one supervising thread starts processes; the main thread calls `stop()` before it stops the ProcessGroup.
Every start and every record happens under one lock with the `stopping` flag checked first, so once `stop()` returns
no process is started again and nothing is recorded after the stack's files are gone.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from devstack.processes import Child, ProcessGroup


@dataclass(frozen=True)
class Launch:
    """One platform process: started in list order once the servers are up, stopped together before them."""

    name: str
    argv: list[str]
    env: dict[str, str]
    ready_url: str = ""  # answers 200 once the process can take work ("": nothing to wait for)
    live_url: str = ""  # answers 200 while the process is not stuck ("": only its exit is watched)
    log: Path | None = None


class Stopping(RuntimeError):
    """Raised by `add` once `stop()` began: the stack is going down, nothing new starts."""


@dataclass(frozen=True)
class Restart:
    name: str
    reason: str  # "exited" or "liveness"
    exit_code: int | None  # negative: killed by that signal
    delay: float  # the backoff waited before this start
    pid: int = 0  # the new process


@dataclass(frozen=True)
class Probing:
    every: float = 5.0  # seconds between liveness probes (and exit checks)
    failures: int = 3  # failed probes in a row before the process is killed
    startup_grace: float = 60.0  # no probe this long after a start: Django and Celery take a while to come up
    backoff: float = 1.0  # the first restart's delay, doubled for each restart in a row
    max_backoff: float = 30.0
    settle: float = 120.0  # a start that lived this long resets the backoff


def backoff_delay(restarts_in_a_row: int, *, first: float, cap: float) -> float:
    """The wait before the n-th restart in a row (n >= 1): first, 2 first, 4 first, ... up to cap."""
    return float(min(cap, first * 2 ** max(restarts_in_a_row - 1, 0)))


@dataclass
class _Watched:
    launch: Launch
    make: Callable[[], Launch]
    group: ProcessGroup  # the one that holds its process, so that the group's stop() stops the current one
    child: Child
    started: float
    failures: int = 0
    in_a_row: int = 0
    due: float | None = None  # dead, to be started at this monotonic time
    pending: Restart | None = None


@dataclass
class Supervisor:
    group: ProcessGroup
    probing: Probing = field(default_factory=Probing)
    on_restart: Callable[[Restart], None] = lambda _restart: None  # called under the lock, never after stop()
    say: Callable[[str], None] = lambda line: print(line, flush=True)  # a line on the terminal for each restart
    restarts: list[Restart] = field(default_factory=list)
    _watched: dict[str, _Watched] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def add(self, make: Callable[[], Launch] | Launch, *, group: ProcessGroup | None = None) -> Child:
        """Start a process in `group` (default: the supervisor's) and watch it; `make` is called again for every
        restart (e.g. to pick a fresh port)."""
        factory = make if callable(make) else (lambda: make)
        group = group if group is not None else self.group
        with self._lock:
            if self._stopping.is_set():
                raise Stopping("the stack is stopping: nothing is started any more")
            launch = factory()
            child = group.start(launch.name, launch.argv, launch.env, log=launch.log)
            self._watched[launch.name] = _Watched(launch, factory, group, child, time.monotonic())
            return child

    def release(self, name: str) -> ProcessGroup:
        """Stop watching a process; the group returned holds it alone: the caller stops it and it stays down."""
        with self._lock:
            watched = self._watched.pop(name)
            if watched.group is not self.group:
                return watched.group
            self.group.children.remove(watched.child)
            return ProcessGroup([watched.child])

    def child(self, name: str) -> Child:
        with self._lock:
            return self._watched[name].child

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="supervisor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """No restart after this returns; a restart under way has finished (its process is in the group)."""
        with self._lock:
            self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=60)

    def _run(self) -> None:
        while not self._stopping.wait(self._next_wait()):
            try:
                self._round()
            except Exception as exc:  # the supervisor outlives any one bad round, as the kubelet does
                self.say(f">> supervisor: a round failed: {exc!r}")

    def _next_wait(self) -> float:
        now, every = time.monotonic(), self.probing.every
        with self._lock:
            dues = [w.due - now for w in self._watched.values() if w.due is not None]
        return max(min([every, *dues]), 0.01)

    def _round(self) -> None:
        with self._lock:
            watched = list(self._watched.values())
        for w in watched:
            if self._stopping.is_set():
                return  # stop() is waiting for this thread: probe nothing more
            self._check(w)

    def _check(self, w: _Watched) -> None:
        if self._watched.get(w.launch.name) is not w:
            return  # released since the round began (scaled down, paused): its exit is meant
        now = time.monotonic()
        if w.due is None and w.child.process.poll() is not None:
            self._schedule(w, "exited", w.child.process.returncode, now)
        elif w.due is None and w.launch.live_url and now - w.started >= self.probing.startup_grace:
            w.failures = 0 if http_ok(w.launch.live_url) else w.failures + 1  # no lock: a probe may take seconds
            if w.failures >= self.probing.failures:
                with self._lock:
                    if self._stopping.is_set() or self._watched.get(w.launch.name) is not w:
                        return
                    _kill(w.child)
                if w.child.process.poll() is None:
                    return  # unkillable for now (D state): the next round kills it again
                self._schedule(w, "liveness", w.child.process.returncode, now)
        if w.due is not None and time.monotonic() >= w.due:
            self._restart(w)

    def _schedule(self, w: _Watched, reason: str, exit_code: int | None, now: float) -> None:
        w.in_a_row = 1 if now - w.started >= self.probing.settle else w.in_a_row + 1
        delay = backoff_delay(w.in_a_row, first=self.probing.backoff, cap=self.probing.max_backoff)
        w.due, w.failures, w.pending = now + delay, 0, Restart(w.launch.name, reason, exit_code, delay)
        self.say(f">> {w.launch.name} {_described(reason, exit_code)}: restarting in {delay:g} s")

    def _restart(self, w: _Watched) -> None:
        with self._lock:
            if self._stopping.is_set() or self._watched.get(w.launch.name) is not w or w.pending is None:
                return
            launch = w.make()
            old = w.child
            w.child = w.group.start(launch.name, launch.argv, launch.env, log=launch.log)
            w.group.children.remove(old)
            w.launch, w.started, w.due = launch, time.monotonic(), None
            restart = replace(w.pending, pid=w.child.process.pid)
            w.pending = None
            self.restarts.append(restart)
            self.on_restart(restart)
        self.say(f">> {launch.name} restarted (pid {restart.pid})")


def _described(reason: str, exit_code: int | None) -> str:
    if reason == "liveness":
        return "failed its liveness probe (process group killed)"
    if exit_code is not None and exit_code < 0:
        return f"exited (killed by {signal.Signals(-exit_code).name})"
    return f"exited (code {exit_code})"


def _kill(child: Child) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(child.process.pid, signal.SIGKILL)  # its own session: the pid is the group's id
    with contextlib.suppress(subprocess.TimeoutExpired):
        child.process.wait(30)


def http_ok(url: str, *, timeout: float = 3.0) -> bool:
    """Whether url answers 200 within timeout, as an httpGet probe counts it: anything else is a failure."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback URLs we built
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError):
        return False
