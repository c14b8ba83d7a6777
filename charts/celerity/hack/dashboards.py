"""Generates charts/celerity/dashboards/*.json, the Grafana dashboards the chart ships as ConfigMaps.

    .venv/bin/python charts/celerity/hack/dashboards.py          # rewrite the JSON files
    .venv/bin/python charts/celerity/hack/dashboards.py --check  # exit 1 if a checked-in file differs

The JSON is the artifact (checked in, loaded as-is by the chart); this file keeps the five dashboards consistent:
one datasource variable, namespace and pool variables on every dashboard, every query filtered by them, and metric
names only from docs/metrics.md (tests/monitoring checks that by parsing every expression).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "dashboards"
DS = {"type": "prometheus", "uid": "${datasource}"}
SEL = 'namespace="$namespace", pool=~"$pool"'  # the filter every pool-scoped query carries
NS = 'namespace="$namespace"'
RI = "$__rate_interval"
PCT = (0.5, 0.95, 0.99)


def q(expr: str, legend: str = "") -> dict[str, str]:
    """A query target; the legend uses Grafana's {{label}} syntax."""
    return {"expr": expr, "legendFormat": legend} if legend else {"expr": expr}


def quantiles(metric: str, selector: str, by: str = "", legend: str = "p{q}") -> list[dict[str, str]]:
    """p50/p95/p99 of a histogram, aggregated over pods (and over `by` when given)."""
    group = f"{by}, le" if by else "le"
    return [
        q(
            f"histogram_quantile({p}, sum by ({group}) (rate({metric}_bucket{{{selector}}}[{RI}])))",
            legend.format(q=int(p * 100)),
        )
        for p in PCT
    ]


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


def _scale_annotation() -> dict[str, Any]:
    return {
        "name": "Scale decisions",
        "datasource": DS,
        "enable": True,
        "iconColor": "purple",
        "expr": f"sum by (pool, direction, reason) (increase(celerity_operator_scale_events_total{{{SEL}}}[1m])) > 0",
        "step": "1m",
        "titleFormat": "{{pool}} scaled {{direction}}",
        "textFormat": "{{reason}}",
    }


