"""The Autoscaling dashboard: backlog, replicas and every scale decision over time."""

from __future__ import annotations

from .model import Dashboard
from .queries import (
    POOL_FILTER,
    RATE_INTERVAL,
    quantile,
    quantile_targets,
    replica_targets,
    scale_annotation,
    target,
)


def autoscaling() -> Dashboard:
    d = Dashboard(
        "celerity-autoscaling",
        "Celerity / Autoscaling",
        "Backlog, replicas and every scale decision the operator made.",
        "celerity_operator_replicas_max",
        annotations=[scale_annotation()],
    )
    d.row("Per pool")
    d.panel(
        "timeseries",
        "$pool: backlog and replicas",
        "Waiting and in-flight tasks (left) against current and desired replicas (right).",
        [
            target(f'sum(celerity_operator_backlog_tasks{{{POOL_FILTER}, state="waiting"}})', "waiting"),
            target(f'sum(celerity_operator_backlog_tasks{{{POOL_FILTER}, state=~"reserved|running"}})', "in flight"),
            target(f"max(celerity_operator_replicas_current{{{POOL_FILTER}}})", "replicas"),
            target(f"max(celerity_operator_replicas_desired{{{POOL_FILTER}}})", "desired"),
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
            target(
                "sum by (pool, direction, reason) "
                f"(increase(celerity_operator_scale_events_total{{{POOL_FILTER}}}[{RATE_INTERVAL}]))",
                "{{pool}} {{direction}} ({{reason}})",
            )
        ],
        fieldConfig={"defaults": {"unit": "short", "custom": {"drawStyle": "bars"}}, "overrides": []},
    )
    d.panel("timeseries", "Replicas: current, desired, max", "Per pool.", replica_targets(POOL_FILTER))
    d.panel(
        "timeseries",
        "Backlog by state",
        "Waiting, reserved and running tasks per pool.",
        [target(f"sum by (pool, state) (celerity_operator_backlog_tasks{{{POOL_FILTER}}})", "{{pool}} {{state}}")],
    )
    d.panel(
        "timeseries",
        "Backlog per replica",
        "Waiting and reserved tasks per current replica.",
        [
            target(
                f'sum by (pool) (celerity_operator_backlog_tasks{{{POOL_FILTER}, state=~"waiting|reserved"}}) / '
                f"clamp_min(max by (pool) (celerity_operator_replicas_current{{{POOL_FILTER}}}), 1)",
                "{{pool}}",
            )
        ],
    )
    d.panel(
        "state-timeline",
        "Pool conditions",
        "Ready, AtMaxReplicas and ProbeFailed over time.",
        [
            target(
                f"max by (pool, condition) (celerity_operator_pool_condition{{{POOL_FILTER}}})",
                "{{pool}} {{condition}}",
            )
        ],
        w=24,
    )
    d.row("Effect and operator health")
    d.panel(
        "timeseries",
        "Live workers by pool",
        "Workers with a fresh heartbeat.",
        [target(f"max by (pool) (celerity_workers_alive{{{POOL_FILTER}}})", "{{pool}}")],
        w=8,
    )
    d.panel(
        "timeseries",
        "Queue wait p95 by pool",
        "What scaling is for: how long work waits.",
        [target(quantile(0.95, "celerity_task_queue_wait_seconds", POOL_FILTER, by="pool"), "{{pool}}")],
        w=8,
        unit="s",
    )
    d.panel(
        "timeseries",
        "Probe duration",
        "One Redis round trip per pool and poll.",
        quantile_targets("celerity_operator_probe_duration_seconds", POOL_FILTER),
        w=8,
        unit="s",
    )
    d.panel(
        "timeseries",
        "Probe and reconcile errors",
        "Failed probes and reconciles that raised, per second.",
        [
            target(
                f"sum by (pool) (rate(celerity_operator_probe_errors_total{{{POOL_FILTER}}}[{RATE_INTERVAL}]))",
                "{{pool}} probe",
            ),
            target(
                f"sum by (pool) (rate(celerity_operator_reconcile_errors_total{{{POOL_FILTER}}}[{RATE_INTERVAL}]))",
                "{{pool}} reconcile",
            ),
        ],
        w=24,
        unit="ops",
    )
    return d
