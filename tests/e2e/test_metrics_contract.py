"""The metrics contract: every series a dashboard panel or alert rule queries exists in a live scrape.

A real stack (devstack's `make run`: embedded Redis and Postgres, gunicorn, the default and bulk worker pools) runs a
workload that takes every path producing a referenced series (tests/e2e/workload.py), while the operator runs
under kopf against kmock on the same Redis, reconciling and scaling a pool. Then web, each worker and the operator
are scraped, and the names the dashboards and alert rules reference (parsed from their PromQL, tests/monitoring/
promql.py) must all be in the union, as must every label value their `=` matchers name. Nothing is excluded: a
series that only a fault would create is exported at zero from the start instead (the operator's error counters).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from celery import Celery
from prometheus_client.parser import text_string_to_metric_families

from devstack import stack
from devstack.servers import free_port, free_ports
from devstack.stack import StackInfo
from tests.e2e import workload
from tests.monitoring.promql import VARIABLE_VALUE, Selector, referenced_metric_names, referenced_selectors
from tests.operator.cluster import DEPLOY, Cluster, running_operator, until

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

# Labels the scrape attaches (Prometheus' target labels; the chart's monitors add `pool` from the pod label
# `celerity.dev/pool`, docs/metrics.md), which no exposition shows, or whose values are the cluster's (the operator's
# `namespace` is kmock's here).
SCRAPE_LABELS = frozenset({"namespace", "pool", "pod", "instance", "job"})
# A pool the operator must scale from 0 at once (minReplicas), whatever the workload's backlog.
POOL_SPEC = {
    "deploymentName": DEPLOY,
    "queues": ["bulk"],
    "minReplicas": 1,
    "maxReplicas": 2,
    "targetBacklogPerReplica": 4,
    "pollIntervalSeconds": 1,
}


def parse(text: str) -> Samples:
    """Every sample of a text exposition: histograms as their _bucket/_sum/_count series, counters as _total."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(url: str) -> Samples:
    response = requests.get(url, timeout=30)
    response.raise_for_status()
    return parse(response.text)


def missing_names(referenced: dict[str, set[str]], samples: Samples) -> dict[str, list[str]]:
    """Source file -> the names it references that no scraped sample has."""
    scraped = {name for name, _ in samples}
    return {source: sorted(names - scraped) for source, names in referenced.items() if names - scraped}


def unmatched(referenced: dict[str, set[Selector]], samples: Samples) -> dict[str, list[str]]:
    """Source file -> its matchers that no sample of a scraped metric satisfies: a label the metric never carries,
    or for `=` a value it never takes. A regex or a negation may name values that only a fault produces
    (`status=~"5.."`), so for those the label must exist. Template variables ($task) match any value."""
    seen: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for name, labels in samples:
        for label, value in labels:
            seen[name][label].add(value)
    found: dict[str, list[str]] = {}
    for source, selectors in referenced.items():
        problems = set()
        for selector in (s for s in selectors if s.name in seen):
            for m in (m for m in selector.matchers if m.label not in SCRAPE_LABELS):
                values = seen[selector.name].get(m.label)
                if values is None:
                    problems.add(f"{selector.name}: no sample has a `{m.label}` label")
                elif m.op == "=" and m.value != VARIABLE_VALUE and m.value not in values:
                    problems.add(f'{selector.name}{{{m.label}="{m.value}"}}: not among {sorted(values)}')
        if problems:
            found[source] = sorted(problems)
    return found


@pytest.fixture
def live_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StackInfo]:
    """`make run`'s stack with servers of its own (not the session's, whose queues other workers consume)."""
    for name in ("REDIS_URL", "DATABASE_URL", "REDIS_RESULT_URL", "DJANGO_SETTINGS_MODULE"):
        monkeypatch.delenv(name, raising=False)
    rundir = tmp_path / "run"
    monkeypatch.setenv("CELERITY_RUN_DIR", str(rundir))  # never another `make run`'s .run/stack.env
    monkeypatch.setenv("CELERITY_HEARTBEAT_INTERVAL", "1")
    monkeypatch.setenv("CELERITY_WORKER_LOST_RETRY_DELAY", "1")  # the lost worker's chunk comes back after 1 s
    monkeypatch.setenv("CELERITY_STOP_GRACE", "20")
    with stack.local_stack(
        rundir, port=free_port(), metrics_port=free_ports(3), persistent=False, progress=False, autoscale=False
    ) as info:
        yield info


