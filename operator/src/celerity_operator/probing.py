"""Measure a pool's load in one Redis round trip: a Lua script reads everything the policy needs at one instant.

The layout it reads is the contract in docs/conventions.md: kombu's queue lists and priority sub-queues, kombu's
`unacked` hash, and the worker heartbeats the services publish. The operator never imports Celery to read them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis

from celerity_operator.policy import Load

PRIORITY_SEP = "\x06\x16"
PRIORITY_STEPS = tuple(range(1, 10))  # kombu uses 3, 6 and 9 by default; absent keys cost nothing

# KEYS: none (the script reads keys named by the layout). ARGV[1]: JSON list of queues; ARGV[2]: the separator.
# Returns JSON: {"waiting": {q: n}, "unacked": {q: n}, "heartbeats": [raw documents]}.
PROBE_SCRIPT = """
local queues = cjson.decode(ARGV[1])
local sep = ARGV[2]
local wanted = {}
local waiting = {}
local unacked = {}
for _, q in ipairs(queues) do
  wanted[q] = true
  local n = redis.call('LLEN', q)
  for p = 1, 9 do n = n + redis.call('LLEN', q .. sep .. p) end
  waiting[q] = n
  unacked[q] = 0
end
local raw = redis.call('HVALS', 'unacked')
for _, v in ipairs(raw) do
  local ok, msg = pcall(cjson.decode, v)
  if ok and type(msg) == 'table' and wanted[msg[3]] then unacked[msg[3]] = unacked[msg[3]] + 1 end
end
local beats = {}
local names = redis.call('ZRANGE', 'celerity:workers', 0, -1)
for _, name in ipairs(names) do
  local doc = redis.call('GET', 'celerity:worker:' .. name)
  if doc then table.insert(beats, doc) end
end
return cjson.encode({waiting = waiting, unacked = unacked, heartbeats = beats})
"""


@dataclass(frozen=True)
class Worker:
    hostname: str
    pod: str
    active: int
    reserved: int
    state: str


@dataclass(frozen=True)
class Observation:
    waiting: dict[str, int]
    unacked: dict[str, int]
    workers: list[Worker] = field(default_factory=list)

    def load(self) -> Load:
        return Load(
            waiting=sum(self.waiting.values()),
            reserved=sum(self.unacked.values()),
            running=sum(w.active for w in self.workers),
            busy_pods=len({w.pod for w in self.workers if w.active}),
        )


class ProbeError(RuntimeError):
    """Redis could not be read; the pool keeps its replicas."""


def parse(raw: str | bytes, queues: list[str], *, now: float | None = None) -> Observation:
    """Turn the script's answer into an observation; heartbeats of other queues or past their TTL are ignored."""
    now = time.time() if now is None else now
    data: dict[str, Any] = json.loads(raw)
    waiting = {q: int(_as_dict(data.get("waiting")).get(q, 0)) for q in queues}
    unacked = {q: int(_as_dict(data.get("unacked")).get(q, 0)) for q in queues}
    workers = []
    for doc_raw in data.get("heartbeats") or []:
        try:
            doc = json.loads(doc_raw)
            fresh = now - float(doc["ts"]) <= float(doc["ttl"])
            serves = bool(set(doc.get("queues", [])) & set(queues))
        except (ValueError, KeyError, TypeError):
            continue
        if fresh and serves:
            workers.append(Worker(str(doc["hostname"]), str(doc.get("pod", "")), int(doc.get("active", 0)),
                                  int(doc.get("reserved", 0)), str(doc.get("state", "running"))))  # fmt: skip
    return Observation(waiting=waiting, unacked=unacked, workers=workers)


def _as_dict(value: Any) -> dict[str, Any]:
    # cjson encodes an empty Lua table as `{}` and Redis may hand back a list for it: both mean "nothing".
    return value if isinstance(value, dict) else {}


async def probe(client: aioredis.Redis, queues: list[str]) -> Observation:
    try:
        raw = await client.eval(PROBE_SCRIPT, 0, json.dumps(queues), PRIORITY_SEP)
    except (aioredis.RedisError, OSError) as exc:
        raise ProbeError(f"cannot read the broker: {exc}") from exc
    return parse(raw, queues)
