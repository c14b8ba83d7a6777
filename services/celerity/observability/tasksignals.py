"""Task metrics from Celery's signals, recorded in whichever process the event happens (docs/metrics.md).

Publishers (web, workers) count `sent` and stamp the publish time; the worker parent counts `received`, `revoked` and
the failures it decides itself (time limits, lost workers); pool children count the rest. Every process writes to
the same multiprocess directory, so the worker parent's /metrics sums them all and nothing is counted twice: each
outcome has exactly one signal in exactly one process.

Queue wait means **publish → start**: `before_task_publish` stamps `celerity_published_at` into the message headers
and the child observes the difference when the task starts. Tasks with an ETA/countdown (retries included) are left
out: their wait was chosen, not suffered.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from celery import signals
from celery.exceptions import Reject, TimeLimitExceeded

from celerity.observability import metrics as m

PUBLISHED_HEADER = "celerity_published_at"
_started: dict[str, float] = {}  # task id -> perf_counter at start, in the child running it
_timed_out: deque[str] = deque(maxlen=1024)  # recent hard time limits, in the parent
# Celery sends some parent-side failures (hard time limit) without the request; a worker consuming one queue knows
# it anyway. Set in the parent at worker_ready (celerity.observability.worker).
PARENT_QUEUE = "unknown"


def _queue(request: Any) -> str:
    info = getattr(request, "delivery_info", None) or {}
    return str(info.get("routing_key") or info.get("queue") or PARENT_QUEUE)


def _outcome(name: str, queue: str, outcome: str) -> None:
    m.TASKS_TOTAL.labels(task=name, queue=queue, outcome=outcome).inc()


@signals.before_task_publish.connect
def _on_publish(
    sender: str | None = None, headers: dict[str, Any] | None = None, routing_key: str = "", **_: Any
) -> None:
    if headers is not None:
        # Overwrite, never setdefault: a retry copies its request's headers, and its wait starts now.
        headers[PUBLISHED_HEADER] = time.time()
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
        wait = max(now - float(published), 0.0)
        m.TASK_QUEUE_WAIT_SECONDS.labels(task=task.name, queue=queue).observe(wait)
        m.CELERY_TASK_QUEUE_WAIT_TIME.labels(name=task.name, queue_name=queue).observe(wait)


@signals.task_postrun.connect
def _on_postrun(task_id: str = "", task: Any = None, state: str | None = None, retval: Any = None, **_: Any) -> None:
    queue = _queue(task.request)
    m.WORKER_TASKS_ACTIVE.labels(queue=queue).dec()
    started = _started.pop(task_id, None)
    if started is not None:
        runtime = time.perf_counter() - started
        m.TASK_RUNTIME_SECONDS.labels(task=task.name, queue=queue).observe(runtime)
        if state == "SUCCESS":  # celery-exporter observes successful runs only
            m.CELERY_TASK_RUNTIME.labels(name=task.name, queue_name=queue).observe(runtime)
    if state == "REJECTED":
        # Every Reject, requeued or not (celery-exporter counts each task-rejected event). The final outcome of a
        # Reject(requeue=False) is counted by _on_failure, which Celery sends for it from the parent.
        m.CELERY_TASK_REJECTED.labels(name=task.name, queue_name=queue).inc()


@signals.task_success.connect
def _on_success(sender: Any = None, **_: Any) -> None:
    queue = _queue(sender.request)
    m.CELERY_TASK_SUCCEEDED.labels(name=sender.name, queue_name=queue).inc()
    _outcome(sender.name, queue, "succeeded")


@signals.task_failure.connect
def _on_failure(sender: Any = None, task_id: str = "", exception: BaseException | None = None, **_: Any) -> None:
    """Sent once per failed task: by the child for exceptions in the body, by the parent for time limits, lost
    workers whose retries ran out, and Reject(requeue=False)."""
    queue = _queue(sender.request)
    if isinstance(exception, Reject):
        _outcome(sender.name, queue, "rejected")
        return
    if isinstance(exception, TimeLimitExceeded):
        # Celery 5.7 sends task_failure twice for one hard time limit (Request.on_timeout since celery#10226, and
        # Request.on_failure when the pool reports the kill), both in the parent: count the first.
        if task_id in _timed_out:
            return
        _timed_out.append(task_id)
    name = type(exception).__name__ if exception else "unknown"
    m.CELERY_TASK_FAILED.labels(name=sender.name, queue_name=queue, exception=name).inc()
    _outcome(sender.name, queue, "failed")


@signals.task_retry.connect
def _on_retry(sender: Any = None, request: Any = None, **_: Any) -> None:
    """Sent by the child for `self.retry()`, by the parent when it retries the task of a lost worker."""
    queue = _queue(request)
    m.CELERY_TASK_RETRIED.labels(name=sender.name, queue_name=queue).inc()
    _outcome(sender.name, queue, "retried")


@signals.task_rejected.connect
def _on_rejected(message: Any = None, **_: Any) -> None:
    """A message the worker could not accept (a payload it cannot parse): dropped, never run."""
    headers = getattr(message, "headers", {}) or {}
    queue = (getattr(message, "delivery_info", {}) or {}).get("routing_key") or "unknown"
    name = str(headers.get("task") or "unknown")
    m.CELERY_TASK_REJECTED.labels(name=name, queue_name=queue).inc()
    _outcome(name, queue, "rejected")


@signals.task_unknown.connect
def _on_unknown(message: Any = None, name: str = "", **_: Any) -> None:
    """A message naming a task this worker does not have (a deploy skew, a typo): Celery drops it and sends
    `task_unknown`, not `task_rejected`, so it is counted here, or the loss would be invisible."""
    queue = (getattr(message, "delivery_info", {}) or {}).get("routing_key") or "unknown"
    m.CELERY_TASK_REJECTED.labels(name=name or "unknown", queue_name=queue).inc()
    _outcome(name or "unknown", queue, "rejected")


@signals.task_revoked.connect
def _on_revoked(sender: Any = None, request: Any = None, **_: Any) -> None:
    """Sent by the parent with the task as sender; `request` is the task's Context, which has no `name`."""
    queue = _queue(request)
    m.CELERY_TASK_REVOKED.labels(name=sender.name, queue_name=queue).inc()
    _outcome(sender.name, queue, "revoked")
