"""The scaling decision: a pure function of (load, current replicas, spec, recent decisions, now).

No I/O and no clock of its own: the reconciler passes everything in, the tests drive it exhaustively.

How it decides, in order (docs/operator.md has worked examples):
1. **Need.** `ceil((waiting + in flight) / targetBacklogPerReplica)` replicas, never fewer than the pods running
   tasks now, at least one while there is any work, then clamped to `[minReplicas, maxReplicas]`.
2. **Stabilisation** (the HPA's rule). Scaling up follows the *lowest* need recommended within
   `scaleUp.stabilizationWindowSeconds`, scaling down the *highest* need within `scaleDown.stabilizationWindowSeconds`,
   so a brief dip never removes workers and a brief spike adds none when a window is set.
3. **Rate.** Within any `periodSeconds`, replicas may grow (or shrink) by at most the larger of `maxStepPods` and
   `maxStepPercent` of the count at the period's start (the HPA's `selectPolicy: Max`).
4. **Safety.** A pool at zero with work gets a replica at once, whatever the windows and rates say; a scale-down
   never goes below the need, hence never below the busy pods.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Load:
    waiting: int  # messages in the queues' lists, priority sub-queues included
    reserved: int  # in flight: delivered, unacknowledged (prefetched, and running under acks-late)
    running: int  # tasks executing now, from the worker heartbeats
    busy_pods: int = 0  # pods running at least one task now (not counting pods already stopping)

    @property
    def backlog(self) -> int:
        return self.waiting + self.reserved


@dataclass(frozen=True)
class Rate:
    stabilization_window_seconds: float
    max_step_pods: int
    max_step_percent: int
    period_seconds: float = 0.0  # 0: the step limit applies to each decision on its own


@dataclass(frozen=True)
class Spec:
    min_replicas: int
    max_replicas: int
    target_backlog_per_replica: int
    scale_up: Rate
    scale_down: Rate


@dataclass(frozen=True)
class Recommendation:
    """The need computed at `at` (before stabilisation and rate limits): what the windows look back on."""

    at: float
    replicas: int


@dataclass(frozen=True)
class Scaling:
    """A change that was applied at `at`: what the rate limits look back on."""

    at: float
    before: int
    after: int


@dataclass(frozen=True)
class Decision:
    replicas: int
    need: int  # the bounded, unstabilised recommendation: remember it for the next decisions
    wanted: int  # the need before the bounds: above maxReplicas means the pool is capped
    direction: str  # "up", "down" or "hold"
    cause: str  # a short, bounded code (metric label): see CAUSES
    reason: str  # one sentence for people: the status and the Event


CAUSES = ("backlog", "busy_pods", "min_replicas", "max_replicas", "idle", "from_zero", "stabilizing", "rate_limited")


def wanted_for(load: Load, spec: Spec) -> int:
    """Replicas the load asks for, before the spec's bounds."""
    wanted = max(math.ceil(load.backlog / max(spec.target_backlog_per_replica, 1)), load.busy_pods)
    return max(wanted, 1) if load.backlog or load.running else wanted


def need_for(load: Load, spec: Spec) -> int:
    """Replicas the load needs now, within the spec's bounds."""
    return min(max(wanted_for(load, spec), spec.min_replicas), spec.max_replicas)


def decide(
    *,
    load: Load,
    current: int,
    spec: Spec,
    history: Sequence[Recommendation],
    now: float,
    scalings: Sequence[Scaling] = (),
) -> Decision:
    wanted = wanted_for(load, spec)
    need = need_for(load, spec)
    if need > current:
        return _up(load, current, spec, history, scalings, now, wanted, need)
    if need < current:
        return _down(load, current, spec, history, scalings, now, wanted, need)
    return Decision(
        current,
        need,
        wanted,
        "hold",
        _cause(load, spec, wanted, need),
        f"{current} replicas match the backlog of {load.backlog}",
    )


