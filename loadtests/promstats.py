"""Quantiles from the platform's own Prometheus histograms: scrape before and after, use the bucket deltas."""

from __future__ import annotations

import math

import requests
from prometheus_client.parser import text_string_to_metric_families

Buckets = dict[float, float]  # upper bound -> cumulative count


def scrape(urls: list[str]) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """{sample name: {sorted labels: value}} summed over every url (e.g. every worker)."""
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for url in urls:
        try:
            text = requests.get(url, timeout=10).text
        except requests.RequestException:
            continue
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                key = tuple(sorted(sample.labels.items()))
                series = out.setdefault(sample.name, {})
                series[key] = series.get(key, 0.0) + sample.value
    return out


def buckets(snapshot: dict[str, dict[tuple[tuple[str, str], ...], float]], metric: str, **labels: str) -> Buckets:
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


def total(snapshot: dict[str, dict[tuple[tuple[str, str], ...], float]], metric: str) -> float:
    return sum(snapshot.get(metric, {}).values())
