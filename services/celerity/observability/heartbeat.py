"""Worker heartbeats in Redis, the contract with the operator (docs/conventions.md, "Worker heartbeats").

Writer: the worker's parent process. Readers: the operator (its own reader, by the JSON contract) and the metrics
collector here.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

import redis

INDEX_KEY = "celerity:workers"
KEY_PREFIX = "celerity:worker:"
VERSION = 1


def worker_key(nodename: str) -> str:
    return f"{KEY_PREFIX}{nodename}"


def heartbeat_document(
    *,
    nodename: str,
    pool: str,
    queues: list[str],
    concurrency: int,
    active_queues: Iterable[str],
    reserved_queues: Iterable[str],
    state: str,
    interval: float,
    now: float | None = None,
) -> dict[str, Any]:
    active, reserved = Counter(active_queues), Counter(reserved_queues)
    return {
        "v": VERSION,
        "hostname": nodename,
        "pod": os.environ.get("POD_NAME") or socket.gethostname(),
        "pool": pool,
        "queues": queues,
        "concurrency": concurrency,
        "pid": os.getpid(),
        "active": sum(active.values()),
        "reserved": sum(reserved.values()),
        "active_by_queue": dict(active),
        "reserved_by_queue": dict(reserved),
        "state": state,
        "ts": time.time() if now is None else now,
        "ttl": ttl_for(interval),
    }


def ttl_for(interval: float) -> int:
    return max(round(3 * interval), 1)


def publish(client: redis.Redis, document: dict[str, Any]) -> None:
    nodename = document["hostname"]
    pipe = client.pipeline(transaction=False)
    pipe.set(worker_key(nodename), json.dumps(document), ex=document["ttl"])
    pipe.zadd(INDEX_KEY, {nodename: document["ts"]})
    pipe.zremrangebyscore(INDEX_KEY, "-inf", document["ts"] - 10 * document["ttl"])
    pipe.execute()


def remove(client: redis.Redis, nodename: str) -> None:
    pipe = client.pipeline(transaction=False)
    pipe.delete(worker_key(nodename))
    pipe.zrem(INDEX_KEY, nodename)
    pipe.execute()


def parse(raw: bytes | str | None) -> dict[str, Any] | None:
    """The reader's side of the contract, pure: a version-1 heartbeat document, or None for anything else."""
    if raw is None:
        return None
    try:
        document = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(document, dict) or document.get("v") != VERSION:
        return None
    try:
        float(document["ts"]), float(document["ttl"]), str(document["hostname"])
    except (KeyError, TypeError, ValueError):
        return None
    return document


def is_fresh(document: dict[str, Any], *, now: float) -> bool:
    """Fresh while younger than its own TTL. The key's Redis TTL says the same; this also holds for a copy."""
    return now - float(document["ts"]) <= float(document["ttl"])


def read_fresh(client: redis.Redis, *, now: float | None = None) -> list[dict[str, Any]]:
    """Every fresh heartbeat, in two round trips (the index, then the documents): no SCAN."""
    now = time.time() if now is None else now
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in client.zrange(INDEX_KEY, 0, -1)]
    if not names:
        return []
    documents = (parse(raw) for raw in client.mget([worker_key(n) for n in names]))
    return [d for d in documents if d is not None and is_fresh(d, now=now)]
