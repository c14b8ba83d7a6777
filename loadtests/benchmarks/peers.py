"""`make bench PLAN=peers`: the same chunked work and one-item jobs on other task queues, beside Celerity and bare
Celery, on this machine and its one Redis (each peer in a DB of its own) and Postgres (procrastinate in a database
of its own), each with 2 worker processes, every result checked.

Each peer is a `Peer` (what to import, its worker command lines, its guarantees as its documentation and code give
them) and a driver in the bench process that publishes and collects the results the way that library's users do.
Times are what a client sees: from the first publish to every result in hand (a peer without blocking results is
polled every `POLL` seconds). The peers' packages come from `requirements/peers.txt`: without them the plan stops
before it starts anything, with one line that says so.
"""

from __future__ import annotations

import importlib
import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from devstack import processes
from loadtests.benchmarks import workers

REQUIREMENTS = "requirements/peers.txt"
POLL = 0.005  # seconds between two looks at results a peer cannot wait for
FOLLOW = 0.05  # seconds between two GETs of Celerity's chunked job (each costs the web CPU the workers share)
TIMEOUT = 300.0


@dataclass(frozen=True)
class Guarantees:
    durable: str
    delivery: str
    per_item: str
    serializer: str


@dataclass(frozen=True)
class Peer:
    name: str
    label: str
    module: str  # the app its workers import (loadtests/peers/)
    packages: tuple[str, ...]  # what must import
    guarantees: Guarantees
    db: int  # its Redis DB
    workers: Callable[[str], list[list[str]]]  # its Redis URL -> one command line per worker process


def _bin(name: str) -> str:
    return str(processes.BIN_DIR / name)


REDIS_DURABLE = "as durable as Redis (AOF in production; this bench's Redis keeps nothing)"
PEERS = [
    Peer(
        "dramatiq", "Dramatiq 2.2 (Redis broker, Redis results)", "loadtests.peers.dramatiq_app", ("dramatiq",),
        Guarantees(REDIS_DURABLE, "at least once (acked after the actor; a dead worker's messages are requeued "
                   "by the broker's heartbeat maintenance)", "no", "JSON"),
        12,
        lambda url: [[_bin("dramatiq"), "loadtests.peers.dramatiq_app", "--processes", "2", "--threads", "1",
                      "--queues", "bulk"]],
    ),
    Peer(
        "rq", "RQ 2.12 (a fork per job)", "loadtests.peers.rq_app", ("rq",),
        Guarantees(REDIS_DURABLE, "at most once (a job whose worker dies is marked failed, never re-run "
                   "unless `Retry` is set)", "no", "pickle"),
        13,
        lambda url: [[_bin("rq"), "worker", "--url", url, "--quiet", "bulk"] for _ in range(2)],
    ),
    Peer(
        "rq-simple", "RQ 2.12 (`SimpleWorker`: no fork)", "loadtests.peers.rq_app", ("rq",),
        Guarantees(REDIS_DURABLE, "at most once (as RQ)", "no", "pickle"),
        14,
        lambda url: [[_bin("rq"), "worker", "--url", url, "--quiet", "--worker-class", "rq.worker.SimpleWorker",
                      "bulk"] for _ in range(2)],
    ),
    Peer(
        "huey", "Huey 3.5 (Redis, 2 worker processes)", "loadtests.peers.huey_app", ("huey",),
        Guarantees(REDIS_DURABLE, "at most once (a task is popped from the list before it runs)", "no", "pickle"),
        15,
        lambda url: [[_bin("huey_consumer"), "loadtests.peers.huey_app.huey", "-w", "2", "-k", "process", "-q"]],
    ),
    Peer(
        "procrastinate", "procrastinate 3.10 (Postgres)", "loadtests.peers.procrastinate_app", ("procrastinate",),
        Guarantees("durable (jobs are Postgres rows)", "at most once by default (a job whose worker dies stays "
                   "`doing` until it is retried as a stalled job, which the user schedules)", "no (no results: "
                   "here each task SETs its result in Redis, counted in its figures)", "JSON"),
        15,
        lambda url: [[_bin("procrastinate"), "--app", "loadtests.peers.procrastinate_app.app", "worker",
                      "--queues", "bulk", "--concurrency", "1"] for _ in range(2)],
    ),
]  # fmt: skip  # one peer a block
SELF = {
    "celerity": Guarantees(
        "durable (Postgres; Redis AOF in the chart)",
        "at least once, every item recorded exactly once",
        "yes: every item's outcome in Postgres",
        "JSON",
    ),
    "plain": Guarantees(REDIS_DURABLE, "at least once (late acks, reject on worker lost)", "no", "JSON"),
}


class PeerMissing(RuntimeError):
    pass


def missing(peers: list[Peer]) -> list[str]:
    """The peers' packages that do not import here."""
    gone = []
    for package in dict.fromkeys(p for peer in peers for p in peer.packages):
        try:
            importlib.import_module(package)
        except ImportError:
            gone.append(package)
    return gone


