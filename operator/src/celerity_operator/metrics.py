"""The operator's own metrics (kopf exports none); names in docs/metrics.md."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

REGISTRY = CollectorRegistry()
_POOL = ["namespace", "pool"]

BACKLOG = Gauge("celerity_operator_backlog_tasks", "Backlog per pool and queue.", [*_POOL, "queue", "state"],
                registry=REGISTRY)  # fmt: skip
DESIRED = Gauge("celerity_operator_replicas_desired", "Replicas the policy asks for.", _POOL, registry=REGISTRY)
CURRENT = Gauge("celerity_operator_replicas_current", "The Deployment's spec.replicas.", _POOL, registry=REGISTRY)
MAXIMUM = Gauge("celerity_operator_replicas_max", "The pool's maxReplicas.", _POOL, registry=REGISTRY)
SCALE_EVENTS = Counter("celerity_operator_scale_events", "Scale decisions applied.", [*_POOL, "direction", "reason"],
                       registry=REGISTRY)  # fmt: skip
_PROBE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
PROBE_SECONDS = Histogram("celerity_operator_probe_duration_seconds", "One Redis round trip.", _POOL,
                          buckets=_PROBE_BUCKETS, registry=REGISTRY)  # fmt: skip
PROBE_ERRORS = Counter("celerity_operator_probe_errors", "Failed probes.", _POOL, registry=REGISTRY)
RECONCILE_ERRORS = Counter("celerity_operator_reconcile_errors", "Reconciles that raised.", _POOL, registry=REGISTRY)
CONDITION = Gauge("celerity_operator_pool_condition", "1 when the condition holds.", [*_POOL, "condition"],
                  registry=REGISTRY)  # fmt: skip


def serve(port: int) -> None:
    if port:
        start_http_server(port, registry=REGISTRY)
