"""The Web dashboard: request rate, latency and errors of the jobs API."""

from __future__ import annotations

from grafana import Dashboard
from queries import NS, RI, SEL, q, quantiles


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
