"""The scaling decision: a pure function of (load, current replicas, spec, recent recommendations, now).

No I/O, no clock of its own: the handlers pass everything in, the tests drive it exhaustively.

How it decides, in order:
1. **Need.** `ceil((waiting + reserved) / targetBacklogPerReplica)` replicas for the backlog (reserved counts the
   prefetched and, with acks-late, the running tasks too), and never fewer than the pods that are running tasks now.
2. **Bounds.** Clamp to `[minReplicas, maxReplicas]`; with any work at all, at least one replica (scale from zero
   within one poll of the first waiting task, even when `minReplicas` is 0).
3. **Stabilisation.** Like the HPA: scaling up follows the *lowest* need seen in the scale-up window, scaling down
   the *highest* need seen in the scale-down window, so a brief dip never removes workers (no flapping).
4. **Rate.** One step may add (or remove) at most `max(maxStepPods, ceil(current * maxStepPercent / 100))` pods,
   and never removes pods that are busy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Load:
    waiting: int  # messages in the queues' lists, priority sub-queues included
    reserved: int  # delivered, unacknowledged messages (prefetched + running under acks-late)
    running: int  # tasks executing now, from the worker heartbeats
    busy_pods: int = 0  # pods with at least one running task

    @property
    def backlog(self) -> int:
        return self.waiting + self.reserved


@dataclass(frozen=True)
class Rate:
    stabilization_window_seconds: float
    max_step_pods: int
    max_step_percent: int


@dataclass(frozen=True)
class Spec:
    min_replicas: int
    max_replicas: int
    target_backlog_per_replica: int
    scale_up: Rate
    scale_down: Rate


@dataclass(frozen=True)
class Recommendation:
    at: float
    replicas: int


@dataclass(frozen=True)
class Decision:
    replicas: int
    need: int  # the unstabilised recommendation, to be remembered by the caller
    reason: str

    @property
    def direction(self) -> str:
        return self.reason.split(":", 1)[0]


def need_for(load: Load, spec: Spec) -> int:
    """Replicas the load needs now, within the spec's bounds."""
    need = math.ceil(load.backlog / max(spec.target_backlog_per_replica, 1))
    need = max(need, load.busy_pods)
    if load.backlog or load.running:
        need = max(need, 1)
    return min(max(need, spec.min_replicas), spec.max_replicas)


def max_step(current: int, rate: Rate) -> int:
    return max(rate.max_step_pods, math.ceil(current * rate.max_step_percent / 100), 1)


def decide(*, load: Load, current: int, spec: Spec, history: Sequence[Recommendation], now: float) -> Decision:
    need = need_for(load, spec)
    if need > current:
        window = [r.replicas for r in history if now - r.at < spec.scale_up.stabilization_window_seconds]
        target = min([need, *window]) if window else need
        target = max(target, current)
        if current == 0 and need > 0:
            target = max(target, 1)  # never hold a backlog at zero replicas
        target = min(target, current + max_step(current, spec.scale_up), spec.max_replicas)
        if target > current:
            return Decision(target, need, f"up: backlog {load.backlog} needs {need} replicas")
        return Decision(current, need, f"hold: scale-up stabilising toward {need}")
    if need < current:
        window = [r.replicas for r in history if now - r.at < spec.scale_down.stabilization_window_seconds]
        target = max([need, *window])
        floor = max(current - max_step(current, spec.scale_down), load.busy_pods, spec.min_replicas)
        target = min(max(target, floor), current)
        if target < current:
            return Decision(target, need, f"down: backlog {load.backlog} needs {need} replicas")
        return Decision(current, need, f"hold: scale-down stabilising toward {need}")
    return Decision(current, need, f"hold: {current} replicas match backlog {load.backlog}")


def remember(
    history: Sequence[Recommendation], decision: Decision, now: float, keep_seconds: float
) -> list[Recommendation]:
    """The history for the next decision: this need, plus what is still inside the longest window."""
    return [*(r for r in history if now - r.at < keep_seconds), Recommendation(now, decision.need)]
