"""The runner end to end against a fabricated API: exit codes, counts that add up, and a verdict that fails when
the platform reports a wrong sum, loses items or counts them twice. No platform needed, so these run in seconds."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from loadtests import runner
from loadtests.__main__ import main
from loadtests.scenarios import SCENARIOS, JobSpec, Scenario, expected_sum
from loadtests.target import Target, api_client
from tests.fakeapi import TOKEN, FakeApi, honest, serving

QUIET = Console(file=io.StringIO(), width=200)


def run_cli(api: FakeApi, tmp_path: Path, scenario: str) -> tuple[int, dict[str, Any]]:
    with serving(api) as url:
        code = main(["run", "--scenario", scenario, "--profile", "tiny", "--target", url, "--token", TOKEN,
                     "--out", str(tmp_path)], console=QUIET)  # fmt: skip # a command line reads best as one
    return code, json.loads((tmp_path / "results.json").read_text())


@pytest.mark.parametrize("scenario", ["chunked", "chord", "burst"])
def test_an_honest_platform_passes_and_every_job_is_counted(tmp_path: Path, scenario: str) -> None:
    api = FakeApi()
    code, results = run_cli(api, tmp_path, scenario)
    assert code == 0
    summary = results["scenarios"][0]["summary"]
    specs = SCENARIOS[scenario]["tiny"].jobs
    assert summary["jobs"] == summary["checked_jobs"] == summary["jobs_correct"] == len(specs) == len(api.jobs)
    assert summary["items"] == sum(spec.items for spec in specs)
    assert (summary["items_lost"], summary["items_duplicated"], summary["errors"]) == (0, 0, 0)
    assert results["correct"] is True
    assert (tmp_path / "report.html").stat().st_size > 0


def test_a_wrong_sum_fails_the_run(tmp_path: Path) -> None:
    def off_by_one_on_the_second_job(items: int, number: int) -> tuple[int, int, int, int, str]:
        return items, 0, expected_sum(items) + (number == 1), items, "succeeded"

    code, results = run_cli(FakeApi(off_by_one_on_the_second_job), tmp_path, "chunked")
    assert code == 3
    scenario = results["scenarios"][0]
    assert [job["verdict"]["ok"] for job in scenario["jobs"]] == [True, False]
    assert "sum" in scenario["jobs"][1]["verdict"]["reason"]
    assert (scenario["summary"]["jobs_correct"], scenario["summary"]["correct"]) == (1, False)


def test_lost_items_fail_the_run_and_are_counted(tmp_path: Path) -> None:
    def loses_three(items: int, _: int) -> tuple[int, int, int, int, str]:
        return items - 3, 0, expected_sum(items - 3), items - 3, "succeeded"

    code, results = run_cli(FakeApi(loses_three), tmp_path, "chord")
    assert code == 3
    summary = results["scenarios"][0]["summary"]
    assert summary["items_lost"] == 3 * summary["jobs"]
    assert summary["items_duplicated"] == 0


def test_items_counted_twice_fail_the_run_and_are_counted(tmp_path: Path) -> None:
    def counts_two_twice(items: int, _: int) -> tuple[int, int, int, int, str]:
        return items + 2, 0, expected_sum(items) + 1, items + 2, "succeeded"

    code, results = run_cli(FakeApi(counts_two_twice), tmp_path, "burst")
    assert code == 3
    summary = results["scenarios"][0]["summary"]
    assert summary["items_duplicated"] == 2 * summary["jobs"]
    assert summary["jobs_correct"] == 0


def test_a_job_that_never_finishes_times_out_fails_and_is_cancelled() -> None:
    def stuck(items: int, _: int) -> tuple[int, int, int, int, str]:
        return items // 2, 0, 0, 0, "running"

    api = FakeApi(stuck)
    scenario = Scenario("sweep", (JobSpec("chunked", 100, 10), JobSpec("chunked", 100, 10)), timeout=1.5)
    with serving(api) as url:
        result = runner.run(
            api_client(url, TOKEN), scenario, Target(url, TOKEN), name="chunked", profile="t", console=QUIET
        )
    assert not result.correct
    assert len(result.jobs) == 1  # a sweep submits the next job only when the previous one has finished
    assert result.jobs[0].verdict["lost"] == 50
    assert any(error.startswith("timeout") for error in result.errors)
    assert api.cancelled == [result.jobs[0].id]


def test_a_wrong_token_is_an_error_not_a_pass(tmp_path: Path) -> None:
    with serving(FakeApi()) as url:
        code = main(["run", "--scenario", "chunked", "--profile", "tiny", "--target", url, "--token", "wrong",
                     "--out", str(tmp_path)], console=QUIET)  # fmt: skip # a command line reads best as one
    assert code == 3  # no job was accepted, so no job was checked: not a pass
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["scenarios"][0]["summary"]["errors"] >= 1


def test_locust_submits_at_a_rate_bounded_by_count_and_the_runner_checks_every_job(tmp_path: Path) -> None:
    api = FakeApi(honest)
    code, results = run_cli(api, tmp_path, "mixed")
    assert code == 0
    scenario = results["scenarios"][0]
    tiny = SCENARIOS["mixed"]["tiny"]
    assert len(api.jobs) == len(scenario["jobs"]) == tiny.max_jobs
    assert scenario["locust"]["requests"] == tiny.max_jobs
    assert scenario["locust"]["failures"] == 0
    workloads = [job["payload"]["workload"] for job in api.jobs.values()]
    assert set(workloads) == {spec.workload for spec in tiny.jobs}
