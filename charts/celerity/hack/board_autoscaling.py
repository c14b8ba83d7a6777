"""The Autoscaling dashboard: backlog, replicas and every scale decision over time."""

from __future__ import annotations

from grafana import Dashboard
from queries import NS, RI, SEL, q, quantiles, scale_annotation


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
