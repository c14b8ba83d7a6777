"""The worker's parent process: /metrics and /healthz on their own port, and the heartbeat for the operator.

Pool children never serve anything: they only write multiprocess files, which the parent sums at scrape time.
"""

from __future__ import annotations

import logging
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import redis
from celery import signals
from celery.worker import state as worker_state
from django.conf import settings
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from celerity.observability import heartbeat, multiproc
from celerity.observability.collector import BrokerCollector

log = logging.getLogger(__name__)


class WorkerObserver:
    def __init__(self, consumer: Any) -> None:
        self.consumer = consumer
        self.nodename: str = consumer.hostname
        self.queues = sorted(q.name for q in consumer.task_consumer.queues) if consumer.task_consumer else []
        self.pool = settings.CELERITY_POOL or (self.queues[0] if self.queues else "default")
        self.interval = float(settings.CELERITY_HEARTBEAT_INTERVAL)
        self.client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
        self.state = "running"
        self.stopped = threading.Event()
        self.server: ThreadingHTTPServer | None = None

    # --- heartbeat ----------------------------------------------------------------------------------------------
    def beat(self) -> None:
        def queues_of(requests: Any) -> list[str]:
            return [str((r.delivery_info or {}).get("routing_key", "")) for r in list(requests)]

        document = heartbeat.heartbeat_document(
            nodename=self.nodename, pool=self.pool, queues=self.queues,
            concurrency=int(getattr(self.consumer.pool, "num_processes", 0) or self.consumer.controller.concurrency),
            active_queues=queues_of(worker_state.active_requests),
            reserved_queues=queues_of(set(worker_state.reserved_requests) - set(worker_state.active_requests)),
            state=self.state, interval=self.interval,
        )  # fmt: skip
        try:
            heartbeat.publish(self.client, document)
        except redis.RedisError as exc:
            log.warning("heartbeat not published: %s", exc)

    def _beat_forever(self) -> None:
        while not self.stopped.wait(self.interval):
            self.beat()

    # --- http ---------------------------------------------------------------------------------------------------
    def connected(self) -> bool:
        connection = getattr(self.consumer, "connection", None)
        return bool(connection is not None and connection.connected)

    def render(self) -> bytes:
        registry = CollectorRegistry()
        if os.environ.get(multiproc.ENV):
            MultiProcessCollector(registry)
        registry.register(BrokerCollector(self.client, self.queues))
        registry.register(_Local(self))
        return generate_latest(registry)

    def start(self, port: int) -> None:
        self.beat()
        threading.Thread(target=self._beat_forever, name="celerity-heartbeat", daemon=True).start()
        if port:
            self.server = ThreadingHTTPServer(("0.0.0.0", port), _handler(self))  # noqa: S104 - scraped from outside the pod
            threading.Thread(target=self.server.serve_forever, name="celerity-metrics", daemon=True).start()
            log.info("metrics and health on :%s", port)

    def stopping(self) -> None:
        self.state = "stopping"
        self.beat()

    def stop(self) -> None:
        self.stopped.set()
        if self.server:
            self.server.shutdown()
        try:
            heartbeat.remove(self.client, self.nodename)
        except redis.RedisError as exc:
            log.warning("heartbeat not removed: %s", exc)


class _Local:
    """celery-exporter's per-worker gauges, from this parent's own state."""

    def __init__(self, observer: WorkerObserver) -> None:
        self.observer = observer

    def collect(self) -> Any:
        up = GaugeMetricFamily("celery_worker_up", "Worker connected to the broker.", labels=["hostname"])
        up.add_metric([self.observer.nodename], 1 if self.observer.connected() else 0)
        yield up
        active = GaugeMetricFamily("celery_worker_tasks_active", "Tasks executing now.", labels=["hostname"])
        active.add_metric([self.observer.nodename], len(worker_state.active_requests))
        yield active


def _handler(observer: WorkerObserver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/metrics"):
                self._send(200, observer.render(), CONTENT_TYPE_LATEST)
            elif self.path.startswith("/healthz"):
                ok = observer.connected() and observer.state == "running"
                self._send(200 if ok else 503, b"ok\n" if ok else b"not connected\n", "text/plain")
            else:
                self._send(404, b"not found\n", "text/plain")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # scrapes every few seconds: keep the log quiet
            return

    return Handler


_observer: WorkerObserver | None = None


@signals.worker_init.connect
def _on_worker_init(**_: Any) -> None:
    multiproc.wipe()


@signals.worker_process_shutdown.connect
def _on_child_exit(pid: int | None = None, **_: Any) -> None:
    multiproc.mark_dead(pid or os.getpid())


@signals.worker_ready.connect
def _on_ready(sender: Any = None, **_: Any) -> None:
    global _observer
    _observer = WorkerObserver(sender)
    _observer.start(int(settings.CELERITY_WORKER_METRICS_PORT))


@signals.worker_shutting_down.connect
def _on_shutting_down(**_: Any) -> None:
    if _observer:
        _observer.stopping()


@signals.worker_shutdown.connect
def _on_shutdown(**_: Any) -> None:
    if _observer:
        _observer.stop()
