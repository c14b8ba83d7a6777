"""Fleet gauges (broker and heartbeat values that every worker pod of a pool reports identically) are aggregated over
pods with `max`, never `sum`, in every dashboard panel, annotation and alert rule: a sum would multiply them by the
number of pods. Found by walking the parsed PromQL, so nesting (`sum(max by (pool) (...))`) is judged correctly."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import promql_parser
import pytest

from tests.monitoring.promql import dashboards, documented_metric_names, grafana_to_promql, rule_groups

# docs/metrics.md, "Broker and fleet gauges": computed at scrape time by every worker parent from Redis.
FLEET_GAUGES = {
    "celerity_queue_depth",
    "celerity_queue_unacked",
    "celerity_workers_alive",
    "celery_queue_length",
    "celery_active_consumer_count",
    "celery_active_worker_count",
    "celery_active_process_count",
}


def nearest_aggregations(expr: str) -> list[tuple[str, str | None]]:
    """(fleet gauge, the operator of the closest aggregation around it, or None) for each selector in `expr`."""
    stack: list[Any] = []
    found: list[tuple[str, str | None]] = []

    def enter(node: Any, *_: Any) -> bool:
        if isinstance(node, promql_parser.VectorSelector) and node.name in FLEET_GAUGES:
            around = next((n for n in reversed(stack) if isinstance(n, promql_parser.AggregateExpr)), None)
            found.append((node.name, None if around is None else str(around.op)))
        stack.append(node)
        return True

    def leave(node: Any, *_: Any) -> bool:
        stack.pop()
        return True

    promql_parser.walk(promql_parser.parse(expr), enter, leave)
    return found


def _queries() -> Iterator[tuple[str, str]]:
    """(where, PromQL) of every panel target, annotation and alert rule."""
    for path, dashboard in dashboards().items():
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                yield f"{path.name}: {panel['title']}", grafana_to_promql(target["expr"])
        for annotation in dashboard["annotations"]["list"]:
            if annotation.get("expr"):
                yield f"{path.name}: annotation {annotation['name']}", grafana_to_promql(annotation["expr"])
    for group in rule_groups():
        for rule in group["rules"]:
            yield f"alert {rule['alert']}", rule["expr"]


def test_the_fleet_gauges_are_documented_gauges() -> None:
    documented = documented_metric_names()
    assert {name: documented.get(name) for name in FLEET_GAUGES} == dict.fromkeys(FLEET_GAUGES, "gauge")


def test_fleet_gauges_are_aggregated_with_max_everywhere() -> None:
    uses = [(where, gauge, op) for where, expr in _queries() for gauge, op in nearest_aggregations(expr)]
    assert uses, "no dashboard or rule reads a fleet gauge"
    wrong = [use for use in uses if use[2] != "max"]
    assert not wrong, f"fleet gauges summed or left unaggregated: {wrong}"


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("sum(max by (pool) (celerity_workers_alive))", [("celerity_workers_alive", "max")]),
        ("sum by (queue) (celerity_queue_depth)", [("celerity_queue_depth", "sum")]),
        ("celerity_queue_depth > 100", [("celerity_queue_depth", None)]),
        ("max(celerity_queue_depth) / sum(celerity_worker_tasks_active)", [("celerity_queue_depth", "max")]),
    ],
)
def test_the_walk_finds_the_closest_aggregation(expr: str, expected: list[tuple[str, str | None]]) -> None:
    assert nearest_aggregations(expr) == expected
