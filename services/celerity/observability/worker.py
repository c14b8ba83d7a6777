"""The worker's parent process: /metrics and /healthz on a port of its own, the heartbeat the operator reads, and the
drain deadline on shutdown. Wired to Celery's worker signals at the bottom of this module.

Pool children serve nothing: they only write multiprocess files, which the parent sums at scrape time.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import threading
from collections.abc import Iterable
from typing import Any

import redis
from billiard.common import REMAP_SIGTERM  # type: ignore[import-untyped]  # billiard ships no types
from celery import signals
from celery.worker import state as worker_state
from django.conf import settings
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from celerity.observability import broker, heartbeat, multiproc, serving, tasksignals
from celerity.observability.collector import BrokerCollector, WorkerCollector

log = logging.getLogger(__name__)


class WorkerObserver:
    def __init__(self, consumer: Any) -> None:
        self.consumer = consumer
        self.nodename: str = consumer.hostname
        self._queues: list[str] = []
        queues = self.queues
        self.pool = settings.CELERITY_POOL or (queues[0] if queues else "default")
        self.interval = float(settings.CELERITY_HEARTBEAT_INTERVAL)
        self.client = broker.client()
        self.state = "running"
        self._wake = threading.Event()
        self._done = False
        self._beater = threading.Thread(target=self._beat_forever, name="celerity-heartbeat", daemon=True)
        self._server: serving.Server | None = None
        self._drain: threading.Timer | None = None
        self._pid = os.getpid()

    @property
    def queues(self) -> list[str]:
        """Read each time: `celery control add_consumer` can change them while the worker runs. The consumer is
        gone during shutdown: then the last ones seen."""
        task_consumer = self.consumer.task_consumer
        if task_consumer is not None:
            self._queues = sorted(q.name for q in list(task_consumer.queues))
        return self._queues

    # --- heartbeat ----------------------------------------------------------------------------------------------
    def beat(self) -> None:
        active, reserved = _snapshot()
        pool = self.consumer.pool
        document = heartbeat.heartbeat_document(
            nodename=self.nodename,
            pool=self.pool,
            queues=self.queues,
            concurrency=int(getattr(pool, "num_processes", 0) or self.consumer.controller.concurrency),
            active_queues=active,
            reserved_queues=reserved,
            state=self.state,
            interval=self.interval,
        )
        try:
            heartbeat.publish(self.client, document)
        except (redis.RedisError, OSError) as exc:
            log.warning("heartbeat not published: %s", exc)

    def _beat_forever(self) -> None:
        while not self._done:
            try:
                self.beat()
                multiproc.reap()
            except Exception:  # the heartbeat must outlive any one bad beat; the log says what happened
                log.exception("heartbeat failed")
            self._wake.wait(self.interval)
            self._wake.clear()

    # --- health and metrics -------------------------------------------------------------------------------------
    def connected(self) -> bool:
        connection = getattr(self.consumer, "connection", None)
        return bool(connection is not None and connection.connected)

    def healthy(self) -> bool:
        """Liveness: consuming from a connected broker. A draining worker stays healthy: restarting it would cut
        short the work it is finishing."""
        return self.state == "stopping" or self.connected()

    def render(self) -> bytes:
        multiproc.reap()
        registry = CollectorRegistry()
        if os.environ.get(multiproc.ENV):
            MultiProcessCollector(registry)
        registry.register(BrokerCollector(self.client, self.queues))
        registry.register(WorkerCollector(self.nodename, self.connected, lambda: len(_snapshot()[0])))
        return generate_latest(registry)

    # --- life cycle ---------------------------------------------------------------------------------------------
    def start(self, port: int) -> None:
        atexit.register(self.stop)
        self._beater.start()
        if port:
            self._server = serving.serve(port, metrics=self.render, healthy=self.healthy)
            log.info("metrics and health on :%s", port)

    def stopping(self, how: str) -> None:
        """Runs inside Celery's signal handler: no I/O here, the heartbeat thread publishes `stopping` at once."""
        self.state = "stopping"
        self._wake.set()
        timeout = float(settings.CELERITY_WORKER_DRAIN_TIMEOUT)
        if how == "Warm" and timeout > 0 and self._drain is None:
            self._drain = threading.Timer(timeout, _give_back_unfinished, args=(timeout,))
            self._drain.daemon = True
            self._drain.start()

    def stop(self) -> None:
        """Clean exit: stop beating (and wait, so no beat lands after the removal), then delete the heartbeat.
        Runs at `worker_shutdown` and again at exit (Celery's cold shutdown sends no `worker_shutdown`)."""
        if self._done or os.getpid() != self._pid:  # once, and never in a pool child that inherited the atexit hook
            return
        self._done = True
        self._wake.set()
        if self._beater.is_alive():
            self._beater.join(timeout=5)
        if self._drain is not None:
            self._drain.cancel()
        try:
            heartbeat.remove(self.client, self.nodename)
        except (redis.RedisError, OSError) as exc:
            log.warning("heartbeat not removed: %s", exc)
        if self._server is not None:
            self._server.shutdown()


def _snapshot() -> tuple[list[str], list[str]]:
    """Queues of the active and of the reserved-but-not-started requests. The main thread mutates these sets while
    this runs in another thread: copy, and retry the rare copy that raced a change."""
    for _ in range(10):
        try:
            active, reserved = list(worker_state.active_requests), list(worker_state.reserved_requests)
            break
        except RuntimeError:
            continue
    else:
        return [], []
    running = {id(r) for r in active}
    return _queues(active), _queues(r for r in reserved if id(r) not in running)


def _queues(requests: Iterable[Any]) -> list[str]:
    return [str((r.delivery_info or {}).get("routing_key", "")) for r in requests]


def _give_back_unfinished(timeout: float) -> None:
    """The drain deadline passed with tasks still running: SIGQUIT turns Celery's warm shutdown into its cold one,
    which cancels them and returns their (unacknowledged) messages to the queue before Kubernetes' SIGKILL would
    leave them to the visibility timeout."""
    log.warning("still running %d task(s) %ss after SIGTERM: returning them to the queue", len(_snapshot()[0]), timeout)
    os.kill(os.getpid(), signal.SIGQUIT)


_observer: WorkerObserver | None = None


@signals.worker_init.connect
def _on_worker_init(**_: Any) -> None:
    multiproc.wipe()  # in the parent, before the pool forks its children


@signals.worker_process_shutdown.connect
def _on_child_exit(pid: int | None = None, **_: Any) -> None:
    multiproc.mark_dead(pid or os.getpid())


@signals.worker_ready.connect
def _on_ready(sender: Any = None, **_: Any) -> None:
    global _observer
    _observer = WorkerObserver(sender)
    if len(_observer.queues) == 1:
        tasksignals.PARENT_QUEUE = _observer.queues[0]
    if REMAP_SIGTERM:
        log.warning("REMAP_SIGTERM=%s: SIGTERM is not Celery's warm shutdown here (docs/reliability.md)", REMAP_SIGTERM)
    _observer.start(int(settings.CELERITY_WORKER_METRICS_PORT))


@signals.worker_shutting_down.connect
def _on_shutting_down(how: str = "Warm", **_: Any) -> None:
    if _observer:
        _observer.stopping(how)


@signals.worker_shutdown.connect
def _on_shutdown(**_: Any) -> None:
    if _observer:
        _observer.stop()
