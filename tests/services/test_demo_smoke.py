"""The article's canvas examples run unchanged against live workers."""

import pytest
from celery import chain, chord, group
from celery.exceptions import TimeoutError as CeleryTimeoutError

from celerity.demo.tasks import add, xsum

pytestmark = [pytest.mark.workers, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("drained")]


def test_group_returns_every_sum(celery_workers: dict[str, int]) -> None:
    assert group(add.s(i, i) for i in range(10))().get(timeout=30) == [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]


def test_chain_and_chord_give_the_articles_results(celery_workers: dict[str, int]) -> None:
    assert chain(add.s(2, 2), add.s(4), add.s(8))().get(timeout=30) == 16
    assert chord((add.s(i, i) for i in range(10)), xsum.s())().get(timeout=30) == 90


def test_map_and_starmap_run_in_one_task(celery_workers: dict[str, int]) -> None:
    assert xsum.map([[1, 2], [3, 4]]).delay().get(timeout=30) == [3, 7]
    assert add.starmap([(2, 2), (4, 4)]).delay().get(timeout=30) == [4, 8]


def test_chunks_of_ten_run_as_a_hundred_tasks(celery_workers: dict[str, int]) -> None:
    parts = add.chunks(zip(range(1000), range(1000), strict=True), 10)
    tasks = parts.group().tasks
    assert len(tasks) == 100
    result = parts.delay()
    results = result.get(timeout=60)
    assert len(result.children) == 100, "one task per chunk of ten"
    assert len({child.id for child in result.children}) == 100
    assert len(results) == 100
    assert [x for chunk in results for x in chunk] == [2 * i for i in range(1000)]


def test_a_chord_error_reaches_the_caller_instead_of_hanging(celery_workers: dict[str, int]) -> None:
    result = chord([add.s(1, 1), add.s(1, "one")], xsum.s())()
    # The header's TypeError reaches the caller (as itself or wrapped in a ChordError), never a timeout.
    with pytest.raises(Exception, match=r"unsupported operand|TypeError") as caught:
        result.get(timeout=30)
    assert not isinstance(caught.value, CeleryTimeoutError)
