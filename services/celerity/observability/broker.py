"""Read-only views of the broker: reachability, backlog and unacknowledged messages (kombu's Redis layout, as
docs/conventions.md writes it down)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry

PRIORITY_SEP = "\x06\x16"
DEFAULT_PRIORITY_STEPS = (0, 3, 6, 9)  # kombu's; step 0 is the plain list
UNACKED_KEY = "unacked"


def client() -> redis.Redis:
    """For probes, scrapes and heartbeats: short timeouts and no retries (redis-py retries with backoff by default,
    which turns one refused connection into seconds). The next scrape or beat is the retry."""
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2, retry=Retry(NoBackoff(), 0)
    )


def broker_ping() -> bool:
    try:
        return bool(client().ping())
    except (redis.RedisError, OSError):
        return False


def priority_steps() -> tuple[int, ...]:
    """The steps kombu uses here: its default unless `broker_transport_options` configures others."""
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {}
    return tuple(options.get("priority_steps", DEFAULT_PRIORITY_STEPS))


def queue_keys(queue: str, steps: Sequence[int]) -> list[str]:
    """The lists holding a queue's waiting messages, as kombu's `_q_for_pri` names them."""
    return [queue if step == 0 else f"{queue}{PRIORITY_SEP}{step}" for step in steps]


def backlog(r: redis.Redis, queues: Sequence[str]) -> tuple[dict[str, int], dict[str, int]]:
    """(waiting, unacked) per queue in one round trip. Waiting sums the priority sub-queues (kombu's `_size`);
    unacked counts the `unacked` hash by routing key (reserved and, under acks_late, running tasks). The hash is
    bounded by the fleet (replicas x concurrency x prefetch), not by the backlog, so reading it is cheap."""
    steps = priority_steps()
    pipe = r.pipeline(transaction=False)
    for queue in queues:
        for key in queue_keys(queue, steps):
            pipe.llen(key)
    pipe.hvals(UNACKED_KEY)
    *sizes, unacked_raw = pipe.execute()
    width = len(steps)
    waiting = {q: int(sum(sizes[i * width : (i + 1) * width])) for i, q in enumerate(queues)}
    unacked = dict.fromkeys(queues, 0)
    for raw in unacked_raw:
        routed = routing_key(raw)
        if routed is not None and routed in unacked:
            unacked[routed] += 1
    return waiting, unacked


def routing_key(raw: bytes | str) -> str | None:
    """The routing key of an `unacked` value, JSON `[message, exchange, routing_key]`; None if it is not one."""
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    if isinstance(value, list) and len(value) == 3 and isinstance(value[2], str):
        return value[2]
    return None
