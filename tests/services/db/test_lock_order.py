"""Many concurrent updaters on overlapping rows: naive order deadlocks, the ordered-lock helper never does."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

import pytest
from django.db import OperationalError, connection, connections, transaction
from django.db.models import F

from celerity.db.locking import rows_lock_in_order
from celerity.db.retrying import atomic_with_retry, retry_reason
from celerity.jobs.models import Item, Job, Workload
from celerity.observability.metrics import DB_RETRIES_TOTAL

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

THREADS, ROUNDS, ROWS_PER_UPDATE = 4, 3, 6


def _rows() -> list[int]:
    job = Job.objects.create(workload=Workload.MAP, items=ROWS_PER_UPDATE, chunk_size=ROWS_PER_UPDATE)
    Item.objects.bulk_create(Item(job=job, index=i) for i in range(ROWS_PER_UPDATE))
    return list(Item.objects.filter(job=job).values_list("id", flat=True))


def _run_updaters(update: Callable[[list[int]], None], ids: list[int]) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        try:
            start.wait()
            for _ in range(ROUNDS):
                order = ids[:]
                rng.shuffle(order)  # every updater touches the same rows in its own order
                try:
                    update(order)
                except OperationalError as exc:
                    errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def _fast_deadlock_detection() -> None:
    """Postgres waits deadlock_timeout (1 s) before it looks for a cycle; shorten it where we may (superuser)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET deadlock_timeout = '50ms'")
    except Exception:  # noqa: S110 - a non-superuser keeps the 1 s default; the tests only get slower
        pass


def _naive(order: list[int]) -> None:
    _fast_deadlock_detection()
    with transaction.atomic():
        for row_id in order:
            Item.objects.filter(id=row_id).update(writes=F("writes") + 1)
            time.sleep(0.002)


def _ordered(order: list[int]) -> None:
    _fast_deadlock_detection()
    with transaction.atomic():
        rows_lock_in_order(Item.objects.all(), ids=order, lock="test_rows")
        for row_id in order:
            Item.objects.filter(id=row_id).update(writes=F("writes") + 1)
            time.sleep(0.002)


def test_naive_update_order_deadlocks() -> None:
    ids = _rows()
    errors = _run_updaters(_naive, ids)
    deadlocks = [e for e in errors if retry_reason(e) == "deadlock"]
    assert deadlocks, "expected Postgres to abort some naive updaters with deadlock_detected"


def test_locking_in_id_order_never_deadlocks() -> None:
    ids = _rows()
    errors = _run_updaters(_ordered, ids)
    assert errors == []
    assert set(Item.objects.filter(id__in=ids).values_list("writes", flat=True)) == {THREADS * ROUNDS}


def test_deadlocks_are_retried_and_counted() -> None:
    first, second = _rows()[:2]
    counter = DB_RETRIES_TOTAL.labels(lock="test_retry", reason="deadlock")
    before = counter._value.get()
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    @atomic_with_retry(lock="test_retry", attempts=5, base_delay=0.05)
    def cross_update(a: int, b: int) -> None:
        Item.objects.filter(id=a).update(writes=F("writes") + 1)
        time.sleep(0.3)  # both hold their first row: the second updates close the cycle
        Item.objects.filter(id=b).update(writes=F("writes") + 1)

    def worker(a: int, b: int) -> None:
        try:
            _fast_deadlock_detection()
            start.wait()
            cross_update(a, b)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=pair) for pair in ((first, second), (second, first))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [], "the deadlocked transaction must succeed on its retry"
    assert counter._value.get() == before + 1
    assert set(Item.objects.filter(id__in=[first, second]).values_list("writes", flat=True)) == {2}
