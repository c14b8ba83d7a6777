"""The article's canvas examples, against live workers (the foundation check for the shared fixtures)."""

import pytest
from celery import chain, chord, group

from celerity.demo.tasks import add, xsum

pytestmark = [pytest.mark.workers, pytest.mark.django_db(transaction=True)]


def test_group_returns_every_sum(celery_workers: dict[str, int]) -> None:
    assert group(add.s(i, i) for i in range(10))().get(timeout=30) == [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]


def test_chain_and_chord_give_the_articles_results(celery_workers: dict[str, int]) -> None:
    assert chain(add.s(2, 2), add.s(4), add.s(8))().get(timeout=30) == 16
    assert chord((add.s(i, i) for i in range(10)), xsum.s())().get(timeout=30) == 90
