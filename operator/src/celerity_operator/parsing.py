"""A WorkerPool's spec, checked again on the operator's side: the CRD's schema and CEL rules are the first line, but a
spec can slip past them (an older CRD, validation turned off, a hand-edited object). Such a pool gets an error
condition; the operator never crashes on it. Defaults match the CRD's."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from celerity_operator import policy


class InvalidSpec(ValueError):
    """The spec cannot be acted on; the message says every problem found."""


@dataclass(frozen=True)
class PoolSpec:
    deployment: str
    queues: list[str]
    poll_interval_seconds: float
    paused: bool
    broker_secret: tuple[str, str] | None  # (name, key) of the Secret holding the broker URL
    policy: policy.Spec


UP_DEFAULTS = {"stabilizationWindowSeconds": 0, "periodSeconds": 15, "maxStepPods": 4, "maxStepPercent": 100}
DOWN_DEFAULTS = {"stabilizationWindowSeconds": 60, "periodSeconds": 30, "maxStepPods": 2, "maxStepPercent": 50}
DEFAULT_POLL_SECONDS = 5


def pool_spec(spec: Mapping[str, Any]) -> PoolSpec:
    problems: list[str] = []

    def integer(where: Mapping[str, Any], key: str, default: int | None, low: int, high: int | None = None) -> int:
        value = where.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{key} must be an integer, not {value!r}")
            return low
        if value < low or (high is not None and value > high):
            problems.append(f"{key} must be in [{low}, {high if high is not None else 'inf'}], not {value}")
        return value

    deployment = spec.get("deploymentName")
    if not isinstance(deployment, str) or not deployment:
        problems.append("deploymentName must be a non-empty string")
    queues = spec.get("queues")
    if not isinstance(queues, list) or not queues or not all(isinstance(q, str) and q for q in queues):
        problems.append("queues must be a non-empty list of queue names")
        queues = []
    elif len(set(queues)) != len(queues):
        problems.append("queues must not repeat")
    low = integer(spec, "minReplicas", 0, 0)
    high = integer(spec, "maxReplicas", None, 1)
    if low > high:
        problems.append(f"minReplicas ({low}) must not exceed maxReplicas ({high})")
    target = integer(spec, "targetBacklogPerReplica", 8, 1)
    interval = integer(spec, "pollIntervalSeconds", DEFAULT_POLL_SECONDS, 1, 300)
    rates = []
    for name, defaults, most in (("scaleUp", UP_DEFAULTS, 1000), ("scaleDown", DOWN_DEFAULTS, 100)):
        given = spec.get(name) or {}
        if not isinstance(given, Mapping):
            problems.append(f"{name} must be an object")
            given = {}
        rate = {**defaults, **given}
        rates.append(
            policy.Rate(
                stabilization_window_seconds=integer(rate, "stabilizationWindowSeconds", None, 0, 3600),
                max_step_pods=integer(rate, "maxStepPods", None, 1),
                max_step_percent=integer(rate, "maxStepPercent", None, 1, most),
                period_seconds=integer(rate, "periodSeconds", None, 1, 1800),
            )
        )
    paused = spec.get("paused", False)
    if not isinstance(paused, bool):
        problems.append("paused must be true or false")
    secret = _broker_secret(spec.get("broker"), problems)
    if problems:
        raise InvalidSpec("; ".join(problems))
    return PoolSpec(
        deployment=str(deployment),
        queues=[str(q) for q in queues],
        poll_interval_seconds=float(interval),
        paused=bool(paused),
        broker_secret=secret,
        policy=policy.Spec(
            min_replicas=low,
            max_replicas=high,
            target_backlog_per_replica=target,
            scale_up=rates[0],
            scale_down=rates[1],
        ),
    )


def _broker_secret(broker: Any, problems: list[str]) -> tuple[str, str] | None:
    if broker is None:
        return None
    ref = broker.get("secretRef") if isinstance(broker, Mapping) else None
    name = ref.get("name") if isinstance(ref, Mapping) else None
    key = ref.get("key", "url") if isinstance(ref, Mapping) else None
    if not (isinstance(name, str) and name and isinstance(key, str) and key):
        problems.append("broker.secretRef needs a name (and optionally a key)")
        return None
    return name, key


def poll_interval(spec: Mapping[str, Any]) -> float:
    """The pool's poll interval even when the rest of its spec is invalid (it is how often it is re-checked)."""
    value = spec.get("pollIntervalSeconds", DEFAULT_POLL_SECONDS)
    return float(value) if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 300 else 30.0
