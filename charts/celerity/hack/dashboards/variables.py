"""Dashboard variables: the datasource every panel queries, and query variables filled from label values."""

from __future__ import annotations

from typing import Any

from .queries import DATASOURCE, NAMESPACE_FILTER


def datasource_variable() -> dict[str, Any]:
    return {
        "name": "datasource",
        "label": "Data source",
        "type": "datasource",
        "query": "prometheus",
        "hide": 0,
        "refresh": 1,
        "regex": "",
        "current": {},
        "options": [],
    }


def query_variable(name: str, label: str, query: str, *, multi: bool) -> dict[str, Any]:
    """A variable refreshed on time-range change; a multi-value one offers "All", matching every value as `.*`."""
    variable: dict[str, Any] = {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        "hide": 0,
        "query": {"query": query, "refId": name},
        "definition": query,
        "refresh": 2,
        "sort": 1,
        "multi": multi,
        "includeAll": multi,
    }
    if multi:
        variable["allValue"] = ".*"
    return variable | {"current": {}, "options": []}


def standard_variables(namespace_from: str) -> list[dict[str, Any]]:
    """The datasource, namespace and pool variables every dashboard starts with."""
    # Every pool has a WorkerPool (a paused one when the operator does not scale it), so the operator knows them all,
    # including pools scaled to zero that no worker reports.
    pools = f"label_values(celerity_operator_replicas_max{{{NAMESPACE_FILTER}}}, pool)"
    return [
        datasource_variable(),
        query_variable("namespace", "Namespace", f"label_values({namespace_from}, namespace)", multi=False),
        query_variable("pool", "Pool", pools, multi=True),
    ]
