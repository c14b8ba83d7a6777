"""The load-test runner and report on a tiny profile: numbers that add up, and a verdict that can fail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from loadtests import promstats, report
from loadtests.__main__ import main
from loadtests.checking import check
from loadtests.runner import JobRun, RunResult
from loadtests.scenarios import JobSpec, expected_sum

SPEC = JobSpec("chunked", 100, 10)


def body(done: int, total: int | None = None, status: str = "succeeded") -> dict[str, object]:
    return {"status": status, "progress": {"done": done}, "result": {"sum": total, "count": done}}


def test_a_correct_job_passes_and_every_kind_of_wrong_fails() -> None:
    assert check(SPEC, body(100, expected_sum(100))).ok
    wrong_sum = check(SPEC, body(100, expected_sum(100) + 1))
    lost = check(SPEC, body(97, expected_sum(97)))
    duplicated = check(SPEC, body(103, expected_sum(100)))
    failed = check(SPEC, body(100, expected_sum(100), status="failed"))
    assert not wrong_sum.ok
    assert "sum" in wrong_sum.reason
    assert (lost.ok, lost.lost) == (False, 3)
    assert (duplicated.ok, duplicated.duplicated) == (False, 3)
    assert not failed.ok


def test_quantiles_follow_prometheus_histogram_quantile() -> None:
    histogram = {0.1: 50.0, 0.5: 90.0, 1.0: 100.0, float("inf"): 100.0}
    assert promstats.quantile(0.5, histogram) == pytest.approx(0.1)
    assert promstats.quantile(0.7, histogram) == pytest.approx(0.3)
    assert promstats.quantile(0.99, histogram) == pytest.approx(0.95)
    assert promstats.quantile(0.5, {}) is None


def test_the_summary_adds_up_and_says_fail_when_items_are_lost() -> None:
    good = JobRun(
        "a", "chunked", 100, 10, 0.01, 2.0, 50.0, "succeeded", check(SPEC, body(100, expected_sum(100))).__dict__
    )
    bad = JobRun(
        "b", "chunked", 100, 10, 0.01, 2.0, 50.0, "succeeded", check(SPEC, body(98, expected_sum(98))).__dict__
    )
    result = RunResult("chunked", "tiny", "http://x", 0.0, jobs=[good, bad])
    console = Console(record=True, width=200)
    figures = report.print_summary(result, console)
    assert figures["items"] == 200
    assert figures["items_per_second"] == pytest.approx(50.0)
    assert (figures["items_lost"], figures["correct"]) == (2, False)
    assert "correctness: FAIL" in console.export_text()


@pytest.mark.slow
def test_a_tiny_run_against_a_live_stack_is_correct_and_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from devstack import stack
    from devstack.servers import free_port

    for name in ("REDIS_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"):
        monkeypatch.delenv(name, raising=False)
    with stack.local_stack(tmp_path / "run", port=free_port(), metrics_port=free_port(), persistent=False,
                           progress=False, autoscale=False) as info:  # fmt: skip
        code = main(["run", "--scenario", "all", "--profile", "tiny", "--target", info.api_url, "--token", info.token,
                     "--out", str(tmp_path / "out")])  # fmt: skip
    assert code == 0
    for scenario, specs in (("chunked", 2), ("chord", 2)):
        results = json.loads((tmp_path / "out" / scenario / "results.json").read_text())
        summary = results["summary"]
        assert summary["correct"] is True
        assert summary["jobs"] == specs == len(results["run"]["jobs"])
        assert summary["items"] == sum(job["items"] for job in results["run"]["jobs"])
        assert (summary["items_lost"], summary["items_duplicated"]) == (0, 0)
        html = (tmp_path / "out" / scenario / "report.html").read_text()
        assert "Correctness: PASS" in html
        assert "data:image/png;base64," in html
