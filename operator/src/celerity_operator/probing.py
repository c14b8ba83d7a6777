"""Measure a pool's load in one Redis round trip: a Lua script reads everything the policy needs at one instant.

The layout it reads is the contract in docs/conventions.md: kombu's queue lists and priority sub-queues, kombu's
`unacked` hash, and the worker heartbeats the services publish. The operator never imports Celery to read them, and
never writes to the broker.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript

from celerity_operator.policy import Load

PRIORITY_SEP = "\x06\x16"
# kombu's default steps are 3, 6 and 9 (0 is the plain list); a pool may configure others, and absent keys cost nothing.
PRIORITY_STEPS = tuple(range(1, 10))
UNACKED_KEY = "unacked"
WORKERS_KEY = "celerity:workers"
WORKER_KEY_PREFIX = "celerity:worker:"
HEARTBEAT_HORIZON_SECONDS = 600  # index members older than this are not even read (their keys expired long ago)

# KEYS: for each queue its list and its PRIORITY_STEPS sub-queues (ARGV[1] lists per queue), then `unacked`, then
# the heartbeat index. ARGV[2]: the oldest index score worth reading.
# The routing key is the last element of the unacked value `[message, exchange, routing_key]`: matching it at the
# end of the string (greedy `.*` finds the last comma from the end) spares decoding every message body inside
# Redis; cjson decodes only when that shortcut fails.
# Unacked entries are bounded by the fleet (replicas x concurrency x prefetch), not by the backlog.
# Returns JSON: {"waiting": [n per queue], "unacked": {routing key: n}, "heartbeats": [raw documents]}.
PROBE_SCRIPT = (
    """
local per_queue = tonumber(ARGV[1])
local nqueues = (#KEYS - 2) / per_queue
local waiting = {}
for i = 0, nqueues - 1 do
  local n = 0
  for j = 1, per_queue do n = n + redis.call('LLEN', KEYS[i * per_queue + j]) end
  waiting[i + 1] = n
end
local unacked = {}
for _, v in ipairs(redis.call('HVALS', KEYS[#KEYS - 1])) do
  local key = string.match(v, '^.*,%s*"([^"\\\\]*)"%s*%]%s*$')
  if not key then
    local ok, msg = pcall(cjson.decode, v)
    if ok and type(msg) == 'table' and type(msg[3]) == 'string' then key = msg[3] end
  end
  if key then unacked[key] = (unacked[key] or 0) + 1 end
end
local beats = {}
for _, name in ipairs(redis.call('ZRANGEBYSCORE', KEYS[#KEYS], ARGV[2], '+inf')) do
  local doc = redis.call('GET', '"""
    + WORKER_KEY_PREFIX
    + """' .. name)
  if doc then table.insert(beats, doc) end
end
return cjson.encode({waiting = waiting, unacked = unacked, heartbeats = beats})
"""
)


def probe_keys(queues: list[str]) -> list[str]:
    """The keys the script reads, declared up front (as Redis asks of scripts)."""
    keys = [key for q in queues for key in (q, *(f"{q}{PRIORITY_SEP}{p}" for p in PRIORITY_STEPS))]
    return [*keys, UNACKED_KEY, WORKERS_KEY]


@dataclass(frozen=True)
class Worker:
    hostname: str
    pod: str
    active: int  # tasks of the pool's queues running now
    reserved: int  # tasks of the pool's queues prefetched inside the worker
    state: str  # "running", or "stopping" once it got its shutdown signal

    @property
    def busy(self) -> bool:
        return self.active > 0 and self.state == "running"


@dataclass(frozen=True)
class Observation:
    waiting: dict[str, int]  # per queue, priority sub-queues included
    unacked: dict[str, int]  # per queue, from the broker's `unacked` hash
    workers: list[Worker] = field(default_factory=list)  # fresh heartbeats of workers serving these queues
    running: dict[str, int] = field(default_factory=dict)  # per queue, from the heartbeats
    held: dict[str, int] = field(default_factory=dict)  # per queue, active + reserved from the heartbeats

    def in_flight(self, queue: str) -> int:
        """Tasks a worker holds. Under acks-late `unacked` has them all; without it running tasks were acked
        already and only the heartbeats see them. The larger of the two never counts a task twice."""
        return max(self.unacked.get(queue, 0), self.held.get(queue, 0))

    def load(self) -> Load:
        return Load(
            waiting=sum(self.waiting.values()),
            reserved=sum(self.in_flight(q) for q in self.waiting),
            running=sum(self.running.values()),
            busy_pods=len({w.pod or w.hostname for w in self.workers if w.busy}),
        )


class ProbeError(RuntimeError):
    """Redis could not be read; the pool keeps its replicas."""


def parse(raw: str | bytes, queues: list[str], *, now: float | None = None) -> Observation:
    """Turn the script's answer into an observation. Heartbeats past their TTL, malformed ones and those of workers
    serving none of these queues are ignored (the reader half of the heartbeat convention)."""
    now = time.time() if now is None else now
    data: dict[str, Any] = json.loads(raw)
    counts = data.get("waiting") or []
    waiting = {q: int(counts[i]) if i < len(counts) else 0 for i, q in enumerate(queues)}
    unacked_by_key = _as_dict(data.get("unacked"))
    unacked = {q: int(unacked_by_key.get(q, 0)) for q in queues}
    workers: list[Worker] = []
    running, held = dict.fromkeys(queues, 0), dict.fromkeys(queues, 0)
    for doc_raw in data.get("heartbeats") or []:
        try:
            doc = json.loads(doc_raw)
            if now - float(doc["ts"]) > float(doc["ttl"]) or not set(doc.get("queues") or []) & set(queues):
                continue
            active = _by_queue(doc, "active", queues)
            reserved = _by_queue(doc, "reserved", queues)
            worker = Worker(
                str(doc["hostname"]),
                str(doc.get("pod") or ""),
                sum(active.values()),
                sum(reserved.values()),
                str(doc.get("state") or "running"),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
        workers.append(worker)
        for q in queues:
            running[q] += active.get(q, 0)
            held[q] += active.get(q, 0) + reserved.get(q, 0)
    return Observation(waiting=waiting, unacked=unacked, workers=workers, running=running, held=held)


def _by_queue(doc: Mapping[str, Any], what: str, queues: list[str]) -> dict[str, int]:
    """`active_by_queue`/`reserved_by_queue` for our queues; a worker of exactly one queue may omit them."""
    per_queue = doc.get(f"{what}_by_queue")
    if isinstance(per_queue, dict):
        return {q: int(per_queue.get(q, 0)) for q in queues}
    served = [q for q in doc.get("queues") or [] if q in queues]
    return {served[0]: int(doc.get(what, 0))} if len(served) == 1 == len(doc.get("queues") or []) else {}


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def script_for(client: aioredis.Redis) -> AsyncScript:
    """The probe registered on a client: EVALSHA, falling back to EVAL once when Redis does not know it yet."""
    return client.register_script(PROBE_SCRIPT)


async def probe(client: aioredis.Redis, queues: list[str], *, script: AsyncScript | None = None) -> Observation:
    script = script or script_for(client)
    cutoff = time.time() - HEARTBEAT_HORIZON_SECONDS
    try:
        raw = await script(keys=probe_keys(queues), args=[1 + len(PRIORITY_STEPS), cutoff], client=client)
    except (aioredis.RedisError, OSError) as exc:
        raise ProbeError(f"cannot read the broker: {exc}") from exc
    return parse(raw, queues)
