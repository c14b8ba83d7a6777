"""What every dashboard queries with: the filters, query targets, quantiles, and the task statistics table."""

from __future__ import annotations

from typing import Any

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


def scale_annotation() -> dict[str, Any]:
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


OUTCOMES = ("succeeded", "failed", "retried", "rejected", "revoked")


def task_stats_targets(selector: str) -> list[dict[str, str]]:
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


def task_stats_transformations() -> list[dict[str, Any]]:
    columns = {"Value #A": "Success rate"} | {
        f"Value #{chr(ord('B') + n)}": outcome.capitalize() for n, outcome in enumerate(OUTCOMES)
    }
    return [
        {"id": "merge", "options": {}},
        {"id": "organize", "options": {"excludeByName": {"Time": True}, "renameByName": {"task": "Task", **columns}}},
    ]
