"""RQ: plain functions, enqueued by reference (pickle, RQ's default serializer); results kept by RQ in Redis."""

from __future__ import annotations

from loadtests.peers import work


def chunk_square(start: int, stop: int) -> list[int]:
    return work.chunk(start, stop)


def item_square(index: int) -> int:
    return work.square(index)
