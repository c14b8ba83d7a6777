"""Many concurrent updaters on overlapping rows (threads, each with its own Postgres connection): the naive order
deadlocks, the ordered-lock helpers never do, and the retry wrapper turns deadlocks into counted retries."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.db import OperationalError, connection, connections, transaction
from django.db.models import F

from celerity.db.locking import rows_lock_in_order, update_in_id_order
from celerity.db.retrying import atomic_with_retry, retry_reason
from celerity.jobs.models import Item, Job, Workload
from celerity.observability.metrics import DB_RETRIES_EXHAUSTED_TOTAL, DB_RETRIES_TOTAL, LOCK_WAIT_SECONDS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

THREADS, ROWS = 8, 8
TIME_BOUND = 20.0  # seconds: every scenario stops by then, whatever happens


@dataclass
class Outcome:
    committed: int = 0
    deadlocks: int = 0
    other_errors: list[BaseException] = field(default_factory=list)


def _rows() -> list[int]:
    job = Job.objects.create(workload=Workload.MAP, items=ROWS, chunk_size=ROWS)
    Item.objects.bulk_create(Item(job=job, index=i) for i in range(ROWS))
    return list(Item.objects.filter(job=job).values_list("id", flat=True))


def _fast_deadlock_detection() -> None:
    """Postgres waits deadlock_timeout (1 s) before it looks for a cycle; a session may lower it for itself
    (a superuser-only setting: the test cluster's user is its owner)."""
    with connection.cursor() as cursor:
        cursor.execute("SET deadlock_timeout = '20ms'")


def _run(update: Callable[[list[int]], None], ids: list[int], rounds: int, stop_after_deadlocks: int = 0) -> Outcome:
    """THREADS updaters, `rounds` transactions each, every transaction touching every row in its own random order."""
    outcome, lock = Outcome(), threading.Lock()
    start, deadline = threading.Barrier(THREADS), time.monotonic() + TIME_BOUND

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        try:
            _fast_deadlock_detection()
            start.wait()
            for _ in range(rounds):
                if time.monotonic() > deadline or (stop_after_deadlocks and outcome.deadlocks >= stop_after_deadlocks):
                    return
                order = rng.sample(ids, len(ids))
                try:
                    update(order)
                except OperationalError as exc:
                    with lock:
                        if retry_reason(exc) == "deadlock":
                            outcome.deadlocks += 1
                        else:
                            outcome.other_errors.append(exc)
                else:
                    with lock:
                        outcome.committed += 1
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIME_BOUND + 10)
    assert not any(t.is_alive() for t in threads), "an updater hung"
    return outcome


def _naive_updates(order: list[int]) -> None:
    """Per-row updates in the caller's order: the article's deadlock."""
    for row_id in order:
        Item.objects.filter(id=row_id).update(writes=F("writes") + 1)
        time.sleep(0.001)


def _naive(order: list[int]) -> None:
    with transaction.atomic():
        _naive_updates(order)


def _ordered(order: list[int]) -> None:
    """The same per-row updates in the same caller's order, after locking every row in id order."""
    with transaction.atomic():
        rows_lock_in_order(Item.objects.all(), ids=order, lock="test_rows")
        for row_id in order:
            Item.objects.filter(id=row_id).update(writes=F("writes") + 1)
            time.sleep(0.001)


def _writes(ids: list[int]) -> set[int]:
    return set(Item.objects.filter(id__in=ids).values_list("writes", flat=True))


def test_naive_update_order_deadlocks() -> None:
    outcome = _run(_naive, _rows(), rounds=50, stop_after_deadlocks=3)
    print(f"naive: {outcome.deadlocks} deadlocks, {outcome.committed} commits")
    assert outcome.deadlocks > 0, "expected Postgres to abort naive updaters with deadlock_detected"
    assert outcome.other_errors == []


def test_locking_in_id_order_never_deadlocks() -> None:
    ids, waits = _rows(), LOCK_WAIT_SECONDS.labels(lock="test_rows")
    before = waits._sum.get()
    outcome = _run(_ordered, ids, rounds=6)
    assert (outcome.deadlocks, outcome.other_errors, outcome.committed) == (0, [], THREADS * 6)
    assert _writes(ids) == {THREADS * 6}
    assert waits._sum.get() > before, "the waits for the locks were timed"


def test_the_articles_select_then_update_by_ids_never_deadlocks() -> None:
    """`update_in_id_order(filter)` in place of `filter(...).update()`: every transaction updates its own overlapping
    subset of the rows and holds the locks a while; no deadlock, so not a single retry."""
    ids = _rows()
    job_id = Item.objects.get(id=ids[0]).job_id
    expected: Counter[int] = Counter()
    counting = threading.Lock()

    def update(order: list[int]) -> None:
        subset = order[: ROWS - 2]
        with transaction.atomic():
            rows = Item.objects.filter(job_id=job_id, id__in=subset)
            assert update_in_id_order(rows, lock="test_article", writes=F("writes") + 1) == len(subset)
            time.sleep(0.003)
        with counting:
            expected.update(subset)

    outcome = _run(update, ids, rounds=6)
    assert (outcome.deadlocks, outcome.other_errors, outcome.committed) == (0, [], THREADS * 6)
    assert dict(Item.objects.filter(id__in=ids).values_list("id", "writes")) == dict(expected)


def test_deadlocks_are_retried_with_backoff_and_counted() -> None:
    """The naive order again, wrapped in the retry helper: every transaction commits, each deadlock is one retry."""
    ids = _rows()
    retried = DB_RETRIES_TOTAL.labels(lock="test_retry", reason="deadlock")
    exhausted = DB_RETRIES_EXHAUSTED_TOTAL.labels(lock="test_retry", reason="deadlock")
    before, exhausted_before = retried._value.get(), exhausted._value.get()
    # Eight threads in opposite orders on a loaded machine: some transaction may lose many times in a row; the cap and
    # the attempts are sized so that it still lands (what is asserted is that each deadlock became a retry).
    update = atomic_with_retry(lock="test_retry", attempts=60, base_delay=0.005, max_delay=1.0)(_naive_updates)
    outcome = _run(update, ids, rounds=4)
    retries = retried._value.get() - before
    print(f"retry helper: {retries:.0f} deadlocks retried, {outcome.committed} commits")
    assert (outcome.deadlocks, outcome.other_errors, outcome.committed) == (0, [], THREADS * 4)
    assert retries > 0, "the naive order deadlocked, and each deadlock became a retry"
    assert exhausted._value.get() == exhausted_before
    assert _writes(ids) == {THREADS * 4}, "every retried transaction landed exactly once"


def test_a_retry_gives_up_after_the_last_attempt_and_says_so() -> None:
    from psycopg import errors as pg_errors

    exhausted = DB_RETRIES_EXHAUSTED_TOTAL.labels(lock="test_give_up", reason="serialization")
    before, calls = exhausted._value.get(), []

    @atomic_with_retry(lock="test_give_up", attempts=3, base_delay=0.001)
    def always_conflicts() -> None:
        calls.append(1)
        raise OperationalError("could not serialize access") from pg_errors.SerializationFailure()

    with pytest.raises(OperationalError):
        always_conflicts()
    assert len(calls) == 3
    assert exhausted._value.get() == before + 1


def test_the_lock_helper_refuses_to_run_outside_a_transaction() -> None:
    with pytest.raises(RuntimeError, match="inside a transaction"):
        rows_lock_in_order(Item.objects.all(), ids=[1], lock="test_rows")
