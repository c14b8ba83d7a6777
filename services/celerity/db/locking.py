"""Lock rows in one global order (ascending primary key) so parallel updaters can never deadlock each other.

The article's advice is to lower the isolation level; on Postgres, Django already runs at READ COMMITTED, so that
changes nothing. Deadlocks come from two transactions taking the same row locks in different orders: a plain
`UPDATE … WHERE fk = …` locks rows in whatever order the plan visits them, and per-row updates in the caller's order.
Taking every lock with one `SELECT … FOR UPDATE … ORDER BY id` statement gives every transaction the same order, and
a cycle cannot form.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from django.db import models, transaction

from celerity.observability.metrics import LOCK_ACQUIRED_TOTAL, LOCK_WAIT_SECONDS


def rows_lock_in_order(
    queryset: models.QuerySet[Any], *, ids: Iterable[int], lock: str, fields: tuple[str, ...] = ("id",)
) -> list[tuple[Any, ...]]:
    """Lock the rows with these ids, in id order, and return `fields` of each; must run inside a transaction.

    The wait for the locks is timed in the application (Postgres' `pg_locks.waitstart` can be NULL while a session
    waits) and observed as `celerity_lock_wait_seconds{lock=...}`.
    """
    if not transaction.get_connection(queryset.db).in_atomic_block:
        raise RuntimeError("rows_lock_in_order must run inside a transaction: the locks end with it")
    wanted = sorted(set(ids))
    started = time.perf_counter()
    # `of=("self",)`: lock only this model's rows, even when the queryset's filter joins other tables.
    rows = list(queryset.select_for_update(of=("self",)).filter(id__in=wanted).order_by("id").values_list(*fields))
    LOCK_WAIT_SECONDS.labels(lock=lock).observe(time.perf_counter() - started)
    LOCK_ACQUIRED_TOTAL.labels(lock=lock).inc()
    return rows


def update_in_id_order(queryset: models.QuerySet[Any], *, lock: str, **values: Any) -> int:
    """The article's pattern, deadlock-free: select the matching ids first (no locks), lock them in id order, then
    update by id list. `update_in_id_order(Model.objects.filter(fk=x), lock="model", something=v)` replaces
    `Model.objects.filter(fk=x).update(something=v)`. Run it inside `atomic_with_retry`; returns the rows updated."""
    ids = list(queryset.values_list("id", flat=True))
    # Locking through the same filter: a row changed meanwhile is re-checked by Postgres after the wait and skipped
    # when it no longer matches, as the plain UPDATE would have done.
    locked = [row[0] for row in rows_lock_in_order(queryset, ids=ids, lock=lock)]
    return queryset.model.objects.filter(id__in=locked).update(**values) if locked else 0
