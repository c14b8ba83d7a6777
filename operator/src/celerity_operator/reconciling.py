"""One reconcile of one WorkerPool: validate, probe, decide, act, and say what happened in the status."""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis

from celerity_operator import kubeapi, metrics, policy, probing, scaling


class InvalidSpec(ValueError):
    pass


@dataclass
class PoolState:
    """What a pool remembers between reconciles (kept in kopf's per-object memo)."""

    history: list[policy.Recommendation] = field(default_factory=list)
    last_run: float = 0.0
    client: aioredis.Redis | None = None
    client_url: str = ""


@dataclass
class Outcome:
    status: dict[str, Any]
    event: tuple[str, str, str] | None = None  # (type, reason, message)


def parse_spec(spec: dict[str, Any]) -> tuple[policy.Spec, list[str], str, int, bool]:
    """(policy spec, queues, deployment, poll interval, paused); InvalidSpec says what is wrong."""
    try:
        queues = [str(q) for q in spec["queues"]]
        deployment = str(spec["deploymentName"])
        low, high = int(spec.get("minReplicas", 0)), int(spec["maxReplicas"])
        target = int(spec.get("targetBacklogPerReplica", 8))
        up, down = spec.get("scaleUp") or {}, spec.get("scaleDown") or {}
        rates = (
            policy.Rate(float(up.get("stabilizationWindowSeconds", 0)), int(up.get("maxStepPods", 4)),
                        int(up.get("maxStepPercent", 100))),
            policy.Rate(float(down.get("stabilizationWindowSeconds", 60)), int(down.get("maxStepPods", 2)),
                        int(down.get("maxStepPercent", 50))),
        )  # fmt: skip
        interval = int(spec.get("pollIntervalSeconds", 5))
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidSpec(f"spec is not valid: {exc!r}") from exc
    problems = [
        msg for bad, msg in [
            (not queues, "queues must not be empty"), (not deployment, "deploymentName must be set"),
            (low < 0, "minReplicas must be >= 0"), (high < 1, "maxReplicas must be >= 1"),
            (low > high, "minReplicas must not exceed maxReplicas"),
            (target < 1, "targetBacklogPerReplica must be >= 1"),
            (interval < 1, "pollIntervalSeconds must be >= 1"),
        ] if bad
    ]  # fmt: skip
    if problems:
        raise InvalidSpec("; ".join(problems))
    return policy.Spec(low, high, target, *rates), queues, deployment, interval, bool(spec.get("paused", False))


def _condition(kind: str, ok: bool, reason: str, message: str = "") -> dict[str, str]:
    return {"type": kind, "status": "True" if ok else "False", "reason": reason, "message": message,
            "lastTransitionTime": _now_iso()}  # fmt: skip


def _now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


async def reconcile(
    *,
    name: str,
    namespace: str,
    spec: dict[str, Any],
    state: PoolState,
    redis_url: str | None,
    now: float | None = None,
) -> Outcome:
    now = time.time() if now is None else now
    labels = {"namespace": namespace, "pool": name}
    try:
        pool_spec, queues, deployment, _interval, paused = parse_spec(spec)
    except InvalidSpec as exc:
        metrics.CONDITION.labels(condition="Ready", **labels).set(0)
        return Outcome({"conditions": [_condition("Ready", False, "InvalidSpec", str(exc))]},
                       ("Warning", "InvalidSpec", str(exc)))  # fmt: skip
    metrics.MAXIMUM.labels(**labels).set(pool_spec.max_replicas)
    current = await kubeapi.scale_get(namespace, deployment)
    metrics.CURRENT.labels(**labels).set(current)
    secret_ref = (spec.get("broker") or {}).get("secretRef")
    if secret_ref:
        try:
            redis_url = await kubeapi.secret_value(
                namespace, str(secret_ref["name"]), str(secret_ref.get("key", "url"))
            )
        except kubeapi.KubeApiError as exc:
            metrics.PROBE_ERRORS.labels(**labels).inc()
            return _probe_failed(labels, current, f"broker secret unreadable: {exc}")
    if not redis_url:
        return _probe_failed(labels, current, "no broker: set spec.broker or CELERITY_OPERATOR_REDIS_URL")
    if state.client is None or state.client_url != redis_url:
        state.client = aioredis.Redis.from_url(redis_url, socket_timeout=3, socket_connect_timeout=3)
        state.client_url = redis_url
    started = time.perf_counter()
    try:
        observation = await probing.probe(state.client, queues)
    except probing.ProbeError as exc:
        metrics.PROBE_ERRORS.labels(**labels).inc()
        return _probe_failed(labels, current, str(exc))
    finally:
        metrics.PROBE_SECONDS.labels(**labels).observe(time.perf_counter() - started)
    load = observation.load()
    for queue in queues:
        metrics.BACKLOG.labels(queue=queue, state="waiting", **labels).set(observation.waiting[queue])
        metrics.BACKLOG.labels(queue=queue, state="reserved", **labels).set(observation.unacked[queue])
    metrics.BACKLOG.labels(queue="*", state="running", **labels).set(load.running)
    decision = policy.decide(load=load, current=current, spec=pool_spec, history=state.history, now=now)
    keep = max(pool_spec.scale_up.stabilization_window_seconds, pool_spec.scale_down.stabilization_window_seconds)
    state.history = policy.remember(state.history, decision, now, keep)
    metrics.DESIRED.labels(**labels).set(decision.replicas)
    at_max = decision.replicas >= pool_spec.max_replicas and load.backlog > 0
    metrics.CONDITION.labels(condition="AtMaxReplicas", **labels).set(1 if at_max else 0)
    metrics.CONDITION.labels(condition="ProbeFailed", **labels).set(0)
    metrics.CONDITION.labels(condition="Ready", **labels).set(1)
    status: dict[str, Any] = {
        "observedBacklog": {"waiting": load.waiting, "reserved": load.reserved, "running": load.running},
        "desiredReplicas": decision.replicas,
        "currentReplicas": current,
        "conditions": [
            _condition("Ready", True, "Paused" if paused else "Observing"),
            _condition("ProbeFailed", False, "ProbeSucceeded"),
            _condition("AtMaxReplicas", at_max, "AtMaxReplicas" if at_max else "BelowMax"),
        ],
    }
    if paused or decision.replicas == current:
        return Outcome(status)
    if decision.replicas < current:
        await scaling.protect_busy_pods(namespace, name, observation.workers)
    await kubeapi.scale_patch(namespace, deployment, decision.replicas)
    metrics.SCALE_EVENTS.labels(direction=decision.direction, reason=decision.reason.split(" ")[0].rstrip(":"),
                                **labels).inc()  # fmt: skip
    metrics.CURRENT.labels(**labels).set(decision.replicas)
    status.update(currentReplicas=decision.replicas, lastScaleTime=_now_iso(), lastScaleReason=decision.reason)
    message = f"scaled {deployment} from {current} to {decision.replicas}: {decision.reason}"
    return Outcome(status, ("Normal", "ScaledUp" if decision.replicas > current else "ScaledDown", message))


def _probe_failed(labels: dict[str, str], current: int, message: str) -> Outcome:
    metrics.CONDITION.labels(condition="ProbeFailed", **labels).set(1)
    status = {
        "currentReplicas": current,
        "desiredReplicas": current,
        "conditions": [
            _condition("Ready", False, "ProbeFailed", message),
            _condition("ProbeFailed", True, "RedisUnreachable", message),
        ],
    }
    return Outcome(status, ("Warning", "ProbeFailed", f"keeping {current} replicas: {message}"))
