"""The work every peer runs, the same as bare Celery's (`loadtests/baseline/app.py`): an item squares its index; a
chunk squares its items in order and returns [count, sum]."""

from __future__ import annotations


def square(index: int) -> int:
    return index * index


def chunk(start: int, stop: int) -> list[int]:
    total = 0
    for index in range(start, stop):
        total += square(index)
    return [stop - start, total]