@pytest.mark.workers
@pytest.mark.slow
@pytest.mark.asyncio
async def test_every_referenced_metric_and_label_value_is_in_the_live_scrape(
    live_stack: StackInfo, cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    info, started = live_stack, time.monotonic()
    operator_port = free_port()
    monkeypatch.setenv("CELERITY_OPERATOR_REDIS_URL", info.redis_url)
    monkeypatch.setenv("CELERITY_OPERATOR_METRICS_PORT", str(operator_port))
    cluster.deployment(replicas=0)
    cluster.pool(POOL_SPEC)
    app = Celery("metrics-contract", broker=info.redis_url, set_as_current=False)
    async with running_operator(seconds=120):
        work = asyncio.gather(
            asyncio.to_thread(workload.jobs_that_succeed, info),
            asyncio.to_thread(workload.job_with_failed_items, info),
            asyncio.to_thread(workload.http_errors, info),
            asyncio.to_thread(workload.job_cancelled, info),
            asyncio.to_thread(workload.job_whose_worker_is_lost, info, app),
            asyncio.to_thread(workload.job_deadlocked, info),
            asyncio.to_thread(workload.foreign_message, info),
        )
        await until(
            lambda: cluster.replicas() >= 1 and "ScaledUp" in cluster.reasons(),
            within=60,
            what="the operator scaled the pool up",
        )
        succeeded, failed_items, statuses, cancelled, lost, deadlocked, _ = await work
        await asyncio.to_thread(workload.drained, info)
        operator = await asyncio.to_thread(scrape, f"http://127.0.0.1:{operator_port}/metrics")
    app.close()
    endpoints = {"web": info.web_metrics, **{f"worker {pool}": url for pool, url in info.worker_metrics.items()}}
    endpoints["reconciler"] = info.reconciler_metrics
    scraped = {name: await asyncio.to_thread(scrape, url) for name, url in endpoints.items()} | {"operator": operator}
    samples: Samples = {key: value for part in scraped.values() for key, value in part.items()}

    # The workload did what each scenario says, so the series below come from the paths they name.
    assert [job["status"] for job in succeeded] == ["succeeded", "succeeded"], succeeded
    assert (failed_items["status"], failed_items["progress"]["failed"]) == ("failed", 4), failed_items
    assert statuses == [401, 404, 422, 409]
    assert cancelled["status"] == "cancelled"
    assert lost["status"] == "succeeded", lost
    assert deadlocked["status"] == "failed", deadlocked
    assert "deadlock" in deadlocked["error"], deadlocked

    referenced = referenced_metric_names()
    missing = missing_names(referenced, samples)
    assert not missing, f"referenced but in no scrape of {sorted(scraped)}: {missing}"
    assert not (wrong := unmatched(referenced_selectors(), samples)), f"matchers no scraped sample satisfies: {wrong}"

    # The check can fail: a made-up name is reported, and every endpoint supplied referenced series.
    assert missing_names({"made-up.json": {"celerity_made_up_total"}}, samples) == {
        "made-up.json": ["celerity_made_up_total"]
    }
    every_name = set().union(*referenced.values())
    supplied = {name: every_name & {n for n, _ in part} for name, part in scraped.items()}
    assert all(supplied.values()), f"an endpoint supplied no referenced series: {supplied}"
    counts = ", ".join(f"{name} {len(names)}" for name, names in supplied.items())
    print(
        f"\nmetrics contract: {len(every_name)} referenced names, all in {len(samples)} scraped samples; referenced "
        f"names per endpoint: {counts}; workload and scrapes {time.monotonic() - started:.1f}s"
    )


EXPOSITION = """\
# TYPE celerity_tasks counter
celerity_tasks_total{task="t",queue="q",outcome="succeeded"} 3.0
# TYPE celerity_lock_wait_seconds histogram
celerity_lock_wait_seconds_bucket{lock="l",le="+Inf"} 1.0
celerity_lock_wait_seconds_sum{lock="l"} 0.5
celerity_lock_wait_seconds_count{lock="l"} 1.0
"""


def test_names_a_scrape_lacks_are_reported_per_source_file() -> None:
    samples = parse(EXPOSITION)
    referenced = {
        "a.json": {"celerity_tasks_total", "celerity_lock_wait_seconds_bucket", "celerity_lock_wait_seconds_count"},
        "b.yaml": {"celerity_tasks_total", "celerity_lock_wait_seconds", "celerity_jobs_total"},
    }
    assert missing_names(referenced, samples) == {"b.yaml": ["celerity_jobs_total", "celerity_lock_wait_seconds"]}


def test_label_values_a_scrape_lacks_are_reported() -> None:
    from tests.monitoring.promql import selectors

    query = (
        'sum(rate(celerity_tasks_total{namespace="celerity", outcome="failed", task=~"x"}[5m]))'
        ' + sum(rate(celerity_tasks_total{outcome=~"succeeded|failed", kind!="a"}[5m]))'
        ' + rate(celerity_lock_wait_seconds_count{lock="l"}[5m])'
    )
    assert unmatched({"a.json": selectors(query)}, parse(EXPOSITION)) == {
        "a.json": [
            "celerity_tasks_total: no sample has a `kind` label",
            "celerity_tasks_total{outcome=\"failed\"}: not among ['succeeded']",
        ]
    }
