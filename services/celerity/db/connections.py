"""Database connections in worker processes, reused across tasks the way a web process reuses them across requests.

Celery's Django fix-up closes every connection before and after each task unless `CELERY_DB_REUSE_MAX` is set, so
each task paid a new Postgres connection (a backend forked, authenticated) before its first query: for a chunk
whose bookkeeping is one statement, that was most of its cost. With reuse on, this module applies Django's own rule
at every task boundary instead, as a request boundary would: a connection past `CONN_MAX_AGE`, or unusable after an
error (a restarted Postgres), is closed, and the next query opens a fresh one.
"""

from __future__ import annotations

from typing import Any

from celery import signals
from django.db import close_old_connections


@signals.task_prerun.connect
def _before_task(**_: Any) -> None:
    close_old_connections()


@signals.task_postrun.connect
def _after_task(**_: Any) -> None:
    close_old_connections()
