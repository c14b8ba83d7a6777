"""The result backend: Celery's Redis backend, minus the result subscription of a process that only publishes.

Why: for every task a process sends outside a worker, Celery's Redis backend subscribes that process to the task's
result channel (`on_task_call`), in case it waits on the result later. Celerity's publishers never wait on one (the
web's job starts and retries, the reconciler's re-drives: Postgres holds every outcome), so the subscription was a
Redis command per message for nothing, and a broker dependency ahead of the publish itself: with Redis down it
retried for 20 s and then raised `RuntimeError` ("the Celery application must be restarted"), so a job submitted
then was answered 500 after 20 s instead of being accepted at once (docs/reliability.md).

A process that does wait (`AsyncResult.get`) still subscribes, when it starts waiting (`add_pending_result`), and it
reads the stored result first, so nothing is missed. A worker never subscribes here anyway (Celery skips it where a
join would block).
"""

from __future__ import annotations

from typing import Any

from celery.backends.redis import RedisBackend


class PublishingRedisBackend(RedisBackend):  # type: ignore[misc]  # Celery is untyped
    """`result_backend`'s Redis URL, as Celery's own Redis backend would use it."""

    def __init__(self, *args: Any, url: str | None = None, **kwargs: Any) -> None:
        # Celery passes no URL to a backend named by class (`backend_cls`): the setting holds it.
        super().__init__(*args, url=url or kwargs["app"].conf.result_backend, **kwargs)

    def on_task_call(self, producer: Any, task_id: str) -> None:
        """Nothing: no subscription for a result this process does not wait on (the module says why)."""