def overview() -> Dashboard:
    d = Dashboard(
        "celerity-overview",
        "Celerity / Overview",
        "Throughput, backlog, replicas, latency and failures of every worker pool.",
        "celerity_tasks_total",
        annotations=[_scale_annotation()],
    )
    d.row("Summary")
    d.panel(
        "stat",
        "Live workers",
        "Workers whose heartbeat is fresh (every worker reports all pools: max, not sum).",
        [q(f"sum(max by (pool) (celerity_workers_alive{{{SEL}}}))")],
        w=4,
        h=4,
    )
    d.panel(
        "stat",
        "Tasks running",
        "Tasks executing now.",
        [q(f"sum(celerity_worker_tasks_active{{{SEL}}})")],
        w=4,
        h=4,
    )
    d.panel(
        "stat",
        "Tasks waiting",
        "Waiting messages of the selected pools, as the operator measures them.",
        [q(f'sum(celerity_operator_backlog_tasks{{{SEL}, state="waiting"}})')],
        w=4,
        h=4,
    )
    d.panel(
        "stat",
        "Tasks finished",
        "Finished tasks in the time range, every outcome.",
        [q(f"sum(increase(celerity_tasks_total{{{SEL}}}[$__range]))")],
        w=4,
        h=4,
    )
    d.panel(
        "stat",
        "Task success rate",
        "Succeeded / (succeeded + failed) over the time range.",
        [
            q(
                f'sum(increase(celerity_tasks_total{{{SEL}, outcome="succeeded"}}[$__range])) / '
                f'sum(increase(celerity_tasks_total{{{SEL}, outcome=~"succeeded|failed"}}[$__range]))'
            )
        ],
        w=4,
        h=4,
        unit="percentunit",
    )
    d.panel(
        "stat",
        "Jobs finished",
        "Jobs that reached a final status in the time range.",
        [q(f"sum(increase(celerity_jobs_total{{{SEL}}}[$__range]))")],
        w=4,
        h=4,
    )
    d.panel(
        "stat",
        "Queues",
        "Queues the selected pools' workers report (each pod reports its pool's queues: max, not sum).",
        [q(f"count(max by (queue) (celerity_queue_depth{{{SEL}}}))")],
        w=8,
        h=4,
    )
    d.panel(
        "stat",
        "Tasks received",
        "Tasks workers received in the time range (celery-exporter name).",
        [q(f"sum(increase(celery_task_received_total{{{SEL}}}[$__range]))")],
        w=8,
        h=4,
    )
    d.panel(
        "stat",
        "Mean run time",
        "Mean run time of every task in the time range.",
        [
            q(
                f"sum(rate(celerity_task_runtime_seconds_sum{{{SEL}}}[$__range])) / "
                f"sum(rate(celerity_task_runtime_seconds_count{{{SEL}}}[$__range]))"
            )
        ],
        w=8,
        h=4,
        unit="s",
    )

    d.row("Throughput and failures")
    d.panel(
        "timeseries",
        "Tasks finished by outcome",
        "Finished tasks per second: succeeded, failed, retried, ...",
        [q(f"sum by (outcome) (rate(celerity_tasks_total{{{SEL}}}[{RI}]))", "{{outcome}}")],
        unit="ops",
    )
    d.panel(
        "timeseries",
        "Failure rate by pool",
        "Failed / (succeeded + failed) per pool.",
        [
            q(
                f'sum by (pool) (rate(celerity_tasks_total{{{SEL}, outcome="failed"}}[{RI}])) / '
                f'sum by (pool) (rate(celerity_tasks_total{{{SEL}, outcome=~"succeeded|failed"}}[{RI}]))',
                "{{pool}}",
            )
        ],
        unit="percentunit",
    )
    d.panel(
        "timeseries",
        "Items processed",
        "Items whose outcome was recorded, per second, by workload.",
        [q(f"sum by (workload) (rate(celerity_items_processed_total{{{SEL}}}[{RI}]))", "{{workload}}")],
        unit="ops",
    )
    d.panel(
        "timeseries",
        "Jobs finished by status",
        "Jobs per second by workload and final status.",
        [q(f"sum by (workload, status) (rate(celerity_jobs_total{{{SEL}}}[{RI}]))", "{{workload}} {{status}}")],
        unit="ops",
    )

    d.row("Pools")
    d.panel(
        "timeseries",
        "Backlog per pool",
        "Waiting, reserved (prefetched) and running tasks per pool.",
        [q(f"sum by (pool, state) (celerity_operator_backlog_tasks{{{SEL}}})", "{{pool}} {{state}}")],
    )
    d.panel(
        "timeseries",
        "Replicas against desired",
        "The Deployment's replicas, what the operator wants, the max.",
        [
            q(f"max by (pool) (celerity_operator_replicas_current{{{SEL}}})", "{{pool}} current"),
            q(f"max by (pool) (celerity_operator_replicas_desired{{{SEL}}})", "{{pool}} desired"),
            q(f"max by (pool) (celerity_operator_replicas_max{{{SEL}}})", "{{pool}} max"),
        ],
    )
    d.panel(
        "timeseries",
        "Queue depth and unacknowledged",
        "Per queue, read from Redis by the workers at scrape time.",
        [
            q(f"max by (queue) (celerity_queue_depth{{{SEL}}})", "{{queue}} waiting"),
            q(f"max by (queue) (celerity_queue_unacked{{{SEL}}})", "{{queue}} unacked"),
        ],
    )
    d.panel(
        "timeseries",
        "Busy against capacity",
        "Tasks running and worker processes available, per queue.",
        [
            q(f"sum by (queue) (celerity_worker_tasks_active{{{SEL}}})", "{{queue}} running"),
            q(f"max by (queue_name) (celery_active_process_count{{{SEL}}})", "{{queue_name}} processes"),
        ],
    )

    d.row("Latency")
    d.panel(
        "timeseries",
        "Queue wait (publish to start)",
        "From publish to the start of the task; excludes ETA.",
        quantiles("celerity_task_queue_wait_seconds", SEL),
        unit="s",
    )
    d.panel(
        "timeseries",
        "Run time",
        "Start to finish of the task body.",
        quantiles("celerity_task_runtime_seconds", SEL),
        unit="s",
    )
    d.panel(
        "timeseries",
        "Queue wait p95 by pool",
        "How long work waits in each pool.",
        [
            q(
                f"histogram_quantile(0.95, sum by (pool, le) "
                f"(rate(celerity_task_queue_wait_seconds_bucket{{{SEL}}}[{RI}])))",
                "{{pool}}",
            )
        ],
        unit="s",
    )
    d.panel(
        "timeseries",
        "Job duration",
        "Job created (API) to job finished.",
        quantiles("celerity_job_duration_seconds", SEL),
        unit="s",
    )

    d.row("Tasks")
    d.panel(
        "table",
        "Task stats",
        "Per task over the time range: success rate and every outcome.",
        _task_stats_targets(SEL),
        w=24,
        transformations=_task_stats_transformations(),
    )
    d.panel(
        "timeseries",
        "Task rate by task",
        "Finished tasks per second, the 10 busiest tasks.",
        [q(f"topk(10, sum by (task) (rate(celerity_tasks_total{{{SEL}}}[{RI}])))", "{{task}}")],
        unit="ops",
    )
    d.panel(
        "timeseries",
        "Task rate by queue",
        "Finished tasks per second by queue.",
        [q(f"sum by (queue) (rate(celerity_tasks_total{{{SEL}}}[{RI}]))", "{{queue}}")],
        unit="ops",
    )
    d.panel(
        "table",
        "Top failing tasks",
        "Failures per task in the time range.",
        [q(f'topk(10, sum by (task) (increase(celerity_tasks_total{{{SEL}, outcome="failed"}}[$__range])) > 0)')],
        w=8,
    )
    d.panel(
        "table",
        "Top exceptions",
        "Failures per exception class in the time range (celery-exporter name).",
        [q(f"topk(10, sum by (exception) (increase(celery_task_failed_total{{{SEL}}}[$__range])) > 0)")],
        w=8,
    )
    d.panel(
        "table",
        "Slowest tasks",
        "Mean run time per task over the time range.",
        [
            q(
                f"topk(10, sum by (task) (rate(celerity_task_runtime_seconds_sum{{{SEL}}}[$__range])) / "
                f"sum by (task) (rate(celerity_task_runtime_seconds_count{{{SEL}}}[$__range])))"
            )
        ],
        w=8,
        unit="s",
    )
    d.panel(
        "timeseries",
        "Task events",
        "Celery's task life cycle, with celery-exporter's metric names.",
        [
            q(f"sum(rate({name}{{{SEL}}}[{RI}]))", label)
            for name, label in [
                ("celery_task_sent_total", "sent"),
                ("celery_task_received_total", "received"),
                ("celery_task_started_total", "started"),
                ("celery_task_succeeded_total", "succeeded"),
                ("celery_task_failed_total", "failed"),
                ("celery_task_retried_total", "retried"),
                ("celery_task_rejected_total", "rejected"),
                ("celery_task_revoked_total", "revoked"),
            ]
        ],
        w=24,
        unit="ops",
    )
    return d


