"""The Locks dashboard: row-lock wait p95/p99 by lock, deadlock and serialization retries."""

from __future__ import annotations

from .model import Dashboard
from .queries import POOL_FILTER, RATE_INTERVAL, quantile, target


def _rate(metric: str, by: str) -> str:
    return f"sum by ({by}) (rate({metric}{{{POOL_FILTER}}}[{RATE_INTERVAL}]))"


def _in_range(metric: str) -> str:
    return f"sum by (lock, reason) (increase({metric}{{{POOL_FILTER}}}[$__range]))"


def locks() -> Dashboard:
    d = Dashboard(
        "celerity-locks",
        "Celerity / Locks",
        "Time waiting for the platform's locks, and transactions retried after deadlocks.",
        "celerity_lock_acquired_total",
    )
    d.row("Lock wait")
    for fraction in (0.95, 0.99):
        d.panel(
            "timeseries",
            f"Lock wait p{int(fraction * 100)} by lock",
            "Time waiting to acquire, by lock.",
            [target(quantile(fraction, "celerity_lock_wait_seconds", POOL_FILTER, by="lock"), "{{lock}}")],
            unit="s",
        )
    d.panel(
        "timeseries",
        "Mean lock wait by lock",
        "Total wait / acquisitions.",
        [
            target(
                f"{_rate('celerity_lock_wait_seconds_sum', 'lock')} / "
                f"{_rate('celerity_lock_wait_seconds_count', 'lock')}",
                "{{lock}}",
            )
        ],
        unit="s",
    )
    d.panel(
        "timeseries",
        "Locks acquired",
        "Acquisitions per second, by lock.",
        [target(_rate("celerity_lock_acquired_total", "lock"), "{{lock}}")],
        unit="ops",
    )
    d.row("Retries")
    d.panel(
        "timeseries",
        "Deadlock and serialization retries",
        "Transactions retried, by lock and reason.",
        [target(_rate("celerity_db_retries_total", "lock, reason"), "{{lock}} {{reason}}")],
        unit="ops",
    )
    d.panel(
        "timeseries",
        "Retries exhausted",
        "Transactions that failed after the last retry.",
        [target(_rate("celerity_db_retries_exhausted_total", "lock, reason"), "{{lock}} {{reason}}")],
        unit="ops",
    )
    d.panel(
        "timeseries",
        "Retries per acquisition",
        "Share of acquisitions that needed a retry.",
        [
            target(
                f"{_rate('celerity_db_retries_total', 'lock')} / {_rate('celerity_lock_acquired_total', 'lock')}",
                "{{lock}}",
            )
        ],
        unit="percentunit",
    )
    d.panel(
        "table",
        "Retries in range",
        "Retries and exhausted retries per lock and reason in the time range.",
        [target(_in_range("celerity_db_retries_total")), target(_in_range("celerity_db_retries_exhausted_total"))],
    )
    return d
