"""The Grafana dashboard model: panels laid out left to right on the 24-column grid, and the JSON Grafana loads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .queries import DATASOURCE, target
from .variables import standard_variables

GRID_WIDTH = 24


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
    _row_height: int = 0

    def row(self, title: str, **extra: Any) -> None:
        self._newline()
        self.panels.append(
            {
                "type": "row",
                "title": title,
                "collapsed": False,
                "panels": [],
                "gridPos": {"h": 1, "w": GRID_WIDTH, "x": 0, "y": self._y},
                **extra,
            }
        )
        self._y += 1

    def panel(
        self,
        kind: str,
        title: str,
        description: str,
        targets: list[dict[str, str]],
        *,
        w: int = 12,
        h: int = 8,
        unit: str = "short",
        **extra: Any,
    ) -> None:
        """A panel of `kind` (timeseries, stat, table, state-timeline) placed after the last one, on a new line when
        it does not fit; `extra` adds or replaces panel keys (repeat, fieldConfig, transformations)."""
        if self._x + w > GRID_WIDTH:
            self._newline()
        table = kind == "table"  # tables show one instant value per series; everything else a range
        panel: dict[str, Any] = {
            "type": kind,
            "title": title,
            "description": description,
            "datasource": DATASOURCE,
            "gridPos": {"h": h, "w": w, "x": self._x, "y": self._y},
            "targets": [
                {
                    "refId": chr(ord("A") + n),
                    "datasource": DATASOURCE,
                    "range": not table,
                    "instant": table,
                    **({"format": "table"} if table else {}),
                    **query,
                }
                for n, query in enumerate(targets)
            ],
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "options": _options(kind),
        }
        panel.update(extra)
        self.panels.append(panel)
        self._x += w
        self._row_height = max(self._row_height, h)

    def stat(self, title: str, description: str, expr: str, *, w: int, unit: str = "short") -> None:
        """A summary number: one query, one row of small tiles."""
        self.panel("stat", title, description, [target(expr)], w=w, h=4, unit=unit)

    def _newline(self) -> None:
        self._y += self._row_height
        self._x, self._row_height = 0, 0

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
            "templating": {"list": [*standard_variables(self.namespace_from), *self.extra_variables]},
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