def autoscaling() -> Dashboard:
    d = Dashboard(
        "celerity-autoscaling",
        "Celerity / Autoscaling",
        "Backlog, replicas and every scale decision the operator made.",
        "celerity_operator_replicas_max",
        annotations=[_scale_annotation()],
    )
    d.row("Per pool")
    d.panel(
        "timeseries",
        "$pool: backlog and replicas",
        "Waiting and in-flight tasks (left) against current and desired replicas (right).",
        [
            q(f'sum(celerity_operator_backlog_tasks{{{NS}, pool=~"$pool", state="waiting"}})', "waiting"),
            q(f'sum(celerity_operator_backlog_tasks{{{NS}, pool=~"$pool", state=~"reserved|running"}})', "in flight"),
            q(f'max(celerity_operator_replicas_current{{{NS}, pool=~"$pool"}})', "replicas"),
            q(f'max(celerity_operator_replicas_desired{{{NS}, pool=~"$pool"}})', "desired"),
        ],
        w=24,
        repeat="pool",
        repeatDirection="h",
        maxPerRow=2,
        fieldConfig={
            "defaults": {"unit": "short"},
            "overrides": [
                {
                    "matcher": {"id": "byRegexp", "options": "replicas|desired"},
                    "properties": [
                        {"id": "custom.axisPlacement", "value": "right"},
                        {"id": "custom.lineInterpolation", "value": "stepAfter"},
                    ],
                }
            ],
        },
    )
    d.row("Decisions")
    d.panel(
        "timeseries",
        "Scale decisions",
        "Every applied decision, by pool, direction and reason.",
        [
            q(
                f"sum by (pool, direction, reason) (increase(celerity_operator_scale_events_total{{{SEL}}}[{RI}]))",
                "{{pool}} {{direction}} ({{reason}})",
            )
        ],
        fieldConfig={"defaults": {"unit": "short", "custom": {"drawStyle": "bars"}}, "overrides": []},
    )
    d.panel(
        "timeseries",
        "Replicas: current, desired, max",
        "Per pool.",
        [
            q(f"max by (pool) (celerity_operator_replicas_current{{{SEL}}})", "{{pool}} current"),
            q(f"max by (pool) (celerity_operator_replicas_desired{{{SEL}}})", "{{pool}} desired"),
            q(f"max by (pool) (celerity_operator_replicas_max{{{SEL}}})", "{{pool}} max"),
        ],
    )
    d.panel(
        "timeseries",
        "Backlog by state",
        "Waiting, reserved and running tasks per pool.",
        [q(f"sum by (pool, state) (celerity_operator_backlog_tasks{{{SEL}}})", "{{pool}} {{state}}")],
    )
    d.panel(
        "timeseries",
        "Backlog per replica",
        "Waiting and reserved tasks per current replica.",
        [
            q(
                f'sum by (pool) (celerity_operator_backlog_tasks{{{SEL}, state=~"waiting|reserved"}}) / '
                f"clamp_min(max by (pool) (celerity_operator_replicas_current{{{SEL}}}), 1)",
                "{{pool}}",
            )
        ],
    )
    d.panel(
        "state-timeline",
        "Pool conditions",
        "Ready, AtMaxReplicas and ProbeFailed over time.",
        [q(f"max by (pool, condition) (celerity_operator_pool_condition{{{SEL}}})", "{{pool}} {{condition}}")],
        w=24,
    )
    d.row("Effect and operator health")
    d.panel(
        "timeseries",
        "Live workers by pool",
        "Workers with a fresh heartbeat.",
        [q(f"max by (pool) (celerity_workers_alive{{{SEL}}})", "{{pool}}")],
        w=8,
    )
    d.panel(
        "timeseries",
        "Queue wait p95 by pool",
        "What scaling is for: how long work waits.",
        [
            q(
                f"histogram_quantile(0.95, sum by (pool, le) "
                f"(rate(celerity_task_queue_wait_seconds_bucket{{{SEL}}}[{RI}])))",
                "{{pool}}",
            )
        ],
        w=8,
        unit="s",
    )
    d.panel(
        "timeseries",
        "Probe duration",
        "One Redis round trip per pool and poll.",
        quantiles("celerity_operator_probe_duration_seconds", SEL),
        w=8,
        unit="s",
    )
    d.panel(
        "timeseries",
        "Probe and reconcile errors",
        "Failed probes and reconciles that raised, per second.",
        [
            q(f"sum by (pool) (rate(celerity_operator_probe_errors_total{{{SEL}}}[{RI}]))", "{{pool}} probe"),
            q(f"sum by (pool) (rate(celerity_operator_reconcile_errors_total{{{SEL}}}[{RI}]))", "{{pool}} reconcile"),
        ],
        w=24,
        unit="ops",
    )
    return d


