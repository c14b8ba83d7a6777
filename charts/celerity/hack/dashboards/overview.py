"""The Overview dashboard: throughput by outcome, backlog per pool, replicas against desired, queue wait and run
time quantiles, failures."""

from __future__ import annotations

from .model import Dashboard
from .queries import (
    NAMESPACE_FILTER,
    POOL_FILTER,
    RATE_INTERVAL,
    quantile,
    quantile_targets,
    replica_targets,
    scale_annotation,
    target,
    task_event_targets,
    task_stats_targets,
    task_stats_transformations,
)


def overview() -> Dashboard:
    d = Dashboard(
        "celerity-overview",
        "Celerity / Overview",
        "Throughput, backlog, replicas, latency and failures of every worker pool.",
        "celerity_tasks_total",
        annotations=[scale_annotation()],
    )
    _summary(d)
    _throughput(d)
    _pools(d)
    _latency(d)
    _tasks(d)
    _reliability(d)
    return d


def _summary(d: Dashboard) -> None:
    d.row("Summary")
    d.stat(
        "Live workers",
        "Workers whose heartbeat is fresh (every worker reports all pools: max, not sum).",
        f"sum(max by (pool) (celerity_workers_alive{{{POOL_FILTER}}}))",
        w=4,
    )
    d.stat("Tasks running", "Tasks executing now.", f"sum(celerity_worker_tasks_active{{{POOL_FILTER}}})", w=4)
    d.stat(
        "Tasks waiting",
        "Waiting messages of the selected pools, as the operator measures them.",
        f'sum(celerity_operator_backlog_tasks{{{POOL_FILTER}, state="waiting"}})',
        w=4,
    )
    d.stat(
        "Tasks finished",
        "Finished tasks in the time range, every outcome.",
        f"sum(increase(celerity_tasks_total{{{POOL_FILTER}}}[$__range]))",
        w=4,
    )
    d.stat(
        "Task success rate",
        "Succeeded / (succeeded + failed) over the time range.",
        f'sum(increase(celerity_tasks_total{{{POOL_FILTER}, outcome="succeeded"}}[$__range])) / '
        f'sum(increase(celerity_tasks_total{{{POOL_FILTER}, outcome=~"succeeded|failed"}}[$__range]))',
        w=4,
        unit="percentunit",
    )
    d.stat(
        "Jobs finished",
        "Jobs that reached a final status in the time range.",
        f"sum(increase(celerity_jobs_total{{{POOL_FILTER}}}[$__range]))",
        w=4,
    )
    d.stat(
        "Queues",
        "Queues the selected pools' workers report (each pod reports its pool's queues: max, not sum).",
        f"count(max by (queue) (celerity_queue_depth{{{POOL_FILTER}}}))",
        w=8,
    )
    d.stat(
        "Tasks received",
        "Tasks workers received in the time range (celery-exporter name).",
        f"sum(increase(celery_task_received_total{{{POOL_FILTER}}}[$__range]))",
        w=8,
    )
    d.stat(
        "Mean run time",
        "Mean run time of every task in the time range.",
        f"sum(rate(celerity_task_runtime_seconds_sum{{{POOL_FILTER}}}[$__range])) / "
        f"sum(rate(celerity_task_runtime_seconds_count{{{POOL_FILTER}}}[$__range]))",
        w=8,
        unit="s",
    )


def _throughput(d: Dashboard) -> None:
    d.row("Throughput and failures")
    d.panel(
        "timeseries",
        "Tasks finished by outcome",
        "Finished tasks per second: succeeded, failed, retried, ...",
        [target(f"sum by (outcome) (rate(celerity_tasks_total{{{POOL_FILTER}}}[{RATE_INTERVAL}]))", "{{outcome}}")],
        unit="ops",
    )
    d.panel(
        "timeseries",
        "Failure rate by pool",
        "Failed / (succeeded + failed) per pool.",
        [
            target(
                f'sum by (pool) (rate(celerity_tasks_total{{{POOL_FILTER}, outcome="failed"}}[{RATE_INTERVAL}])) / '
                "sum by (pool) "
                f'(rate(celerity_tasks_total{{{POOL_FILTER}, outcome=~"succeeded|failed"}}[{RATE_INTERVAL}]))',
                "{{pool}}",
            )
        ],
        unit="percentunit",
    )
    d.panel(
        "timeseries",
        "Items processed",
        "Items whose outcome was recorded, per second, by workload.",
        [
            target(
                f"sum by (workload) (rate(celerity_items_processed_total{{{POOL_FILTER}}}[{RATE_INTERVAL}]))",
                "{{workload}}",
            )
        ],
        unit="ops",
    )
    d.panel(
        "timeseries",
        "Jobs finished by status",
        "Jobs per second by workload and final status.",
        [
            target(
                f"sum by (workload, status) (rate(celerity_jobs_total{{{POOL_FILTER}}}[{RATE_INTERVAL}]))",
                "{{workload}} {{status}}",
            )
        ],
        unit="ops",
    )


