"""Tasks that exist only for the observability tests; a test worker imports them with `-I` (see workers.py).

Each records its effect in Redis so that a test can tell how many times it ran and whether its effect landed once.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import redis
from celery import shared_task
from celery.exceptions import Reject, SoftTimeLimitExceeded
from django.conf import settings


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


@shared_task(name="selftest.record")
def record(key: str, member: str, seconds: float = 0.0) -> str:
    """Counts its runs, works for `seconds`, then adds `member` to the set `key`: an idempotent, visible effect."""
    _redis().hincrby(f"{key}:runs", member, 1)
    time.sleep(seconds)
    _redis().sadd(key, member)
    return member


@shared_task(name="selftest.fail")
def fail() -> None:
    raise ValueError("selftest failure")


@shared_task(name="selftest.retry_once", bind=True, default_retry_delay=0)
def retry_once(self: Any, key: str) -> str:
    if _redis().incr(key) == 1:
        raise self.retry()
    return "done"


@shared_task(name="selftest.reject")
def reject() -> None:
    raise Reject("selftest reject", requeue=False)


@shared_task(name="selftest.overrun", time_limit=1.5, soft_time_limit=0.5)
def overrun() -> None:
    """Ignores its soft time limit, so the parent kills it at the hard one."""
    try:
        time.sleep(30)
    except SoftTimeLimitExceeded:
        time.sleep(30)


@shared_task(name="selftest.crash", max_retries=2, default_retry_delay=0)
def crash(key: str) -> None:
    """Kills its own pool process, as an out-of-memory kill would: the message that always kills its worker."""
    _redis().incr(key)
    os.kill(os.getpid(), signal.SIGKILL)