OUTCOMES = ("succeeded", "failed", "retried", "rejected", "revoked")


def _task_stats_targets(selector: str) -> list[dict[str, str]]:
    """Instant queries per task for one merged table: the success rate (A), then one column per outcome."""
    ok = f'sum by (task) (increase(celerity_tasks_total{{{selector}, outcome="succeeded"}}[$__range]))'
    done = f'sum by (task) (increase(celerity_tasks_total{{{selector}, outcome=~"succeeded|failed"}}[$__range]))'
    return [
        q(f"{ok} / {done}"),
        *(
            q(f'sum by (task) (increase(celerity_tasks_total{{{selector}, outcome="{outcome}"}}[$__range]))')
            for outcome in OUTCOMES
        ),
    ]


def _task_stats_transformations() -> list[dict[str, Any]]:
    columns = {"Value #A": "Success rate"} | {
        f"Value #{chr(ord('B') + n)}": outcome.capitalize() for n, outcome in enumerate(OUTCOMES)
    }
    return [
        {"id": "merge", "options": {}},
        {"id": "organize", "options": {"excludeByName": {"Time": True}, "renameByName": {"task": "Task", **columns}}},
    ]


def _task_variable() -> dict[str, Any]:
    query = f'label_values(celerity_tasks_total{{{NS}, pool=~"$pool"}}, task)'
    return {
        "name": "task",
        "label": "Task",
        "type": "query",
        "datasource": DS,
        "hide": 0,
        "query": {"query": query, "refId": "task"},
        "definition": query,
        "refresh": 2,
        "sort": 1,
        "multi": True,
        "includeAll": True,
        "allValue": ".*",
        "current": {},
        "options": [],
    }