def _pools(d: Dashboard) -> None:
    d.row("Pools")
    d.panel(
        "timeseries",
        "Backlog per pool",
        "Waiting, reserved (prefetched) and running tasks per pool.",
        [target(f"sum by (pool, state) (celerity_operator_backlog_tasks{{{POOL_FILTER}}})", "{{pool}} {{state}}")],
    )
    d.panel(
        "timeseries",
        "Replicas against desired",
        "The Deployment's replicas, what the operator wants, the max.",
        replica_targets(POOL_FILTER),
    )
    d.panel(
        "timeseries",
        "Queue depth and unacknowledged",
        "Per queue, read from Redis by the workers at scrape time.",
        [
            target(f"max by (queue) (celerity_queue_depth{{{POOL_FILTER}}})", "{{queue}} waiting"),
            target(f"max by (queue) (celerity_queue_unacked{{{POOL_FILTER}}})", "{{queue}} unacked"),
        ],
    )
    d.panel(
        "timeseries",
        "Busy against capacity",
        "Tasks running and worker processes available, per queue.",
        [
            target(f"sum by (queue) (celerity_worker_tasks_active{{{POOL_FILTER}}})", "{{queue}} running"),
            target(f"max by (queue_name) (celery_active_process_count{{{POOL_FILTER}}})", "{{queue_name}} processes"),
        ],
    )


def _latency(d: Dashboard) -> None:
    d.row("Latency")
    d.panel(
        "timeseries",
        "Queue wait (publish to start)",
        "From publish to the start of the task; excludes ETA.",
        quantile_targets("celerity_task_queue_wait_seconds", POOL_FILTER),
        unit="s",
    )
    d.panel(
        "timeseries",
        "Run time",
        "Start to finish of the task body.",
        quantile_targets("celerity_task_runtime_seconds", POOL_FILTER),
        unit="s",
    )
    d.panel(
        "timeseries",
        "Queue wait p95 by pool",
        "How long work waits in each pool.",
        [target(quantile(0.95, "celerity_task_queue_wait_seconds", POOL_FILTER, by="pool"), "{{pool}}")],
        unit="s",
    )
    d.panel(
        "timeseries",
        "Job duration",
        "Job created (API) to job finished.",
        quantile_targets("celerity_job_duration_seconds", POOL_FILTER),
        unit="s",
    )


def _tasks(d: Dashboard) -> None:
    d.row("Tasks")
    d.panel(
        "table",
        "Task stats",
        "Per task over the time range: success rate and every outcome.",
        task_stats_targets(POOL_FILTER),
        w=24,
        transformations=task_stats_transformations(),
    )
    d.panel(
        "timeseries",
        "Task rate by task",
        "Finished tasks per second, the 10 busiest tasks.",
        [target(f"topk(10, sum by (task) (rate(celerity_tasks_total{{{POOL_FILTER}}}[{RATE_INTERVAL}])))", "{{task}}")],
        unit="ops",
    )
    d.panel(
        "timeseries",
        "Task rate by queue",
        "Finished tasks per second by queue.",
        [target(f"sum by (queue) (rate(celerity_tasks_total{{{POOL_FILTER}}}[{RATE_INTERVAL}]))", "{{queue}}")],
        unit="ops",
    )
    d.panel(
        "table",
        "Top failing tasks",
        "Failures per task in the time range.",
        [
            target(
                "topk(10, sum by (task) "
                f'(increase(celerity_tasks_total{{{POOL_FILTER}, outcome="failed"}}[$__range])) > 0)'
            )
        ],
        w=8,
    )
    d.panel(
        "table",
        "Top exceptions",
        "Failures per exception class in the time range (celery-exporter name).",
        [target(f"topk(10, sum by (exception) (increase(celery_task_failed_total{{{POOL_FILTER}}}[$__range])) > 0)")],
        w=8,
    )
    d.panel(
        "table",
        "Slowest tasks",
        "Mean run time per task over the time range.",
        [
            target(
                f"topk(10, sum by (task) (rate(celerity_task_runtime_seconds_sum{{{POOL_FILTER}}}[$__range])) / "
                f"sum by (task) (rate(celerity_task_runtime_seconds_count{{{POOL_FILTER}}}[$__range])))"
            )
        ],
        w=8,
        unit="s",
    )
    d.panel(
        "timeseries",
        "Task events",
        "Celery's task life cycle, with celery-exporter's metric names.",
        task_event_targets(POOL_FILTER),
        w=24,
        unit="ops",
    )


def _reliability(d: Dashboard) -> None:
    """The reconciler (docs/reliability.md): jobs it found without progress and what it did about them."""
    d.row("Reliability")
    d.stat(
        "Jobs stuck",
        "Unfinished jobs without progress for longer than the reconciler's bound, at its last pass.",
        f"max(celerity_reconciler_jobs_stuck{{{NAMESPACE_FILTER}}})",
        w=6,
    )
    d.stat(
        "Since the last reconciler pass",
        "Seconds since the reconciler last completed a pass (it skips passes while Redis or Postgres is away).",
        f"time() - max(celerity_reconciler_last_run_timestamp_seconds{{{NAMESPACE_FILTER}}})",
        w=6,
        unit="s",
    )
    d.stat(
        "Jobs failed by the reconciler",
        "Jobs failed in the time range because re-driving them brought no progress.",
        f"sum(increase(celerity_reconciler_jobs_failed_total{{{NAMESPACE_FILTER}}}[$__range]))",
        w=6,
    )
    d.stat(
        "Chunks republished",
        "Open chunks whose work the reconciler published again in the time range.",
        f"sum(increase(celerity_reconciler_chunks_republished_total{{{NAMESPACE_FILTER}}}[$__range]))",
        w=6,
    )
    d.panel(
        "timeseries",
        "Jobs re-driven by action",
        "Jobs the reconciler drove again, per second: start sent again, published, open chunks republished.",
        [
            target(
                "sum by (action) "
                f"(rate(celerity_reconciler_jobs_redriven_total{{{NAMESPACE_FILTER}}}[{RATE_INTERVAL}]))",
                "{{action}}",
            )
        ],
        unit="ops",
    )
