"""Quantiles from Prometheus bucket deltas, gauges merged across workers, and a summary whose numbers add up."""

from __future__ import annotations

import base64
import io
import json
import math
import re
from pathlib import Path

import pytest
from rich.console import Console

from loadtests import figures, promstats, report
from loadtests.checking import check
from loadtests.results import JobRun, Sample, ScenarioResult
from loadtests.scenarios import JobSpec, expected_sum

INF = math.inf


def histogram(name: str, task: str, cumulative: dict[float, float], total: float) -> promstats.Snapshot:
    buckets = {(("le", str(b)), ("queue", "bulk"), ("task", task)): v for b, v in cumulative.items()}
    labels = (("queue", "bulk"), ("task", task))
    return {f"{name}_bucket": buckets, f"{name}_count": {labels: cumulative[INF]}, f"{name}_sum": {labels: total}}


def test_quantiles_follow_prometheus_histogram_quantile() -> None:
    h = {0.1: 50.0, 0.5: 90.0, 1.0: 100.0, INF: 100.0}
    assert promstats.quantile(0.5, h) == pytest.approx(0.1)
    assert promstats.quantile(0.7, h) == pytest.approx(0.3)
    assert promstats.quantile(0.99, h) == pytest.approx(0.95)
    assert promstats.quantile(0.5, {}) is None
    assert promstats.quantile(0.5, {0.1: 0.0, INF: 0.0}) is None
    assert promstats.quantile(0.99, {0.1: 1.0, INF: 10.0}) == pytest.approx(0.1)  # beyond the last bound


def test_only_what_happened_between_the_scrapes_counts() -> None:
    name = "celerity_task_runtime_seconds"
    before = histogram(name, "t", {0.1: 1000.0, 1.0: 1000.0, INF: 1000.0}, 50.0)
    after = histogram(name, "t", {0.1: 1000.0, 1.0: 1010.0, INF: 1010.0}, 55.0)
    platform = figures.platform(before, after)
    assert platform["run_time"]["count"] == 10
    assert platform["run_time"]["p50"] == pytest.approx(0.55)
    assert platform["by_task"]["t"]["run_time_mean"] == pytest.approx(0.5)
    assert figures.platform(before, {}) == {"available": False}


def test_broker_gauges_are_merged_not_summed_across_workers() -> None:
    seen_by_default = {"celerity_queue_depth": {(("queue", "default"),): 3.0}}
    seen_by_bulk = {"celerity_queue_depth": {(("queue", "bulk"),): 7.0, (("queue", "default"),): 3.0}}
    assert promstats.gauge([seen_by_default, seen_by_bulk], "celerity_queue_depth", "queue") == {
        "default": 3.0,
        "bulk": 7.0,
    }


def test_counters_grow_and_never_go_negative() -> None:
    before = {"celerity_db_retries_total": {(("lock", "x"), ("reason", "deadlock")): 2.0}}
    after = {
        "celerity_db_retries_total": {
            (("lock", "x"), ("reason", "deadlock")): 5.0,
            (("lock", "x"), ("reason", "serialization")): 1.0,
        }
    }
    assert promstats.increase(after, before, "celerity_db_retries_total", reason="deadlock") == 3.0
    assert promstats.increase(after, before, "celerity_db_retries_total") == 4.0
    assert promstats.increase(before, after, "celerity_db_retries_total") == 0.0


def job(label: str, items: int, done: int, total: int, seconds: float) -> JobRun:
    spec = JobSpec("chunked", items, 10)
    verdict = check(spec, {"status": "succeeded", "progress": {"done": done}, "result": {"sum": total, "count": done}})
    return JobRun(label, label, "chunked", items, 10, 0.0, 0.01, seconds, 0.001, "succeeded", done, verdict.__dict__)


def result_with(*jobs: JobRun) -> ScenarioResult:
    samples = [Sample(t, 0, int(t * 50), 0, {"bulk": 4.0 - t}, 1.0, {"bulk": 1.0 + (t > 1)}) for t in (0.0, 1.0, 2.0)]
    return ScenarioResult(
        "chunked", "tiny", "sweep", "http://x", 0.0, wall_seconds=4.0, jobs=list(jobs), samples=samples
    )


def test_the_summary_adds_up() -> None:
    result = result_with(job("a", 100, 100, expected_sum(100), 2.0), job("b", 300, 300, expected_sum(300), 1.0))
    figs = figures.summary(result)
    assert (figs["jobs"], figs["items"], figs["checked_jobs"], figs["jobs_correct"]) == (2, 400, 2, 2)
    assert figs["items_per_second"] == pytest.approx(400 / 4.0)
    assert figs["job_latency"]["p50"] == pytest.approx(1.5)
    assert (figs["peak_backlog"], figs["peak_workers"]) == (4.0, 2.0)
    assert (figs["items_lost"], figs["items_duplicated"], figs["correct"]) == (0, 0, True)


def test_the_summary_says_fail_when_items_are_lost() -> None:
    result = result_with(job("a", 100, 100, expected_sum(100), 2.0), job("b", 100, 98, expected_sum(98), 2.0))
    console = Console(record=True, width=200, file=io.StringIO())
    figs = report.print_summary(result, console)
    assert (figs["items_lost"], figs["jobs_correct"], figs["correct"]) == (2, 1, False)
    assert "correctness: FAIL: 1/2 job sums and counts correct, items lost = 2" in console.export_text()


def test_the_report_is_one_self_contained_file(tmp_path: Path) -> None:
    result = result_with(job("a", 100, 100, expected_sum(100), 2.0), job("b", 100, 100, expected_sum(100), 1.0))
    result.platform = figures.platform(
        {}, histogram("celerity_task_queue_wait_seconds", "t", {0.01: 5.0, INF: 6.0}, 1.0)
    )
    results_json, html_file = report.write([result], tmp_path)
    document = json.loads(results_json.read_text())
    assert document["correct"] is True
    assert document["scenarios"][0]["summary"]["items"] == 200
    html = html_file.read_text()
    assert "correctness: PASS" in html
    assert not re.search(r"""(src|href)=["']https?:""", html)  # nothing to fetch: it opens offline
    images = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html)
    assert len(images) >= 4  # throughput, backlog and replicas, items/s per job, queue-wait histogram
    assert all(base64.b64decode(data).startswith(b"\x89PNG") for data in images)