def tasks() -> Dashboard:
    """Task by task, like celery-exporter's "Celery / Tasks / By Task": one repeated row per selected task."""
    d = Dashboard(
        "celerity-tasks",
        "Celerity / Tasks",
        "Every task on its own: outcomes, exceptions, success rate, run time and queue wait.",
        "celerity_tasks_total",
        extra_variables=[_task_variable()],
    )
    task = f'{SEL}, task=~"$task"'
    name = f'{SEL}, name=~"$task"'  # celery-exporter's names call the task label `name`
    d.row("Summary")
    d.panel(
        "timeseries",
        "Task rate by queue",
        "Finished runs per second by queue, of the selected tasks.",
        [q(f"sum by (queue) (rate(celerity_tasks_total{{{task}}}[{RI}]))", "{{queue}}")],
        unit="ops",
    )
    d.panel(
        "timeseries",
        "Task rate by task",
        "Finished runs per second of each selected task.",
        [q(f"sum by (task) (rate(celerity_tasks_total{{{task}}}[{RI}]))", "{{task}}")],
        unit="ops",
    )
    d.row("$task", repeat="task")
    d.panel(
        "table",
        "Task stats",
        "Success rate and every outcome over the time range.",
        _task_stats_targets(task),
        w=14,
        transformations=_task_stats_transformations(),
    )
    d.panel(
        "table",
        "Task exceptions",
        "Failures by exception class over the time range.",
        [q(f"sum by (exception) (increase(celery_task_failed_total{{{name}}}[$__range])) > 0")],
        w=10,
    )
    d.panel(
        "timeseries",
        "Task outcomes",
        "Finished runs per second by outcome.",
        [q(f"sum by (outcome) (rate(celerity_tasks_total{{{task}}}[{RI}]))", "{{outcome}}")],
        unit="ops",
    )
    d.panel(
        "timeseries",
        "Task exceptions by type",
        "Failures per second by exception class.",
        [q(f"sum by (exception) (rate(celery_task_failed_total{{{name}}}[{RI}]))", "{{exception}}")],
        unit="ops",
    )
    d.panel(
        "timeseries",
        "Task success rate",
        "Succeeded / (succeeded + failed).",
        [
            q(
                f'sum(rate(celerity_tasks_total{{{task}, outcome="succeeded"}}[{RI}])) / '
                f'sum(rate(celerity_tasks_total{{{task}, outcome=~"succeeded|failed"}}[{RI}]))',
                "success rate",
            )
        ],
        unit="percentunit",
    )
    d.panel(
        "timeseries",
        "Task run time",
        "Start to finish of the task body.",
        quantiles("celerity_task_runtime_seconds", task),
        unit="s",
    )
    d.panel(
        "timeseries",
        "Task queue wait",
        "Publish to start; excludes ETA.",
        quantiles("celerity_task_queue_wait_seconds", task),
        unit="s",
    )
    d.panel(
        "timeseries",
        "Task events",
        "Celery's life cycle of the task (celery-exporter names).",
        [
            q(f"sum(rate({metric}{{{name}}}[{RI}]))", label)
            for metric, label in [
                ("celery_task_received_total", "received"),
                ("celery_task_started_total", "started"),
                ("celery_task_succeeded_total", "succeeded"),
                ("celery_task_failed_total", "failed"),
                ("celery_task_retried_total", "retried"),
                ("celery_task_rejected_total", "rejected"),
                ("celery_task_revoked_total", "revoked"),
            ]
        ],
        unit="ops",
    )
    return d


