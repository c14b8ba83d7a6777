"""A chunk's item times are observed in one batch; the histogram reads exactly as if each had been observed."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram

from celerity.observability.metrics import ITEM_BUCKETS, observe_many


def samples(histogram: Histogram) -> dict[tuple[str, str], float]:
    return {
        (sample.name, sample.labels.get("le", "")): sample.value
        for metric in histogram.collect()
        for sample in metric.samples
        if not sample.name.endswith("_created")
    }


def test_observe_many_equals_one_observe_per_value() -> None:
    values = [0.00005, 0.0001, 0.0003, 0.0003, 0.002, 0.7, 1.0, 299.0, 301.0, 5000.0]
    one_by_one = Histogram("one", "x", ["job_type"], buckets=ITEM_BUCKETS, registry=CollectorRegistry())
    batched = Histogram("one", "x", ["job_type"], buckets=ITEM_BUCKETS, registry=CollectorRegistry())
    for value in values:
        one_by_one.labels(job_type="t").observe(value)
    observe_many(batched.labels(job_type="t"), values)
    assert samples(batched) == samples(one_by_one)
    assert samples(batched)[("one_count", "")] == len(values)
