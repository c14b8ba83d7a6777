"""The Locks dashboard: row-lock wait p95/p99 by lock, deadlock and serialization retries."""

from __future__ import annotations

from grafana import Dashboard
from queries import RI, SEL, q


def locks() -> Dashboard:
    d = Dashboard(
        "celerity-locks",
        "Celerity / Locks",
        "Time waiting for the platform's locks, and transactions retried after deadlocks.",
        "celerity_lock_acquired_total",
    )
    d.row("Lock wait")
    for p in (0.95, 0.99):
        d.panel(
            "timeseries",
            f"Lock wait p{int(p * 100)} by lock",
            "Time waiting to acquire, by lock.",
            [
                q(
                    f"histogram_quantile({p}, sum by (lock, le) "
                    f"(rate(celerity_lock_wait_seconds_bucket{{{SEL}}}[{RI}])))",
                    "{{lock}}",
                )
            ],
            unit="s",
        )
    d.panel(
        "timeseries",
        "Mean lock wait by lock",
        "Total wait / acquisitions.",
        [
            q(
                f"sum by (lock) (rate(celerity_lock_wait_seconds_sum{{{SEL}}}[{RI}])) / "
                f"sum by (lock) (rate(celerity_lock_wait_seconds_count{{{SEL}}}[{RI}]))",
                "{{lock}}",
            )
        ],
        unit="s",
    )
    d.panel(
        "timeseries",
        "Locks acquired",
        "Acquisitions per second, by lock.",
        [q(f"sum by (lock) (rate(celerity_lock_acquired_total{{{SEL}}}[{RI}]))", "{{lock}}")],
        unit="ops",
    )
    d.row("Retries")
    d.panel(
        "timeseries",
        "Deadlock and serialization retries",
        "Transactions retried, by lock and reason.",
        [q(f"sum by (lock, reason) (rate(celerity_db_retries_total{{{SEL}}}[{RI}]))", "{{lock}} {{reason}}")],
        unit="ops",
    )
    d.panel(
        "timeseries",
        "Retries exhausted",
        "Transactions that failed after the last retry.",
        [q(f"sum by (lock, reason) (rate(celerity_db_retries_exhausted_total{{{SEL}}}[{RI}]))", "{{lock}} {{reason}}")],
        unit="ops",
    )
    d.panel(
        "timeseries",
        "Retries per acquisition",
        "Share of acquisitions that needed a retry.",
        [
            q(
                f"sum by (lock) (rate(celerity_db_retries_total{{{SEL}}}[{RI}])) / "
                f"sum by (lock) (rate(celerity_lock_acquired_total{{{SEL}}}[{RI}]))",
                "{{lock}}",
            )
        ],
        unit="percentunit",
    )
    d.panel(
        "table",
        "Retries in range",
        "Retries and exhausted retries per lock and reason in the time range.",
        [
            q(f"sum by (lock, reason) (increase(celerity_db_retries_total{{{SEL}}}[$__range]))"),
            q(f"sum by (lock, reason) (increase(celerity_db_retries_exhausted_total{{{SEL}}}[$__range]))"),
        ],
    )
    return d
