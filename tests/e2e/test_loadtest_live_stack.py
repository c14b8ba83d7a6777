"""`make loadtest` on the tiny profile against a real local stack (Redis, Postgres, gunicorn, two worker pools):
every scenario runs, every job is checked and audited item by item, and the numbers in results.json add up."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from loadtests.__main__ import main
from loadtests.scenarios import SCENARIOS


@pytest.mark.slow
def test_every_scenario_on_the_tiny_profile_is_correct_audited_and_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from devstack import stack
    from devstack.servers import free_port, free_ports

    for name in ("REDIS_URL", "DATABASE_URL", "REDIS_RESULT_URL", "DJANGO_SETTINGS_MODULE"):
        monkeypatch.delenv(name, raising=False)  # the stack's own embedded servers, not the test session's
    monkeypatch.setenv("CELERITY_HEARTBEAT_INTERVAL", "1")
    monkeypatch.setenv("CELERITY_STOP_GRACE", "10")
    console = Console(file=io.StringIO(), width=200, record=True)
    with stack.local_stack(
        tmp_path / "run",
        port=free_port(),
        metrics_port=free_ports(3),
        persistent=False,
        progress=False,
        autoscale=False,
    ) as info:
        monkeypatch.setattr(stack, "RUN_DIR", tmp_path / "run")  # read_running() finds this stack, as after `make run`
        code = main(["run", "--scenario", "all", "--profile", "tiny", "--out", str(tmp_path / "out")], console=console)
    output = console.export_text()
    assert code == 0, output[-3000:]
    assert f"using the running `make run` stack at {info.api_url}" in output
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [s["scenario"] for s in results["scenarios"]] == list(SCENARIOS)
    for scenario in results["scenarios"]:
        summary, jobs = scenario["summary"], scenario["jobs"]
        name = scenario["scenario"]
        tiny = SCENARIOS[name]["tiny"]
        expected_jobs = tiny.max_jobs if tiny.mode == "rate" else len(tiny.jobs)
        assert summary["jobs"] == len(jobs) == summary["checked_jobs"] == summary["jobs_correct"] == expected_jobs
        assert summary["items"] == sum(job["items"] for job in jobs) == sum(job["done"] for job in jobs)
        assert (summary["items_lost"], summary["items_duplicated"], summary["errors"]) == (0, 0, 0), name
        assert summary["audited"] is True
        platform = scenario["platform"]
        assert platform["items_processed"] == summary["items"], name  # the platform counted each item once
        assert platform["run_time"]["count"] == platform["tasks"] > 0
        assert summary["peak_workers"] >= 2  # the default and bulk pools, from their heartbeats
    assert "correctness: PASS" in (tmp_path / "out" / "report.html").read_text()
