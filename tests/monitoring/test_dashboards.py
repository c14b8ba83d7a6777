"""The Grafana dashboards: generated from charts/celerity/hack/dashboards.py and up to date, a datasource variable
and namespace/pool variables on each, every query filtered by them, and the panels the issue and celery-exporter's
mixin (both of its dashboards, panel by panel) call for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.charts.rendering import CHART_DIR
from tests.monitoring.promql import dashboards

CONFIGMAP_LIMIT = 262_144  # kubectl apply's annotation limit; a dashboard ConfigMap above it fails
DASHBOARDS = dashboards()
IDS = [p.stem for p in DASHBOARDS]


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def _titles(dashboard: dict[str, Any]) -> set[str]:
    return {p["title"] for p in _panels(dashboard)}


def _by_uid(uid: str) -> dict[str, Any]:
    (found,) = (d for d in DASHBOARDS.values() if d["uid"] == uid)
    return found


def test_the_checked_in_json_is_what_the_generator_writes() -> None:
    generator = CHART_DIR / "hack" / "dashboards.py"
    result = subprocess.run([sys.executable, str(generator), "--check"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_the_five_dashboards_exist_with_unique_uids() -> None:
    assert {d["uid"] for d in DASHBOARDS.values()} == {
        "celerity-overview",
        "celerity-tasks",
        "celerity-autoscaling",
        "celerity-locks",
        "celerity-web",
    }


@pytest.mark.parametrize("path", DASHBOARDS, ids=IDS)
def test_each_is_small_enough_for_a_configmap(path: Path) -> None:
    assert path.stat().st_size < CONFIGMAP_LIMIT // 2


@pytest.mark.parametrize("path", DASHBOARDS, ids=IDS)
def test_datasource_namespace_and_pool_variables(path: Path) -> None:
    variables = {v["name"]: v for v in DASHBOARDS[path]["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["namespace"]["type"] == "query"
    assert variables["pool"]["multi"] is True
    assert variables["pool"]["includeAll"] is True
    assert variables["pool"]["allValue"] == ".*"  # also matches series without a pool label (web, locks in web)
    for name in ("namespace", "pool"):
        assert variables[name]["datasource"] == {"type": "prometheus", "uid": "${datasource}"}


@pytest.mark.parametrize("path", DASHBOARDS, ids=IDS)
def test_every_query_uses_the_datasource_variable_and_the_namespace(path: Path) -> None:
    dashboard = DASHBOARDS[path]
    for panel in _panels(dashboard):
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
            assert 'namespace="$namespace"' in target["expr"], (panel["title"], target["expr"])
    pool_filtered = [p for p in _panels(dashboard) if any('pool=~"$pool"' in t["expr"] for t in p["targets"])]
    assert pool_filtered, "no panel is filtered by pool"


@pytest.mark.parametrize("path", DASHBOARDS, ids=IDS)
def test_panels_fit_the_grid_and_have_unique_ids(path: Path) -> None:
    panels = DASHBOARDS[path]["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]


def test_overview_has_throughput_backlog_replicas_latency_and_failures() -> None:
    overview = _by_uid("celerity-overview")
    assert _titles(overview) >= {
        "Tasks finished by outcome",
        "Backlog per pool",
        "Replicas against desired",
        "Queue wait (publish to start)",
        "Run time",
        "Failure rate by pool",
    }
    for title in ("Queue wait (publish to start)", "Run time"):
        (panel,) = (p for p in _panels(overview) if p["title"] == title)
        assert [t["legendFormat"] for t in panel["targets"]] == ["p50", "p95", "p99"]


def test_autoscaling_shows_backlog_replicas_and_every_scale_decision() -> None:
    autoscaling = _by_uid("celerity-autoscaling")
    assert _titles(autoscaling) >= {"Backlog by state", "Replicas: current, desired, max", "Scale decisions"}
    annotations = [a for a in autoscaling["annotations"]["list"] if "expr" in a]
    assert any("celerity_operator_scale_events_total" in a["expr"] for a in annotations)


def test_locks_show_wait_percentiles_by_lock_and_deadlock_retries() -> None:
    titles = _titles(_by_uid("celerity-locks"))
    assert titles >= {"Lock wait p95 by lock", "Lock wait p99 by lock", "Deadlock and serialization retries"}


def test_web_shows_request_rate_latency_and_errors() -> None:
    titles = _titles(_by_uid("celerity-web"))
    assert titles >= {"Requests by status", "Latency", "Server error ratio", "Errors by route"}


# danihodovic/celery-exporter's mixin, celery-mixin/dashboards/*.libsonnet: (its dashboard, its panel) -> (ours, the
# panel showing the same thing). Pie charts of a fixed 6 h window become time series or stats over the time range.
MIXIN_PANELS = {
    ("celery-tasks-overview", "Workers"): ("celerity-overview", "Live workers"),
    ("celery-tasks-overview", "Workers Active Tasks"): ("celerity-overview", "Tasks running"),
    ("celery-tasks-overview", "Queues"): ("celerity-overview", "Queues"),
    ("celery-tasks-overview", "Tasks received by workers [1w]"): ("celerity-overview", "Tasks received"),
    ("celery-tasks-overview", "Tasks Success Rate [1w]"): ("celerity-overview", "Task success rate"),
    ("celery-tasks-overview", "Average Runtime for Tasks [1w]"): ("celerity-overview", "Mean run time"),
    ("celery-tasks-overview", "Queue Length by Queue"): ("celerity-overview", "Queue depth and unacknowledged"),
    ("celery-tasks-overview", "Task Rate by Name [6h]"): ("celerity-overview", "Task rate by task"),
    ("celery-tasks-overview", "Task Success vs Failure [6h]"): ("celerity-overview", "Tasks finished by outcome"),
    ("celery-tasks-overview", "Task States [6h]"): ("celerity-overview", "Task events"),
    ("celery-tasks-overview", "Queue Length"): ("celerity-overview", "Queue depth and unacknowledged"),
    ("celery-tasks-overview", "Task Stats"): ("celerity-overview", "Task stats"),
    ("celery-tasks-overview", "Tasks Completed"): ("celerity-overview", "Tasks finished by outcome"),
    ("celery-tasks-overview", "Tasks Runtime"): ("celerity-overview", "Run time"),
    ("celery-tasks-overview", "Top Failed Tasks [1w]"): ("celerity-overview", "Top failing tasks"),
    ("celery-tasks-overview", "Top Task Exceptions [1w]"): ("celerity-overview", "Top exceptions"),
    ("celery-tasks-overview", "Top Average Task Runtime [1w]"): ("celerity-overview", "Slowest tasks"),
    ("celery-tasks-by-task", "Task Rate by Queue [6h]"): ("celerity-tasks", "Task rate by queue"),
    ("celery-tasks-by-task", "Task Rate by Name [6h]"): ("celerity-tasks", "Task rate by task"),
    ("celery-tasks-by-task", "Task Success vs Failure [6h]"): ("celerity-tasks", "Task outcomes"),
    ("celery-tasks-by-task", "Task States [6h]"): ("celerity-tasks", "Task events"),
    ("celery-tasks-by-task", "Task Stats [1w]"): ("celerity-tasks", "Task stats"),
    ("celery-tasks-by-task", "Task Exceptions [1w]"): ("celerity-tasks", "Task exceptions"),
    ("celery-tasks-by-task", "Task Events"): ("celerity-tasks", "Task events"),
    ("celery-tasks-by-task", "Task Exceptions by Type"): ("celerity-tasks", "Task exceptions by type"),
    ("celery-tasks-by-task", "Task Success Rate"): ("celerity-tasks", "Task success rate"),
    ("celery-tasks-by-task", "Tasks Runtime"): ("celerity-tasks", "Task run time"),
}


@pytest.mark.parametrize(("mixin", "ours"), MIXIN_PANELS.items(), ids=[f"{d}/{p}" for d, p in MIXIN_PANELS])
def test_covers_the_celery_exporter_mixin_panel(mixin: tuple[str, str], ours: tuple[str, str]) -> None:
    uid, title = ours
    assert title in _titles(_by_uid(uid)), f"{mixin} has no counterpart: {title} missing from {uid}"


def test_the_tasks_dashboard_repeats_a_row_per_task_and_filters_every_query_by_it() -> None:
    tasks = _by_uid("celerity-tasks")
    variables = {v["name"]: v for v in tasks["templating"]["list"]}
    assert variables["task"]["multi"] is True
    assert variables["task"]["includeAll"] is True
    assert 'pool=~"$pool"' in variables["task"]["query"]["query"]
    (repeated,) = [p for p in tasks["panels"] if p["type"] == "row" and p.get("repeat")]
    assert repeated["repeat"] == "task"
    for panel in _panels(tasks):
        for target in panel["targets"]:
            assert 'task=~"$task"' in target["expr"] or 'name=~"$task"' in target["expr"], panel["title"]


def test_task_stats_tables_merge_one_column_per_outcome() -> None:
    for uid in ("celerity-overview", "celerity-tasks"):
        (panel,) = (p for p in _panels(_by_uid(uid)) if p["title"] == "Task stats")
        assert [t["refId"] for t in panel["targets"]] == list("ABCDEF")
        assert all(t["instant"] and t["format"] == "table" for t in panel["targets"])
        assert panel["transformations"][0]["id"] == "merge"
        renamed = panel["transformations"][1]["options"]["renameByName"]
        assert set(renamed.values()) >= {"Success rate", "Succeeded", "Failed", "Retried", "Rejected", "Revoked"}
