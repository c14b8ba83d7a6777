"""Huey with its Redis storage (pickle, Huey's default serializer; results stored in Redis)."""

from __future__ import annotations

import os

from huey import RedisHuey

from loadtests.peers import work

huey = RedisHuey("bench", url=os.environ["PEER_REDIS_URL"])  # set by the bench for its workers and for itself


@huey.task()  # type: ignore[untyped-decorator]  # huey's decorator is untyped
def chunk_square(start: int, stop: int) -> list[int]:
    return work.chunk(start, stop)


@huey.task()  # type: ignore[untyped-decorator]  # huey's decorator is untyped
def item_square(index: int) -> int:
    return work.square(index)
