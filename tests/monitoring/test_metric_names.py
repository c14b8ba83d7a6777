"""Dashboards and alert rules query only metrics docs/metrics.md lists; found by parsing PromQL, never by grep."""

from __future__ import annotations

import pytest

from tests.monitoring.promql import (
    documented_metric_names,
    documented_series_names,
    grafana_to_promql,
    metric_names,
    referenced_metric_names,
)


def test_metrics_md_table_is_parsed() -> None:
    documented = documented_metric_names()
    assert documented["celerity_task_queue_wait_seconds"] == "histogram"
    assert documented["celerity_tasks_total"] == "counter"
    assert documented["celerity_operator_replicas_desired"] == "gauge"
    assert len(documented) >= 30


def test_every_dashboard_and_rule_file_references_metrics() -> None:
    referenced = referenced_metric_names()
    assert set(referenced) == {
        "charts/celerity/dashboards/overview.json",
        "charts/celerity/dashboards/tasks.json",
        "charts/celerity/dashboards/autoscaling.json",
        "charts/celerity/dashboards/locks.json",
        "charts/celerity/dashboards/web.json",
        "charts/celerity/templates/monitoring/prometheusrule.yaml",
    }
    assert all(referenced.values()), referenced


def test_every_referenced_metric_is_documented() -> None:
    documented = documented_series_names()
    undocumented = {source: sorted(names - documented) for source, names in referenced_metric_names().items()}
    assert not any(undocumented.values()), f"not in docs/metrics.md: {undocumented}"


def test_the_parser_finds_names_in_every_position() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le) (rate(a_seconds_bucket{namespace="$namespace"}[$__rate_interval])))'
        ' / on () group_left b_total + {__name__="c"} unless max_over_time(d[5m:1m])'
    )
    assert metric_names(grafana_to_promql(expr)) == {"a_seconds_bucket", "b_total", "c", "d"}


def test_invalid_promql_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"."):
        metric_names("sum(rate(foo[5m])")
