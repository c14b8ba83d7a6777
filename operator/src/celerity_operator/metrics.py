"""The operator's own metrics (kopf exports none), served on CELERITY_OPERATOR_METRICS_PORT; names in docs/metrics.md.

Labels are bounded: namespace and pool come from the WorkerPools, `reason` from policy.CAUSES, `queue` from specs.
A deleted pool's series are removed with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from celerity_operator.policy import Decision
    from celerity_operator.probing import Observation
    from celerity_operator.status import Condition

REGISTRY = CollectorRegistry()
_POOL = ["namespace", "pool"]

BACKLOG = Gauge(
    "celerity_operator_backlog_tasks",
    "Tasks of a pool's queue, by state (waiting, reserved, running).",
    [*_POOL, "queue", "state"],
    registry=REGISTRY,
)
DESIRED = Gauge("celerity_operator_replicas_desired", "Replicas the policy asks for.", _POOL, registry=REGISTRY)
CURRENT = Gauge("celerity_operator_replicas_current", "The Deployment's spec.replicas.", _POOL, registry=REGISTRY)
MAXIMUM = Gauge("celerity_operator_replicas_max", "The pool's maxReplicas.", _POOL, registry=REGISTRY)
SCALE_EVENTS = Counter(
    "celerity_operator_scale_events",
    "Scale decisions applied, by direction and cause.",
    [*_POOL, "direction", "reason"],
    registry=REGISTRY,
)
_PROBE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
PROBE_SECONDS = Histogram(
    "celerity_operator_probe_duration_seconds",
    "One Redis round trip (the probe).",
    _POOL,
    buckets=_PROBE_BUCKETS,
    registry=REGISTRY,
)
PROBE_ERRORS = Counter("celerity_operator_probe_errors", "Failed probes.", _POOL, registry=REGISTRY)
RECONCILE_ERRORS = Counter(
    "celerity_operator_reconcile_errors",
    "Reconciles that could not complete (API errors, unexpected exceptions).",
    _POOL,
    registry=REGISTRY,
)
CONDITION = Gauge(
    "celerity_operator_pool_condition", "1 when the pool's condition is true.", [*_POOL, "condition"], registry=REGISTRY
)
_PER_POOL = (BACKLOG, DESIRED, CURRENT, MAXIMUM, SCALE_EVENTS, PROBE_SECONDS, PROBE_ERRORS, RECONCILE_ERRORS, CONDITION)


def observe_load(labels: dict[str, str], observation: Observation, *, desired: int) -> None:
    for queue, waiting in observation.waiting.items():
        BACKLOG.labels(queue=queue, state="waiting", **labels).set(waiting)
        BACKLOG.labels(queue=queue, state="reserved", **labels).set(observation.in_flight(queue))
        BACKLOG.labels(queue=queue, state="running", **labels).set(observation.running.get(queue, 0))
    DESIRED.labels(**labels).set(desired)


def scaled(labels: dict[str, str], decision: Decision) -> None:
    SCALE_EVENTS.labels(direction=decision.direction, reason=decision.cause, **labels).inc()
    CURRENT.labels(**labels).set(decision.replicas)


def conditions(labels: dict[str, str], new: Iterable[Condition]) -> None:
    """Every reconcile ends here, whatever happened, so it also brings the pool's error counters into being at 0:
    a counter that first appears at 1 shows Prometheus no increase (the first error would escape the alert), and a
    healthy pool's error panels should read 0, not "no data"."""
    for condition in new:
        CONDITION.labels(condition=condition.type, **labels).set(1 if condition.ok else 0)
    for errors in (PROBE_ERRORS, RECONCILE_ERRORS):
        errors.labels(**labels)


def forget(namespace: str, pool: str) -> None:
    """Drop every series of a pool that is gone (a deleted WorkerPool must not linger on dashboards)."""
    for metric in _PER_POOL:
        metric.remove_by_labels({"namespace": namespace, "pool": pool})


def serve(port: int) -> WSGIServer | None:
    """Start /metrics on its own thread; the caller shuts the returned server down at cleanup."""
    if not port:
        return None
    server, _thread = start_http_server(port, registry=REGISTRY)
    return server
