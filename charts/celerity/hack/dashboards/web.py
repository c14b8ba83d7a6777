"""The Web dashboard: request rate, latency and errors of the jobs API."""

from __future__ import annotations

from .model import Dashboard
from .queries import NAMESPACE_FILTER, POOL_FILTER, RATE_INTERVAL, quantile, quantile_targets, target

# Web metrics carry no pool: the pool filter applies to the pools' panels only.
REQUESTS = f"celerity_http_requests_total{{{NAMESPACE_FILTER}}}"
SERVER_ERRORS = f'celerity_http_requests_total{{{NAMESPACE_FILTER}, status=~"5.."}}'
SERVER_ERROR_RATIO = f"sum(rate({SERVER_ERRORS}[{RATE_INTERVAL}])) / sum(rate({REQUESTS}[{RATE_INTERVAL}]))"
LATENCY = "celerity_http_request_duration_seconds"


def web() -> Dashboard:
    d = Dashboard(
        "celerity-web",
        "Celerity / Web",
        "The jobs API: request rate, latency and errors, and the pools it feeds.",
        "celerity_http_requests_total",
    )
    d.row("Summary")
    d.stat("Requests per second", "All routes.", f"sum(rate({REQUESTS}[{RATE_INTERVAL}]))", w=8, unit="reqps")
    d.stat("Server errors", "Share of responses with a 5xx status.", SERVER_ERROR_RATIO, w=8, unit="percentunit")
    d.stat("Latency p95", "All routes.", quantile(0.95, LATENCY, NAMESPACE_FILTER), w=8, unit="s")
    d.row("Requests")
    d.panel(
        "timeseries",
        "Requests by status",
        "Responses per second by status code.",
        [target(f"sum by (status) (rate({REQUESTS}[{RATE_INTERVAL}]))", "{{status}}")],
        unit="reqps",
    )
    d.panel(
        "timeseries",
        "Requests by route",
        "Requests per second by method and URL pattern.",
        [target(f"sum by (method, route) (rate({REQUESTS}[{RATE_INTERVAL}]))", "{{method}} {{route}}")],
        unit="reqps",
    )
    d.panel(
        "timeseries",
        "Errors by route",
        "4xx and 5xx responses per second by route.",
        [
            target(
                "sum by (route, status) "
                f'(rate(celerity_http_requests_total{{{NAMESPACE_FILTER}, status=~"[45].."}}[{RATE_INTERVAL}]))',
                "{{route}} {{status}}",
            )
        ],
        unit="reqps",
    )
    d.panel(
        "timeseries",
        "Server error ratio",
        "5xx / all responses.",
        [target(SERVER_ERROR_RATIO, "5xx")],
        unit="percentunit",
    )
    d.row("Latency")
    d.panel(
        "timeseries",
        "Latency",
        "Request latency over every route.",
        quantile_targets(LATENCY, NAMESPACE_FILTER),
        unit="s",
    )
    d.panel(
        "timeseries",
        "Latency p95 by route",
        "Per URL pattern.",
        [target(quantile(0.95, LATENCY, NAMESPACE_FILTER, by="route"), "{{route}}")],
        unit="s",
    )
    d.row("What the API feeds")
    d.panel(
        "timeseries",
        "Tasks published by queue",
        "Messages published per second (celery-exporter name).",
        [
            target(
                f"sum by (queue_name) (rate(celery_task_sent_total{{{NAMESPACE_FILTER}}}[{RATE_INTERVAL}]))",
                "{{queue_name}}",
            )
        ],
        unit="ops",
    )
    d.panel(
        "timeseries",
        "Backlog of the pools",
        "Waiting tasks per pool.",
        [target(f'sum by (pool) (celerity_operator_backlog_tasks{{{POOL_FILTER}, state="waiting"}})', "{{pool}}")],
    )
    return d
