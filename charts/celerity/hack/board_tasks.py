"""The Tasks dashboard: one repeated row per task (celery-exporter's "By Task")."""

from __future__ import annotations

from typing import Any

from grafana import Dashboard
from queries import DS, NS, RI, SEL, q, quantiles, task_stats_targets, task_stats_transformations


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
        task_stats_targets(task),
        w=14,
        transformations=task_stats_transformations(),
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
