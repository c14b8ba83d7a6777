"""Broker and worker gauges computed at scrape time in the worker's parent (never stale, never per child)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

import redis
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from celerity.observability import heartbeat
from celerity.observability.broker import PRIORITY_SEP, PRIORITY_STEPS


class BrokerCollector(Collector):
    def __init__(self, client: redis.Redis, queues: list[str]) -> None:
        self.client = client
        self.queues = queues

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            depth, unacked = self._depths()
            beats = heartbeat.read_fresh(self.client)
        except (redis.RedisError, OSError):
            return  # a scrape during a broker outage shows the process metrics, not an error page
        yield _family("celerity_queue_depth", "Waiting messages, priority sub-queues included.", "queue", depth)
        yield _family("celerity_queue_unacked", "Delivered, unacknowledged messages.", "queue", unacked)
        yield _family("celery_queue_length", "Waiting messages (celery-exporter name).", "queue_name", depth)
        pools = Counter(str(b.get("pool", "")) for b in beats)
        yield _family("celerity_workers_alive", "Workers with a fresh heartbeat.", "pool", dict(pools))
        by_queue = Counter(q for b in beats for q in b.get("queues", []))
        processes = Counter()  # type: Counter[str]
        for beat in beats:
            for queue in beat.get("queues", []):
                processes[queue] += int(beat.get("concurrency", 0))
        workers = {q: by_queue.get(q, 0) for q in self.queues}
        yield _family("celery_active_worker_count", "Live workers consuming the queue.", "queue_name", workers)
        yield _family("celery_active_process_count", "Live worker processes consuming the queue.", "queue_name",
                      {q: processes.get(q, 0) for q in self.queues})  # fmt: skip

    def _depths(self) -> tuple[dict[str, int], dict[str, int]]:
        pipe = self.client.pipeline(transaction=False)
        for queue in self.queues:
            pipe.llen(queue)
            for step in PRIORITY_STEPS:
                pipe.llen(f"{queue}{PRIORITY_SEP}{step}")
        pipe.hvals("unacked")
        *sizes, unacked_raw = pipe.execute()
        width = 1 + len(PRIORITY_STEPS)
        depth = {q: sum(sizes[i * width : (i + 1) * width]) for i, q in enumerate(self.queues)}
        unacked = dict.fromkeys(self.queues, 0)
        for raw in unacked_raw:
            try:
                routing_key = json.loads(raw)[2]
            except (ValueError, IndexError, TypeError):
                continue
            if routing_key in unacked:
                unacked[routing_key] += 1
        return depth, unacked


def _family(name: str, doc: str, label: str, values: dict[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family