def _up(
    load: Load,
    current: int,
    spec: Spec,
    history: Sequence[Recommendation],
    scalings: Sequence[Scaling],
    now: float,
    wanted: int,
    need: int,
) -> Decision:
    rate = spec.scale_up
    window = [r.replicas for r in history if now - r.at < rate.stabilization_window_seconds]
    stabilized = max(min([need, *window]), current)
    added = sum(s.after - s.before for s in _within(scalings, now, rate.period_seconds) if s.after > s.before)
    start = max(current - added, 0)
    limit = max(start + rate.max_step_pods, math.ceil(start * (1 + rate.max_step_percent / 100)), current)
    target = min(stabilized, limit, spec.max_replicas)
    if current == 0:
        target = max(target, 1)  # work never waits at zero replicas: not for a window, not for a rate
    target = max(target, min(spec.min_replicas, spec.max_replicas))
    if target == current:
        cause, why = (
            ("rate_limited", "limited by scaleUp's rate") if stabilized > current else ("stabilizing", "stabilising")
        )
        return Decision(
            current, need, wanted, "hold", cause, f"holding {current} replicas: scale-up to {need} is {why}"
        )
    cause = "from_zero" if current == 0 else _cause(load, spec, wanted, need)
    if target < stabilized and cause != "from_zero":
        cause = "rate_limited"
    return Decision(
        target,
        need,
        wanted,
        "up",
        cause,
        f"backlog {load.backlog} (waiting {load.waiting}, in flight {load.reserved}) needs {need} "
        f"replicas: {current} -> {target}",
    )


def _down(
    load: Load,
    current: int,
    spec: Spec,
    history: Sequence[Recommendation],
    scalings: Sequence[Scaling],
    now: float,
    wanted: int,
    need: int,
) -> Decision:
    rate = spec.scale_down
    window = [r.replicas for r in history if now - r.at < rate.stabilization_window_seconds]
    stabilized = min(max([need, *window]), current)
    removed = sum(s.before - s.after for s in _within(scalings, now, rate.period_seconds) if s.after < s.before)
    start = current + removed
    floor = min(start - rate.max_step_pods, math.floor(start * (1 - rate.max_step_percent / 100)))
    target = max(stabilized, floor, need)  # `need` already counts the busy pods and minReplicas
    target = min(target, current)
    if current > spec.max_replicas:
        target = min(target, spec.max_replicas)  # maxReplicas was lowered: obey it at once
    if target == current:
        cause, why = (
            ("rate_limited", "limited by scaleDown's rate") if stabilized < current else ("stabilizing", "stabilising")
        )
        return Decision(
            current, need, wanted, "hold", cause, f"holding {current} replicas: scale-down to {need} is {why}"
        )
    cause = "rate_limited" if target > stabilized else _cause(load, spec, wanted, need)
    return Decision(
        target,
        need,
        wanted,
        "down",
        cause,
        f"backlog {load.backlog} (waiting {load.waiting}, in flight {load.reserved}) needs {need} "
        f"replicas: {current} -> {target}",
    )


def _cause(load: Load, spec: Spec, wanted: int, need: int) -> str:
    if wanted > spec.max_replicas:
        return "max_replicas"
    if need == spec.min_replicas and wanted < spec.min_replicas:
        return "min_replicas"
    if not load.backlog and not load.running:
        return "idle"
    if load.busy_pods > math.ceil(load.backlog / max(spec.target_backlog_per_replica, 1)):
        return "busy_pods"
    return "backlog"


def _within(scalings: Sequence[Scaling], now: float, period: float) -> list[Scaling]:
    return [s for s in scalings if now - s.at < period]


def remember(
    history: Sequence[Recommendation], decision: Decision, now: float, keep_seconds: float
) -> list[Recommendation]:
    """The history for the next decision: this need, plus what is still inside the longest window."""
    return [*(r for r in history if now - r.at < keep_seconds), Recommendation(now, decision.need)]


def remember_scaling(
    scalings: Sequence[Scaling], before: int, after: int, now: float, keep_seconds: float
) -> list[Scaling]:
    """The applied changes the rate limits still look back on, plus this one."""
    return [*(s for s in scalings if now - s.at < keep_seconds), Scaling(now, before, after)]


def keep_seconds(spec: Spec) -> float:
    """How far back any window or period of the spec looks."""
    up, down = spec.scale_up, spec.scale_down
    return max(
        up.stabilization_window_seconds, down.stabilization_window_seconds, up.period_seconds, down.period_seconds
    )
