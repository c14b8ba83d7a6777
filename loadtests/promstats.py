"""The platform's own Prometheus metrics: scrape before and after a run, and take quantiles from the bucket deltas.

Two kinds of source:
- `/metrics` URLs (any deployment): counters and histograms are summed over the URLs; the broker gauges
  (`celerity_queue_depth`, `celerity_workers_alive`) are computed by every worker from the same Redis, so across
  URLs they are the same number seen twice and are merged with `max`, never summed.
- metric directories (a local stack only): every worker process, including the replicas the local autoscaler adds
  and removes, writes its samples to prometheus-client's multiprocess files. Reading the directories counts the
  tasks those replicas ran even though their ports are not known in advance.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import requests
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

Labels = tuple[tuple[str, str], ...]
Snapshot = dict[str, dict[Labels, float]]  # sample name -> {sorted labels: value}
Buckets = dict[float, float]  # upper bound -> cumulative count


def _add(snapshot: Snapshot, families: Iterable[Metric]) -> None:
    for family in families:
        for sample in family.samples:
            series = snapshot.setdefault(sample.name, {})
            key = tuple(sorted(sample.labels.items()))
            series[key] = series.get(key, 0.0) + sample.value


def scrape_url(url: str, timeout: float = 5.0) -> Snapshot | None:
    try:
        text = requests.get(url, timeout=timeout).text
    except requests.RequestException:
        return None
    snapshot: Snapshot = {}
    _add(snapshot, text_string_to_metric_families(text))
    return snapshot


def read_dir(path: Path) -> Snapshot:
    snapshot: Snapshot = {}
    if path.is_dir():
        collector = MultiProcessCollector(None, path=str(path))  # type: ignore[no-untyped-call]  # untyped upstream
        _add(snapshot, collector.collect())  # type: ignore[no-untyped-call]  # untyped upstream
    return snapshot


def summed(snapshots: Iterable[Snapshot]) -> Snapshot:
    out: Snapshot = {}
    for snapshot in snapshots:
        for name, series in snapshot.items():
            target = out.setdefault(name, {})
            for key, value in series.items():
                target[key] = target.get(key, 0.0) + value
    return out


def gauge(snapshots: Iterable[Snapshot], name: str, label: str) -> dict[str, float]:
    """{label value: value}, the max over sources (each worker reports the same broker-wide figure)."""
    out: dict[str, float] = {}
    for snapshot in snapshots:
        for key, value in snapshot.get(name, {}).items():
            tag = dict(key).get(label, "")
            out[tag] = max(out.get(tag, 0.0), value)
    return out


@dataclass
class Sources:
    urls: list[str] = field(default_factory=list)
    dirs: list[Path] = field(default_factory=list)  # parents of per-process metric directories

    def counters(self) -> Snapshot:
        """Counters and histograms over every process: the directories when known, else the URLs."""
        if self.dirs:
            return summed(read_dir(d) for parent in self.dirs if parent.is_dir() for d in parent.iterdir())
        return summed(s for s in (scrape_url(url) for url in self.urls) if s is not None)

    def gauges(self) -> list[Snapshot]:
        return [s for s in (scrape_url(url, timeout=2.0) for url in self.urls) if s is not None]


def buckets(snapshot: Snapshot, metric: str, **labels: str) -> Buckets:
    result: Buckets = {}
    for key, value in snapshot.get(f"{metric}_bucket", {}).items():
        tags = dict(key)
        if all(tags.get(k) == v for k, v in labels.items()):
            bound = float(tags["le"])
            result[bound] = result.get(bound, 0.0) + value
    return result


def delta(after: Buckets, before: Buckets) -> Buckets:
    return {bound: count - before.get(bound, 0.0) for bound, count in after.items()}


def quantile(q: float, histogram: Buckets) -> float | None:
    """Prometheus' histogram_quantile: linear interpolation inside the bucket; None without observations."""
    if not histogram:
        return None
    bounds = sorted(histogram)
    total = histogram[bounds[-1]]
    if total <= 0:
        return None
    rank, previous_bound, previous_count = q * total, 0.0, 0.0
    for bound in bounds:
        count = histogram[bound]
        if count >= rank:
            if math.isinf(bound):
                return previous_bound
            span = count - previous_count
            return previous_bound + (bound - previous_bound) * ((rank - previous_count) / span if span else 0.0)
        previous_bound, previous_count = bound, count
    return bounds[-2] if len(bounds) > 1 else None


def total(snapshot: Snapshot, metric: str, **labels: str) -> float:
    return sum(
        value
        for key, value in snapshot.get(metric, {}).items()
        if all(dict(key).get(k) == v for k, v in labels.items())
    )


def increase(after: Snapshot, before: Snapshot, metric: str, **labels: str) -> float:
    """A counter's growth between two snapshots (never negative: a restarted process resets its files)."""
    return max(total(after, metric, **labels) - total(before, metric, **labels), 0.0)
