"""The broker's memory for one large job (issue #17's "before"), on Celerity and on bare Celery, two ways:

- **while it runs**: Redis' `used_memory` sampled every `EVERY` seconds during a normal run; the peak above what it
  held before (publishing and consuming race, so this depends on their speeds);
- **its whole footprint**: the `bulk` pool told to stop consuming (Celery's `cancel_consumer` remote control), the job
  submitted and every message of it in the queue, `used_memory` read; then the pool consumes again and the job must
  finish right. This is what a busy or scaled-down pool leaves in Redis: the job's full size.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import redis
from celery import Celery

from loadtests.benchmarks.sides import queue_keys

EVERY = 0.01  # seconds between two samples


def used(client: redis.Redis) -> int:
    info: dict[str, Any] = client.info("memory")
    return int(info["used_memory"])


class Peak:
    """The highest `used_memory` above the first reading while the block runs, sampled in a thread."""

    def __init__(self, client: redis.Redis) -> None:
        self.client, self.before, self.peak = client, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="memory-peak", daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, used(self.client))
            time.sleep(EVERY)

    def __enter__(self) -> Peak:
        self.before = self.peak = used(self.client)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.peak = max(self.peak, used(self.client))

    @property
    def grown(self) -> int:
        return self.peak - self.before


def waiting(client: redis.Redis, queue: str = "bulk") -> int:
    pipe = client.pipeline(transaction=False)
    for key in queue_keys(queue):
        pipe.llen(key)
    return int(sum(pipe.execute()))


@contextmanager
def paused(broker_url: str, worker: str, queue: str = "bulk") -> Iterator[None]:
    """The worker named `worker` (`<name>@<host>`) consumes nothing from `queue` inside the block."""
    control = Celery("bench-control", broker=broker_url, set_as_current=False).control
    node = f"{worker}@{socket.gethostname()}"
    replies = control.cancel_consumer(queue, destination=[node], reply=True, timeout=10)
    if not replies:
        raise RuntimeError(f"{node} did not answer cancel_consumer")
    try:
        yield
    finally:
        control.add_consumer(queue, destination=[node], reply=True, timeout=10)


def footprint(client: redis.Redis, messages: int, submit: Callable[[], Any], timeout: float = 120.0) -> tuple[int, Any]:
    """(bytes the broker grew by once `messages` wait in `bulk`, what `submit` returned); call it paused."""
    before = used(client)
    handle = submit()
    deadline = time.monotonic() + timeout
    while waiting(client) < messages:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{waiting(client)} of {messages} messages published within {timeout:.0f}s")
        time.sleep(0.05)
    return used(client) - before, handle