def locks() -> Dashboard:
    d = Dashboard(
        "celerity-locks",
        "Celerity / Locks",
        "Time waiting for the platform's locks, and transactions retried after deadlocks.",
        "celerity_lock_acquired_total",
    )
    d.row("Lock wait")
    for p in (0.95, 0.99):
        d.panel(
            "timeseries",
            f"Lock wait p{int(p * 100)} by lock",
            "Time waiting to acquire, by lock.",
            [
                q(
                    f"histogram_quantile({p}, sum by (lock, le) "
                    f"(rate(celerity_lock_wait_seconds_bucket{{{SEL}}}[{RI}])))",
                    "{{lock}}",
                )
            ],
            unit="s",
        )
    d.panel(
        "timeseries",
        "Mean lock wait by lock",
        "Total wait / acquisitions.",
        [
            q(
                f"sum by (lock) (rate(celerity_lock_wait_seconds_sum{{{SEL}}}[{RI}])) / "
                f"sum by (lock) (rate(celerity_lock_wait_seconds_count{{{SEL}}}[{RI}]))",
                "{{lock}}",
            )
        ],
        unit="s",
    )
    d.panel(
        "timeseries",
        "Locks acquired",
        "Acquisitions per second, by lock.",
        [q(f"sum by (lock) (rate(celerity_lock_acquired_total{{{SEL}}}[{RI}]))", "{{lock}}")],
        unit="ops",
    )
    d.row("Retries")
    d.panel(
        "timeseries",
        "Deadlock and serialization retries",
        "Transactions retried, by lock and reason.",
        [q(f"sum by (lock, reason) (rate(celerity_db_retries_total{{{SEL}}}[{RI}]))", "{{lock}} {{reason}}")],
        unit="ops",
    )
    d.panel(
        "timeseries",
        "Retries exhausted",
        "Transactions that failed after the last retry.",
        [q(f"sum by (lock, reason) (rate(celerity_db_retries_exhausted_total{{{SEL}}}[{RI}]))", "{{lock}} {{reason}}")],
        unit="ops",
    )
    d.panel(
        "timeseries",
        "Retries per acquisition",
        "Share of acquisitions that needed a retry.",
        [
            q(
                f"sum by (lock) (rate(celerity_db_retries_total{{{SEL}}}[{RI}])) / "
                f"sum by (lock) (rate(celerity_lock_acquired_total{{{SEL}}}[{RI}]))",
                "{{lock}}",
            )
        ],
        unit="percentunit",
    )
    d.panel(
        "table",
        "Retries in range",
        "Retries and exhausted retries per lock and reason in the time range.",
        [
            q(f"sum by (lock, reason) (increase(celerity_db_retries_total{{{SEL}}}[$__range]))"),
            q(f"sum by (lock, reason) (increase(celerity_db_retries_exhausted_total{{{SEL}}}[$__range]))"),
        ],
    )
    return d


