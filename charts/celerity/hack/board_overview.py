"""The Overview dashboard: throughput by outcome, backlog per pool, replicas against desired, queue wait and run
time quantiles, failures."""

from __future__ import annotations

from grafana import Dashboard
from queries import RI, SEL, q, quantiles, scale_annotation, task_stats_targets, task_stats_transformations


def overview() -> Dashboard:
    d = Dashboard(
        "celerity-overview",
        "Celerity / Overview",
        "Throughput, backlog, replicas, latency and failures of every worker pool.",
        "celerity_tasks_total",
        annotations=[scale_annotation()],
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
        task_stats_targets(SEL),
        w=24,
        transformations=task_stats_transformations(),
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
