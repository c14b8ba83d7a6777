"""What every dashboard queries with: the filters, query targets, quantiles, the replica and Celery event series, and
the task statistics table."""

from __future__ import annotations

from typing import Any

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
NAMESPACE_FILTER = 'namespace="$namespace"'
POOL_FILTER = f'{NAMESPACE_FILTER}, pool=~"$pool"'  # the filter every pool-scoped query carries
RATE_INTERVAL = "$__rate_interval"
QUANTILES = (0.5, 0.95, 0.99)

# Celery's task life cycle, as celery-exporter names its counters (celery_task_<event>_total).
CELERY_TASK_EVENTS = ("sent", "received", "started", "succeeded", "failed", "retried", "rejected", "revoked")
OUTCOMES = ("succeeded", "failed", "retried", "rejected", "revoked")


def target(expr: str, legend: str = "") -> dict[str, str]:
    """A query target; the legend uses Grafana's {{label}} syntax."""
    return {"expr": expr, "legendFormat": legend} if legend else {"expr": expr}


def quantile(fraction: float, metric: str, selector: str, by: str = "") -> str:
    """One quantile of a histogram, aggregated over pods (and kept apart by `by` when given)."""
    group = f"{by}, le" if by else "le"
    return f"histogram_quantile({fraction}, sum by ({group}) (rate({metric}_bucket{{{selector}}}[{RATE_INTERVAL}])))"


def quantile_targets(metric: str, selector: str) -> list[dict[str, str]]:
    """p50/p95/p99 of a histogram, aggregated over pods."""
    return [target(quantile(fraction, metric, selector), f"p{int(fraction * 100)}") for fraction in QUANTILES]


def replica_targets(selector: str) -> list[dict[str, str]]:
    """Per pool: the Deployment's replicas, what the operator wants, and the WorkerPool's max."""
    return [
        target(f"max by (pool) (celerity_operator_replicas_{which}{{{selector}}})", f"{{{{pool}}}} {which}")
        for which in ("current", "desired", "max")
    ]


def task_event_targets(selector: str, events: tuple[str, ...] = CELERY_TASK_EVENTS) -> list[dict[str, str]]:
    """One rate per Celery task event, with celery-exporter's metric names."""
    return [target(f"sum(rate(celery_task_{event}_total{{{selector}}}[{RATE_INTERVAL}]))", event) for event in events]


def scale_annotation() -> dict[str, Any]:
    return {
        "name": "Scale decisions",
        "datasource": DATASOURCE,
        "enable": True,
        "iconColor": "purple",
        "expr": (
            "sum by (pool, direction, reason) "
            f"(increase(celerity_operator_scale_events_total{{{POOL_FILTER}}}[1m])) > 0"
        ),
        "step": "1m",
        "titleFormat": "{{pool}} scaled {{direction}}",
        "textFormat": "{{reason}}",
    }


def task_stats_targets(selector: str) -> list[dict[str, str]]:
    """Instant queries per task for one merged table: the success rate (A), then one column per outcome."""
    succeeded = f'sum by (task) (increase(celerity_tasks_total{{{selector}, outcome="succeeded"}}[$__range]))'
    done = f'sum by (task) (increase(celerity_tasks_total{{{selector}, outcome=~"succeeded|failed"}}[$__range]))'
    return [
        target(f"{succeeded} / {done}"),
        *(
            target(f'sum by (task) (increase(celerity_tasks_total{{{selector}, outcome="{outcome}"}}[$__range]))')
            for outcome in OUTCOMES
        ),
    ]


def task_stats_transformations() -> list[dict[str, Any]]:
    columns = {"Value #A": "Success rate"} | {
        f"Value #{chr(ord('B') + n)}": outcome.capitalize() for n, outcome in enumerate(OUTCOMES)
    }
    return [
        {"id": "merge", "options": {}},
        {"id": "organize", "options": {"excludeByName": {"Time": True}, "renameByName": {"task": "Task", **columns}}},
    ]
