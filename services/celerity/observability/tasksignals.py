"""Task metrics from Celery's signals, in whichever process the event happens (publisher, parent or pool child).

Queue wait means **publish → start**: `before_task_publish` stamps the publish time into a message header and the
child observes the difference when it starts the task. Tasks with an ETA/countdown are left out (their wait is
chosen, not suffered).
"""

from __future__ import annotations

import time
from typing import Any

from celery import signals

from celerity.observability import metrics as m

PUBLISHED_HEADER = "celerity_published_at"
_started: dict[str, float] = {}


def _queue(request: Any) -> str:
    info = getattr(request, "delivery_info", None) or {}
    return str(info.get("routing_key") or info.get("queue") or "unknown")


@signals.before_task_publish.connect
def _on_publish(
    sender: str | None = None, headers: dict[str, Any] | None = None, routing_key: str = "", **_: Any
) -> None:
    if headers is not None:
        headers.setdefault(PUBLISHED_HEADER, time.time())
    m.CELERY_TASK_SENT.labels(name=sender or "unknown", queue_name=routing_key or "unknown").inc()


@signals.task_received.connect
def _on_received(request: Any = None, **_: Any) -> None:
    m.CELERY_TASK_RECEIVED.labels(name=request.name, queue_name=_queue(request)).inc()


@signals.task_prerun.connect
def _on_prerun(task_id: str = "", task: Any = None, **_: Any) -> None:
    now = time.time()
    _started[task_id] = time.perf_counter()
    request, queue = task.request, _queue(task.request)
    m.CELERY_TASK_STARTED.labels(name=task.name, queue_name=queue).inc()
    m.WORKER_TASKS_ACTIVE.labels(queue=queue).inc()
    published = getattr(request, PUBLISHED_HEADER, None) or (request.headers or {}).get(PUBLISHED_HEADER)
    if published and not request.eta:
        m.TASK_QUEUE_WAIT_SECONDS.labels(task=task.name, queue=queue).observe(max(now - float(published), 0.0))


@signals.task_postrun.connect
def _on_postrun(task_id: str = "", task: Any = None, state: str | None = None, **_: Any) -> None:
    queue = _queue(task.request)
    m.WORKER_TASKS_ACTIVE.labels(queue=queue).dec()
    started = _started.pop(task_id, None)
    if started is not None:
        runtime = time.perf_counter() - started
        m.TASK_RUNTIME_SECONDS.labels(task=task.name, queue=queue).observe(runtime)
        m.CELERY_TASK_RUNTIME.labels(name=task.name, queue_name=queue).observe(runtime)
    outcome = {"SUCCESS": "succeeded", "FAILURE": "failed", "RETRY": "retried"}.get(state or "")
    if outcome:
        m.TASKS_TOTAL.labels(task=task.name, queue=queue, outcome=outcome).inc()


@signals.task_success.connect
def _on_success(sender: Any = None, **_: Any) -> None:
    m.CELERY_TASK_SUCCEEDED.labels(name=sender.name, queue_name=_queue(sender.request)).inc()


@signals.task_failure.connect
def _on_failure(sender: Any = None, exception: BaseException | None = None, **_: Any) -> None:
    name = type(exception).__name__ if exception else "unknown"
    m.CELERY_TASK_FAILED.labels(name=sender.name, queue_name=_queue(sender.request), exception=name).inc()


@signals.task_retry.connect
def _on_retry(sender: Any = None, request: Any = None, **_: Any) -> None:
    m.CELERY_TASK_RETRIED.labels(name=sender.name, queue_name=_queue(request)).inc()


@signals.task_rejected.connect
def _on_rejected(message: Any = None, **_: Any) -> None:
    headers = getattr(message, "headers", {}) or {}
    queue = (getattr(message, "delivery_info", {}) or {}).get("routing_key", "unknown")
    name = headers.get("task", "unknown")
    m.CELERY_TASK_REJECTED.labels(name=name, queue_name=queue).inc()
    m.TASKS_TOTAL.labels(task=name, queue=queue, outcome="rejected").inc()


@signals.task_revoked.connect
def _on_revoked(request: Any = None, **_: Any) -> None:
    queue = _queue(request)
    m.CELERY_TASK_REVOKED.labels(name=request.name, queue_name=queue).inc()
    m.TASKS_TOTAL.labels(task=request.name, queue=queue, outcome="revoked").inc()
