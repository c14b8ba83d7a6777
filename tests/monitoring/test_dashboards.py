"""The Grafana dashboards: generated from charts/celerity/hack/dashboards.py and up to date, a datasource variable
and namespace/pool variables on each, every query filtered by them, and the panels the issue and celery-exporter's
mixin call for."""

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


def test_the_four_dashboards_exist_with_unique_uids() -> None:
    assert {d["uid"] for d in DASHBOARDS.values()} == {
        "celerity-overview",
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


def test_covers_the_celery_exporter_mixin_panels() -> None:
    """danihodovic/celery-exporter's mixin (celery-tasks-overview, celery-tasks-by-task), panel for panel."""
    mixin_to_ours = {
        "Workers": "Live workers",
        "Tasks Active": "Tasks running",
        "Tasks received by workers": "Task events",
        "Tasks Success Rate": "Task success rate",
        "Average Runtime for Tasks": "Slowest tasks",
        "Top Failed Tasks": "Top failing tasks",
        "Top Task Exceptions": "Top exceptions",
        "Top Average Task Runtime": "Slowest tasks",
        "Queue Length": "Queue depth and unacknowledged",
        "Tasks completed": "Tasks finished by outcome",
        "Tasks Runtime (p50/p95/p99)": "Run time",
    }
    titles = _titles(_by_uid("celerity-overview"))
    missing = {mixin: ours for mixin, ours in mixin_to_ours.items() if ours not in titles}
    assert not missing