def require(peers: list[Peer]) -> None:
    if gone := missing(peers):
        raise PeerMissing(
            f"the peers plan needs {', '.join(gone)}: `make bench PLAN=peers` installs {REQUIREMENTS} "
            f"(or `.venv/bin/pip install -r {REQUIREMENTS}`)"
        )


@dataclass
class Env:
    """Where a peer's workers and its driver find their servers."""

    redis_url: str
    database_url: str  # procrastinate's own database

    def of(self, peer: Peer) -> dict[str, str]:
        return {"PEER_REDIS_URL": workers.db_url(self.redis_url, peer.db), "PEER_DATABASE_URL": self.database_url}


def chunk_bounds(items: int, size: int) -> list[tuple[int, int]]:
    return [(a, min(a + size, items)) for a in range(0, items, size)]


class Driver:
    """Publishes a peer's work and waits for its results, in the bench process (the app module imported with the
    peer's environment set)."""

    def __init__(self, peer: Peer, env: dict[str, str]) -> None:
        os.environ.update(env)  # the peers' apps read their servers at import, as their users' apps do
        self.peer, self.name, self.module = peer, peer.name, importlib.import_module(peer.module)
        self.redis_url = env["PEER_REDIS_URL"]

    def chunked(self, items: int, size: int) -> list[Any]:
        """Every chunk's [count, sum], in order."""
        raise NotImplementedError

    def one(self, index: int) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        pass


class DramatiqDriver(Driver):
    def chunked(self, items: int, size: int) -> list[Any]:
        import dramatiq

        g = dramatiq.group(self.module.chunk_square.message(a, b) for a, b in chunk_bounds(items, size)).run()
        return list(g.get_results(block=True, timeout=int(TIMEOUT * 1000)))

    def one(self, index: int) -> Any:
        return self.module.item_square.send(index).get_result(block=True, timeout=int(TIMEOUT * 1000))


class RqDriver(Driver):
    def __init__(self, peer: Peer, env: dict[str, str]) -> None:
        super().__init__(peer, env)
        import redis
        from rq import Queue

        self.queue = Queue("bulk", connection=redis.Redis.from_url(self.redis_url))

    def _value(self, job: Any) -> Any:
        result = job.latest_result(timeout=int(TIMEOUT))
        if result is None or result.type != result.Type.SUCCESSFUL:
            raise RuntimeError(f"rq job {job.id}: {getattr(result, 'exc_string', 'no result')}")
        return result.return_value

    def chunked(self, items: int, size: int) -> list[Any]:
        from rq import Queue

        data = [Queue.prepare_data(self.module.chunk_square, (a, b)) for a, b in chunk_bounds(items, size)]
        return [self._value(job) for job in self.queue.enqueue_many(data)]

    def one(self, index: int) -> Any:
        return self._value(self.queue.enqueue(self.module.item_square, index))


def _polled(ready: Callable[[], list[Any] | None]) -> list[Any]:
    deadline = time.monotonic() + TIMEOUT
    while (values := ready()) is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no results within {TIMEOUT:.0f}s")
        time.sleep(POLL)
    return values


class HueyDriver(Driver):
    def chunked(self, items: int, size: int) -> list[Any]:
        pending = [self.module.chunk_square(a, b) for a, b in chunk_bounds(items, size)]
        values: list[Any] = [None] * len(pending)

        def ready() -> list[Any] | None:
            for k, result in enumerate(pending):
                if values[k] is None:
                    values[k] = result.get()
            return values if all(v is not None for v in values) else None

        return _polled(ready)

    def one(self, index: int) -> Any:
        result = self.module.item_square(index)
        return _polled(lambda: None if (v := result.get()) is None else [v])[0]


class ProcrastinateDriver(Driver):
    def __init__(self, peer: Peer, env: dict[str, str]) -> None:
        super().__init__(peer, env)
        self.module.app.open()
        self.results = self.module.results

    def _collect(self, keys: list[str]) -> list[Any]:
        def ready() -> list[Any] | None:
            raw = self.results.mget(keys)
            return None if any(r is None for r in raw) else [json.loads(r) for r in raw]

        values = _polled(ready)
        self.results.delete(*keys)
        return values

    def chunked(self, items: int, size: int) -> list[Any]:
        run = uuid.uuid4().hex
        bounds = chunk_bounds(items, size)
        keys = [f"proc:{run}:{k}" for k in range(len(bounds))]
        self.module.chunk_square.batch_defer(
            *({"start": a, "stop": b, "key": key} for (a, b), key in zip(bounds, keys, strict=True))
        )
        return self._collect(keys)

    def one(self, index: int) -> Any:
        key = f"proc:one:{uuid.uuid4().hex}"
        self.module.item_square.defer(index=index, key=key)
        return self._collect([key])[0]

    def close(self) -> None:
        self.module.app.close()


DRIVERS: dict[str, type[Driver]] = {
    "dramatiq": DramatiqDriver,
    "rq": RqDriver,
    "rq-simple": RqDriver,
    "huey": HueyDriver,
    "procrastinate": ProcrastinateDriver,
}
