"""Celery task events, captured the same way for Celerity and for the baseline.

Chord completion is timed from the callback's `task-sent` to its `task-succeeded`. The callback is sent by the last
header task the moment it has stored its result and found the chord complete, so `task-sent` marks "the last header
task finished"; the header's own `task-succeeded` comes later (Celery sends it after the result and the callback),
so it cannot be the start. Both apps send `task-sent` events (`task_send_sent_event`) and their workers run with
`-E`; the timestamps are the processes' own clocks (one machine here). Each app's events travel on its own DB's
fanout channel, so a tap on one DB never sees the other app's events.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from celery import Celery


@dataclass
class TaskTimes:
    names: dict[str, str] = field(default_factory=dict)  # uuid -> task name (task-sent, task-received)
    args: dict[str, str] = field(default_factory=dict)  # uuid -> the arguments' repr (task-sent)
    sent: dict[str, float] = field(default_factory=dict)  # uuid -> publisher's timestamp
    started: dict[str, float] = field(default_factory=dict)  # uuid -> worker's timestamp
    succeeded: dict[str, float] = field(default_factory=dict)  # uuid -> worker's timestamp
    runtime: dict[str, float] = field(default_factory=dict)  # uuid -> seconds (Celery's own, result store included)


@dataclass(frozen=True)
class ChordTiming:
    header_tasks: int  # header successes seen
    callback_sent: float  # unix time: the last header task found the chord complete
    callback_done: float  # unix time
    header_runtime_mean: float  # seconds per header task, as the worker timed it

    @property
    def completion_seconds(self) -> float:
        return self.callback_done - self.callback_sent


class EventTap:
    def __init__(self, broker_url: str) -> None:
        self.app = Celery("tap", broker=broker_url, set_as_current=False)
        self.times = TaskTimes()
        self.lock = threading.Lock()
        self._receiver: Any = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._capture, name="event-tap", daemon=True)

    def __enter__(self) -> EventTap:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the event receiver did not connect within 10 s")
        time.sleep(0.2)  # the SUBSCRIBE is issued when consuming starts
        return self

    def __exit__(self, *_: object) -> None:
        if self._receiver is not None:
            self._receiver.should_stop = True
        self._thread.join(5)

    def _capture(self) -> None:
        with self.app.connection_for_read() as connection:
            self._receiver = self.app.events.Receiver(
                connection,
                handlers={
                    "task-sent": self._sent,
                    "task-received": self._received,
                    "task-started": self._started,
                    "task-succeeded": self._succeeded,
                },
            )
            self._ready.set()
            self._receiver.capture(limit=None, timeout=None, wakeup=False)

    def _sent(self, event: dict[str, Any]) -> None:
        with self.lock:
            self.times.names[event["uuid"]] = event["name"]
            self.times.sent[event["uuid"]] = float(event["timestamp"])
            self.times.args[event["uuid"]] = str(event.get("args", ""))

    def _received(self, event: dict[str, Any]) -> None:
        with self.lock:
            self.times.names[event["uuid"]] = event["name"]

    def _started(self, event: dict[str, Any]) -> None:
        with self.lock:
            self.times.started[event["uuid"]] = float(event["timestamp"])

    def sent_with(self, name: str, argument: str) -> str | None:
        """The id of a task named `name` sent since reset() with `argument` among its arguments."""
        with self.lock:
            found = (u for u, n in self.times.names.items() if n == name and argument in self.times.args.get(u, ""))
            return next(found, None)

    def runtime(self, task_id: str) -> float | None:
        """The task's run time as its worker timed it, once it succeeded."""
        with self.lock:
            return self.times.runtime.get(task_id)

    def started_at(self, task_id: str) -> float | None:
        """When the task with this id started (its worker's clock), if that event arrived since reset()."""
        with self.lock:
            return self.times.started.get(task_id)

    def _succeeded(self, event: dict[str, Any]) -> None:
        with self.lock:
            self.times.succeeded[event["uuid"]] = float(event["timestamp"])
            self.times.runtime[event["uuid"]] = float(event.get("runtime") or 0.0)

    def reset(self) -> None:
        with self.lock:
            self.times = TaskTimes()

    def _done(self, name: str) -> list[str]:
        return [u for u in self.times.succeeded if self.times.names.get(u) == name]

    def finished(self, name: str, count: int, timeout: float = 10.0) -> float | None:
        """When the last of `count` tasks named `name` succeeded, since reset(); waits for the events (bounded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                done = self._done(name)
                if len(done) >= count:
                    return max(self.times.succeeded[u] for u in done)
            time.sleep(0.02)
        return None

    def chord(self, header: str, callback: str, width: int, timeout: float = 10.0) -> ChordTiming | None:
        """The timing of the one chord run since reset(); waits until its events arrived (bounded)."""
        if self.finished(callback, 1, timeout) is None:
            return None
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                headers = self._done(header)
                callbacks = [u for u in self._done(callback) if u in self.times.sent]
                runtimes = [self.times.runtime[u] for u in headers]
                if (len(headers) >= width and callbacks) or time.monotonic() > deadline:
                    break
            time.sleep(0.02)
        if not callbacks:
            return None
        u = callbacks[-1]
        mean = sum(runtimes) / len(runtimes) if runtimes else 0.0
        return ChordTiming(len(headers), self.times.sent[u], self.times.succeeded[u], mean)
