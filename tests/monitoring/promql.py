"""The metric names that the chart's dashboards and alert rules reference, found by parsing their PromQL.

`referenced_metric_names()` is the entry point the metrics contract test (tests/e2e/test_metrics_contract.py)
imports: it returns, per source file, every series name a dashboard panel, annotation, variable or alert rule
queries, parsed with promql_parser (never grepped); `referenced_selectors()` adds the label matchers of each query.
`documented_metric_names()` reads docs/metrics.md, the list they may use.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import promql_parser

from tests.charts.rendering import CHART_DIR, REPO_ROOT, render_chart

DASHBOARDS_DIR = CHART_DIR / "dashboards"
RULES_TEMPLATE = "templates/monitoring/prometheusrule.yaml"
METRICS_DOC = REPO_ROOT / "docs" / "metrics.md"

# Grafana's variables, replaced by values PromQL accepts before parsing.
_GRAFANA_VARIABLES = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1h",
    "${datasource}": "prometheus",
}
_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")
_LABEL_VALUES = re.compile(r"^\s*label_values\((?P<selector>.*),\s*(?P<label>[A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$")
_HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")
# What a template variable ($namespace, $task) becomes in a matcher's value, so that checks can tell it from a literal.
VARIABLE_VALUE = "x"


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str  # "=", "!=", "=~", "!~"
    value: str


@dataclass(frozen=True)
class Selector:
    """One vector selector of a query: `name{label op "value", ...}`."""

    name: str
    matchers: tuple[Matcher, ...]


_OPS = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}


def grafana_to_promql(expr: str) -> str:
    """Replace Grafana's interval variables by durations and template variables ($namespace) by VARIABLE_VALUE."""
    for variable, value in _GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return _VARIABLE.sub(VARIABLE_VALUE, expr)


def selectors(expr: str) -> set[Selector]:
    """Every vector selector of the expression, by parsing it (a parse error raises ValueError)."""
    found: set[Selector] = set()

    def visit(node: Any, *_: Any) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            matchers = [Matcher(m.name, _OPS[str(m.op).rpartition(".")[2]], m.value) for m in node.matchers.matchers]
            names = [m.value for m in matchers if m.label == "__name__"] or [node.name]
            rest = tuple(sorted((m for m in matchers if m.label != "__name__"), key=repr))
            found.update(Selector(name, rest) for name in names if name)
        return True

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


def metric_names(expr: str) -> set[str]:
    """Every series name the expression selects, by parsing it (a parse error raises ValueError)."""
    return {selector.name for selector in selectors(expr)}


def dashboard_expressions(dashboard: dict[str, Any]) -> Iterator[str]:
    """PromQL of every panel target (rows included), annotation and query variable, with Grafana's variables."""

    def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for panel in items:
            yield panel
            yield from panels(panel.get("panels", []))

    for panel in panels(dashboard.get("panels", [])):
        for target in panel.get("targets", []):
            if target.get("expr"):
                yield target["expr"]
    for annotation in dashboard.get("annotations", {}).get("list", []):
        if annotation.get("expr"):
            yield annotation["expr"]
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
        match = _LABEL_VALUES.match(query)
        yield match.group("selector") if match else query


def dashboards() -> dict[Path, dict[str, Any]]:
    return {path: json.loads(path.read_text()) for path in sorted(DASHBOARDS_DIR.glob("*.json"))}


def rule_groups(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The alert rule groups of the PrometheusRule the chart renders with the rules enabled."""
    values = {"monitoring": {"prometheusRule": {"enabled": True}}} if values is None else values
    (rule,) = render_chart(values, show_only=[RULES_TEMPLATE])
    return list(rule["spec"]["groups"])


def rule_expressions(groups: list[dict[str, Any]]) -> Iterator[str]:
    for group in groups:
        for rule in group["rules"]:
            yield rule["expr"]


def referenced_selectors() -> dict[str, set[Selector]]:
    """Source file (relative to the repository) -> the selectors of its queries; template variables in matcher values
    read VARIABLE_VALUE."""
    referenced: dict[str, set[Selector]] = {}
    for path, dashboard in dashboards().items():
        found = set().union(*(selectors(grafana_to_promql(e)) for e in dashboard_expressions(dashboard)))
        referenced[str(path.relative_to(REPO_ROOT))] = found
    rules = str((CHART_DIR / RULES_TEMPLATE).relative_to(REPO_ROOT))
    referenced[rules] = set().union(*(selectors(e) for e in rule_expressions(rule_groups())))
    return referenced


def referenced_metric_names() -> dict[str, set[str]]:
    """Source file (relative to the repository) -> the series names its queries reference, e.g.
    {"charts/celerity/dashboards/web.json": {"celerity_http_requests_total", ...}, ...}. Histograms appear as the
    series a scrape exposes (`…_bucket`, `…_sum`, `…_count`)."""
    return {source: {s.name for s in found} for source, found in referenced_selectors().items()}


def documented_metric_names() -> dict[str, str]:
    """docs/metrics.md's tables: metric name -> type (counter, gauge, histogram)."""
    row = re.compile(r"^\|\s*`(?P<name>[a-z_:][a-z0-9_:]*)`\s*\|\s*(?P<type>[a-z]+)")
    documented = {}
    for line in METRICS_DOC.read_text().splitlines():
        match = row.match(line)
        if match:
            documented[match.group("name")] = match.group("type")
    return documented


def documented_series_names() -> set[str]:
    """The series a scrape exposes for the documented metrics: a histogram is its _bucket, _sum and _count."""
    series = set()
    for name, kind in documented_metric_names().items():
        if kind == "histogram":
            series.update(name + suffix for suffix in _HISTOGRAM_SERIES)
        else:
            series.add(name)
    return series
