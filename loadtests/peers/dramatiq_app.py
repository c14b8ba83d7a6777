"""Dramatiq with its Redis broker and its Redis results backend (results are what the bench checks); JSON."""

from __future__ import annotations

import os

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.results import Results
from dramatiq.results.backends.redis import RedisBackend

from loadtests.peers import work

URL = os.environ["PEER_REDIS_URL"]  # set by the bench for its workers and for itself
broker = RedisBroker(url=URL)
broker.add_middleware(Results(backend=RedisBackend(url=URL), store_results=True))
dramatiq.set_broker(broker)


@dramatiq.actor(queue_name="bulk", max_retries=0)  # type: ignore[untyped-decorator]  # dramatiq's decorator is untyped
def chunk_square(start: int, stop: int) -> list[int]:
    return work.chunk(start, stop)


@dramatiq.actor(queue_name="bulk", max_retries=0)  # type: ignore[untyped-decorator]  # dramatiq's decorator is untyped
def item_square(index: int) -> int:
    return work.square(index)
