"""Gauges computed at scrape time in the worker's parent: read from Redis or from the parent's own state when
Prometheus asks, so they are never stale and never summed over pool children.

Broker and heartbeat gauges describe the whole fleet, so every worker pod reports the same value: aggregate them with
`max by (queue)`, never `sum` (docs/metrics.md).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence

import redis
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from celerity.observability import broker, heartbeat

log = logging.getLogger(__name__)


class BrokerCollector(Collector):
    """Queue backlog, unacknowledged messages and live workers. A scrape during a Redis outage returns whatever
    could be read (possibly nothing from here) rather than an error page."""

    def __init__(self, client: redis.Redis, queues: Sequence[str]) -> None:
        self.client = client
        self.queues = list(queues)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            waiting, unacked = broker.backlog(self.client, self.queues)
            beats = heartbeat.read_fresh(self.client)
        except (redis.RedisError, OSError) as exc:
            log.warning("broker gauges skipped: %s", exc)
            return
        yield _family("celerity_queue_depth", "Waiting messages, priority sub-queues included.", "queue", waiting)
        yield _family("celerity_queue_unacked", "Delivered, unacknowledged messages.", "queue", unacked)
        yield _family("celery_queue_length", "Waiting messages (celery-exporter name).", "queue_name", waiting)
        yield _family(
            "celerity_workers_alive",
            "Workers with a fresh heartbeat.",
            "pool",
            Counter(str(b.get("pool", "")) for b in beats),
        )
        workers: Counter[str] = Counter()
        processes: Counter[str] = Counter()
        for beat in beats:
            for queue in beat.get("queues", []):
                workers[queue] += 1
                processes[queue] += int(beat.get("concurrency", 0))
        per_queue = {q: workers[q] for q in {*self.queues, *workers}}
        yield _family("celery_active_worker_count", "Live workers consuming the queue.", "queue_name", per_queue)
        # On Redis every worker holds one consumer per queue, so consumers = workers (celery-exporter reports this
        # only for RabbitMQ, where the broker counts them).
        yield _family("celery_active_consumer_count", "Consumers of the queue.", "queue_name", per_queue)
        yield _family(
            "celery_active_process_count",
            "Live worker processes consuming the queue.",
            "queue_name",
            {q: processes[q] for q in per_queue},
        )


class WorkerCollector(Collector):
    """celery-exporter's per-worker gauges, from this parent's own state (labelled by node name, as there)."""

    def __init__(self, nodename: str, connected: Callable[[], bool], active: Callable[[], int]) -> None:
        self.nodename, self.connected, self.active = nodename, connected, active

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield _family(
            "celery_worker_up", "Worker connected to the broker.", "hostname", {self.nodename: int(self.connected())}
        )
        yield _family("celery_worker_tasks_active", "Tasks executing now.", "hostname", {self.nodename: self.active()})


def _family(name: str, doc: str, label: str, values: Mapping[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family
