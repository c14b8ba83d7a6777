"""The Grafana dashboard model: panels laid out on the 24-column grid, the datasource, namespace and pool variables
every dashboard has, and the JSON Grafana loads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from queries import DS, NS


@dataclass
class Dashboard:
    uid: str
    title: str
    description: str
    namespace_from: str  # the metric whose `namespace` values fill the namespace variable
    panels: list[dict[str, Any]] = field(default_factory=list)
    annotations: list[dict[str, Any]] = field(default_factory=list)
    extra_variables: list[dict[str, Any]] = field(default_factory=list)  # after datasource, namespace and pool
    _x: int = 0
    _y: int = 0
    _row_h: int = 0

    def row(self, title: str, **extra: Any) -> None:
        self._newline()
        self.panels.append(
            {
                "type": "row",
                "title": title,
                "collapsed": False,
                "panels": [],
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": self._y},
                **extra,
            }
        )
        self._y += 1

    def panel(
        self,
        kind: str,
        title: str,
        description: str,
        targets: list[dict[str, Any]],
        *,
        w: int = 12,
        h: int = 8,
        unit: str = "short",
        **extra: Any,
    ) -> None:
        if self._x + w > 24:
            self._newline()
        panel: dict[str, Any] = {
            "type": kind,
            "title": title,
            "description": description,
            "datasource": DS,
            "gridPos": {"h": h, "w": w, "x": self._x, "y": self._y},
            "targets": [
                {
                    "refId": chr(ord("A") + n),
                    "datasource": DS,
                    "range": kind != "table",
                    "instant": kind == "table",
                    **({"format": "table"} if kind == "table" else {}),
                    **t,
                }
                for n, t in enumerate(targets)
            ],
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "options": _options(kind),
        }
        panel.update(extra)
        self.panels.append(panel)
        self._x += w
        self._row_h = max(self._row_h, h)

    def _newline(self) -> None:
        self._y += self._row_h
        self._x, self._row_h = 0, 0

    def render(self) -> dict[str, Any]:
        for n, panel in enumerate(self.panels, start=1):
            panel["id"] = n
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": ["celerity"],
            "timezone": "utc",
            "editable": True,
            "graphTooltip": 1,
            "refresh": "30s",
            "schemaVersion": 39,
            "version": 1,
            "time": {"from": "now-6h", "to": "now"},
            "links": [
                {
                    "title": "Celerity",
                    "type": "dashboards",
                    "tags": ["celerity"],
                    "asDropdown": True,
                    "includeVars": True,
                    "keepTime": True,
                }
            ],
            "annotations": {"list": [_builtin_annotation(), *self.annotations]},
            "templating": {"list": [*_variables(self.namespace_from), *self.extra_variables]},
            "panels": self.panels,
        }


def _options(kind: str) -> dict[str, Any]:
    if kind == "timeseries":
        return {
            "legend": {"displayMode": "table", "placement": "right", "calcs": ["lastNotNull", "max"]},
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
    if kind == "stat":
        return {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value",
            "graphMode": "area",
            "textMode": "auto",
        }
    if kind == "state-timeline":
        return {"showValue": "never", "mergeValues": True, "rowHeight": 0.8}
    return {"showHeader": True, "cellHeight": "sm"}


def _builtin_annotation() -> dict[str, Any]:
    return {
        "builtIn": 1,
        "datasource": {"type": "grafana", "uid": "-- Grafana --"},
        "enable": True,
        "hide": True,
        "iconColor": "rgba(0, 211, 255, 1)",
        "name": "Annotations & Alerts",
        "type": "dashboard",
    }


def _variables(namespace_from: str) -> list[dict[str, Any]]:
    namespace_query = f"label_values({namespace_from}, namespace)"
    # Every pool has a WorkerPool (a paused one when the operator does not scale it), so the operator knows them all,
    # including pools scaled to zero that no worker reports.
    pool_query = f"label_values(celerity_operator_replicas_max{{{NS}}}, pool)"
    return [
        {
            "name": "datasource",
            "label": "Data source",
            "type": "datasource",
            "query": "prometheus",
            "hide": 0,
            "refresh": 1,
            "regex": "",
            "current": {},
            "options": [],
        },
        {
            "name": "namespace",
            "label": "Namespace",
            "type": "query",
            "datasource": DS,
            "hide": 0,
            "query": {"query": namespace_query, "refId": "namespace"},
            "definition": namespace_query,
            "refresh": 2,
            "sort": 1,
            "multi": False,
            "includeAll": False,
            "current": {},
            "options": [],
        },
        {
            "name": "pool",
            "label": "Pool",
            "type": "query",
            "datasource": DS,
            "hide": 0,
            "query": {"query": pool_query, "refId": "pool"},
            "definition": pool_query,
            "refresh": 2,
            "sort": 1,
            "multi": True,
            "includeAll": True,
            "allValue": ".*",
            "current": {},
            "options": [],
        },
    ]