def web() -> Dashboard:
    d = Dashboard(
        "celerity-web",
        "Celerity / Web",
        "The jobs API: request rate, latency and errors, and the pools it feeds.",
        "celerity_http_requests_total",
    )
    http = NS  # web metrics carry no pool: the pool filter applies to the pools panels only
    d.row("Summary")
    d.panel(
        "stat",
        "Requests per second",
        "All routes.",
        [q(f"sum(rate(celerity_http_requests_total{{{http}}}[{RI}]))")],
        w=8,
        h=4,
        unit="reqps",
    )
    d.panel(
        "stat",
        "Server errors",
        "Share of responses with a 5xx status.",
        [
            q(
                f'sum(rate(celerity_http_requests_total{{{http}, status=~"5.."}}[{RI}])) / '
                f"sum(rate(celerity_http_requests_total{{{http}}}[{RI}]))"
            )
        ],
        w=8,
        h=4,
        unit="percentunit",
    )
    d.panel(
        "stat",
        "Latency p95",
        "All routes.",
        [
            q(
                f"histogram_quantile(0.95, sum by (le) "
                f"(rate(celerity_http_request_duration_seconds_bucket{{{http}}}[{RI}])))"
            )
        ],
        w=8,
        h=4,
        unit="s",
    )
    d.row("Requests")
    d.panel(
        "timeseries",
        "Requests by status",
        "Responses per second by status code.",
        [q(f"sum by (status) (rate(celerity_http_requests_total{{{http}}}[{RI}]))", "{{status}}")],
        unit="reqps",
    )
    d.panel(
        "timeseries",
        "Requests by route",
        "Requests per second by method and URL pattern.",
        [q(f"sum by (method, route) (rate(celerity_http_requests_total{{{http}}}[{RI}]))", "{{method}} {{route}}")],
        unit="reqps",
    )
    d.panel(
        "timeseries",
        "Errors by route",
        "4xx and 5xx responses per second by route.",
        [
            q(
                f'sum by (route, status) (rate(celerity_http_requests_total{{{http}, status=~"[45].."}}[{RI}]))',
                "{{route}} {{status}}",
            )
        ],
        unit="reqps",
    )
    d.panel(
        "timeseries",
        "Server error ratio",
        "5xx / all responses.",
        [
            q(
                f'sum(rate(celerity_http_requests_total{{{http}, status=~"5.."}}[{RI}])) / '
                f"sum(rate(celerity_http_requests_total{{{http}}}[{RI}]))",
                "5xx",
            )
        ],
        unit="percentunit",
    )
    d.row("Latency")
    d.panel(
        "timeseries",
        "Latency",
        "Request latency over every route.",
        quantiles("celerity_http_request_duration_seconds", http),
        unit="s",
    )
    d.panel(
        "timeseries",
        "Latency p95 by route",
        "Per URL pattern.",
        [
            q(
                f"histogram_quantile(0.95, sum by (route, le) "
                f"(rate(celerity_http_request_duration_seconds_bucket{{{http}}}[{RI}])))",
                "{{route}}",
            )
        ],
        unit="s",
    )
    d.row("What the API feeds")
    d.panel(
        "timeseries",
        "Tasks published by queue",
        "Messages published per second (celery-exporter name).",
        [q(f"sum by (queue_name) (rate(celery_task_sent_total{{{http}}}[{RI}]))", "{{queue_name}}")],
        unit="ops",
    )
    d.panel(
        "timeseries",
        "Backlog of the pools",
        "Waiting tasks per pool.",
        [q(f'sum by (pool) (celerity_operator_backlog_tasks{{{SEL}, state="waiting"}})', "{{pool}}")],
    )
    return d


DASHBOARDS = {"overview": overview, "tasks": tasks, "autoscaling": autoscaling, "locks": locks, "web": web}


def rendered() -> dict[str, str]:
    return {f"{name}.json": json.dumps(build().render(), indent=2) + "\n" for name, build in DASHBOARDS.items()}


def main(argv: list[str]) -> int:
    stale = []
    for name, text in rendered().items():
        path = OUT / name
        if "--check" in argv:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(f"dashboards out of date: {', '.join(stale)}; run {Path(__file__).name}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
