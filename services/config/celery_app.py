"""The Celery application. Configuration lives in Django settings under the CELERY_ namespace."""

import os
from typing import Any

from celery import Celery, signals

from celerity.observability import multiproc
from config import heap, results

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
# Before anything imports prometheus_client: a worker's pool children write their samples to files (multiproc.py).
multiproc.configure_for_worker()

app = Celery("celerity")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.backend_cls = results.PublishingRedisBackend  # no result subscriptions for publishers (config/results.py)
app.autodiscover_tasks()
# Signal handlers: database connections reused across tasks (celerity/db/connections.py says why); task metrics
# everywhere tasks are published or run; the parent's metrics server and heartbeat.
import celerity.db.connections  # noqa: E402 - signal handlers, registered once the app is configured
import celerity.observability.tasksignals  # noqa: E402
import celerity.observability.worker  # noqa: E402,F401


@signals.worker_init.connect
def _freeze_heap_before_the_pool_forks(**_: Any) -> None:
    heap.freeze()  # the children inherit it frozen (config/heap.py says why)


@signals.worker_process_init.connect
def _freeze_child_heap(**_: Any) -> None:
    heap.freeze(collect=False)  # what the child added since; never a collection right after a fork


@signals.worker_ready.connect
def _freeze_parent_heap(**_: Any) -> None:
    heap.freeze()  # the worker's parent decodes every message: what it loaded since the fork
