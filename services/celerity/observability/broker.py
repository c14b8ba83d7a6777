"""Read-only views of the broker: reachability and queue depth (kombu's Redis layout, docs/conventions.md)."""

import redis
from django.conf import settings

PRIORITY_SEP = "\x06\x16"
PRIORITY_STEPS = (3, 6, 9)  # kombu's default steps after 0; step 0 is the plain list


def client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def broker_ping() -> bool:
    try:
        return bool(client().ping())
    except redis.RedisError:
        return False


def queue_depths(queues: list[str]) -> dict[str, int]:
    """Waiting messages per queue, priority sub-queues included, in one round trip."""
    pipe = client().pipeline(transaction=False)
    for queue in queues:
        pipe.llen(queue)
        for step in PRIORITY_STEPS:
            pipe.llen(f"{queue}{PRIORITY_SEP}{step}")
    sizes = pipe.execute()
    per_queue = 1 + len(PRIORITY_STEPS)
    return {queue: sum(sizes[i * per_queue : (i + 1) * per_queue]) for i, queue in enumerate(queues)}
