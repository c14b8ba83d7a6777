"""The Tasks dashboard: one repeated row per task (celery-exporter's "By Task")."""

from __future__ import annotations

from .model import Dashboard
from .queries import (
    CELERY_TASK_EVENTS,
    POOL_FILTER,
    RATE_INTERVAL,
    quantile_targets,
    target,
    task_event_targets,
    task_stats_targets,
    task_stats_transformations,
)
from .variables import query_variable

TASK_FILTER = f'{POOL_FILTER}, task=~"$task"'
EXPORTER_TASK_FILTER = f'{POOL_FILTER}, name=~"$task"'  # celery-exporter's names call the task label `name`


def tasks() -> Dashboard:
    """Task by task, like celery-exporter's "Celery / Tasks / By Task": one repeated row per selected task."""
    d = Dashboard(
        "celerity-tasks",
        "Celerity / Tasks",
        "Every task on its own: outcomes, exceptions, success rate, run time and queue wait.",
        "celerity_tasks_total",
        extra_variables=[
            query_variable("task", "Task", f"label_values(celerity_tasks_total{{{POOL_FILTER}}}, task)", multi=True)
        ],
    )
    d.row("Summary")
    d.panel(
        "timeseries",
        "Task rate by queue",
        "Finished runs per second by queue, of the selected tasks.",
        [target(f"sum by (queue) (rate(celerity_tasks_total{{{TASK_FILTER}}}[{RATE_INTERVAL}]))", "{{queue}}")],
        unit="ops",
    )
    d.panel(
        "timeseries",
        "Task rate by task",
        "Finished runs per second of each selected task.",
        [target(f"sum by (task) (rate(celerity_tasks_total{{{TASK_FILTER}}}[{RATE_INTERVAL}]))", "{{task}}")],
        unit="ops",
    )
    d.row("$task", repeat="task")
    d.panel(
        "table",
        "Task stats",
        "Success rate and every outcome over the time range.",
        task_stats_targets(TASK_FILTER),
        w=14,
        transformations=task_stats_transformations(),
    )
    d.panel(
        "table",
        "Task exceptions",
        "Failures by exception class over the time range.",
        [target(f"sum by (exception) (increase(celery_task_failed_total{{{EXPORTER_TASK_FILTER}}}[$__range])) > 0")],
        w=10,
    )
    d.panel(
        "timeseries",
        "Task outcomes",
        "Finished runs per second by outcome.",
        [target(f"sum by (outcome) (rate(celerity_tasks_total{{{TASK_FILTER}}}[{RATE_INTERVAL}]))", "{{outcome}}")],
        unit="ops",
    )
    d.panel(
        "timeseries",
        "Task exceptions by type",
        "Failures per second by exception class.",
        [
            target(
                f"sum by (exception) (rate(celery_task_failed_total{{{EXPORTER_TASK_FILTER}}}[{RATE_INTERVAL}]))",
                "{{exception}}",
            )
        ],
        unit="ops",
    )
    d.panel(
        "timeseries",
        "Task success rate",
        "Succeeded / (succeeded + failed).",
        [
            target(
                f'sum(rate(celerity_tasks_total{{{TASK_FILTER}, outcome="succeeded"}}[{RATE_INTERVAL}])) / '
                f'sum(rate(celerity_tasks_total{{{TASK_FILTER}, outcome=~"succeeded|failed"}}[{RATE_INTERVAL}]))',
                "success rate",
            )
        ],
        unit="percentunit",
    )
    d.panel(
        "timeseries",
        "Task run time",
        "Start to finish of the task body.",
        quantile_targets("celerity_task_runtime_seconds", TASK_FILTER),
        unit="s",
    )
    d.panel(
        "timeseries",
        "Task queue wait",
        "Publish to start; excludes ETA.",
        quantile_targets("celerity_task_queue_wait_seconds", TASK_FILTER),
        unit="s",
    )
    d.panel(
        "timeseries",
        "Task events",
        "Celery's life cycle of the task (celery-exporter names).",
        # From receipt on: `sent` is counted by the publisher (the web service for API jobs), not by the task's pool.
        task_event_targets(EXPORTER_TASK_FILTER, events=CELERY_TASK_EVENTS[1:]),
        unit="ops",
    )
    return d
