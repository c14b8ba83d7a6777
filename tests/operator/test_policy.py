"""The scaling decision, exhaustively: documented examples, then properties over generated loads and specs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from celerity_operator.policy import Decision, Load, Rate, Recommendation, Spec, decide, remember

UP = Rate(stabilization_window_seconds=0, max_step_pods=4, max_step_percent=100)
DOWN = Rate(stabilization_window_seconds=60, max_step_pods=2, max_step_percent=50)
SPEC = Spec(min_replicas=0, max_replicas=10, target_backlog_per_replica=8, scale_up=UP, scale_down=DOWN)


def run(load: Load, current: int, history: list[Recommendation] | None = None, now: float = 1000.0) -> Decision:
    return decide(load=load, current=current, spec=SPEC, history=history or [], now=now)


@pytest.mark.parametrize(
    ("load", "current", "replicas", "why"),
    [
        (Load(waiting=1, reserved=0, running=0), 0, 1, "the first waiting task wakes a pool at zero"),
        (Load(waiting=40, reserved=0, running=0), 0, 4, "from zero, at most maxStepPods in one step"),
        (Load(waiting=40, reserved=0, running=0), 4, 5, "40 tasks / 8 per replica"),
        (Load(waiting=500, reserved=0, running=0), 8, 10, "never above maxReplicas"),
        (Load(waiting=0, reserved=16, running=16), 2, 2, "prefetched and running work counts: KEDA's LLEN would say 0"),
        (Load(waiting=0, reserved=0, running=0), 0, 0, "an idle pool at zero stays there"),
        (Load(waiting=0, reserved=0, running=0, busy_pods=0), 6, 3, "idle: down by at most 50% a step"),
        (Load(waiting=0, reserved=3, running=3, busy_pods=3), 6, 3, "never below the busy pods"),
    ],
)
def test_documented_examples(load: Load, current: int, replicas: int, why: str) -> None:
    assert run(load, current).replicas == replicas, why


def test_scale_down_waits_for_the_stabilisation_window() -> None:
    busy = [Recommendation(at=t, replicas=6) for t in (950.0, 980.0)]
    assert run(Load(0, 0, 0), 6, busy, now=1000.0).replicas == 6  # needed 6 within the last 60 s
    assert run(Load(0, 0, 0), 6, busy, now=1041.0).replicas == 3  # window passed: down by the step limit


loads = st.builds(
    Load,
    waiting=st.integers(0, 10_000),
    reserved=st.integers(0, 1_000),
    running=st.integers(0, 200),
    busy_pods=st.integers(0, 20),
)
rates = st.builds(
    Rate,
    stabilization_window_seconds=st.sampled_from([0, 15, 60, 300]),
    max_step_pods=st.integers(1, 10),
    max_step_percent=st.integers(1, 200),
)


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    low = draw(st.integers(0, 5))
    return Spec(
        min_replicas=low,
        max_replicas=draw(st.integers(max(low, 1), 50)),
        target_backlog_per_replica=draw(st.integers(1, 100)),
        scale_up=draw(rates),
        scale_down=draw(rates),
    )


@settings(max_examples=400, deadline=None)
@given(load=loads, spec=specs(), current=st.integers(0, 50))
def test_replicas_stay_within_bounds(load: Load, spec: Spec, current: int) -> None:
    current = min(max(current, spec.min_replicas), spec.max_replicas)
    decision = decide(load=load, current=current, spec=spec, history=[], now=0.0)
    assert spec.min_replicas <= decision.replicas <= spec.max_replicas
    if load.backlog:
        assert decision.replicas >= 1, "work never waits at zero replicas"
    if decision.replicas < current:
        assert decision.replicas >= min(load.busy_pods, current), "busy pods are never scaled away"


@settings(max_examples=300, deadline=None)
@given(load=loads, extra=st.integers(0, 5_000), spec=specs(), current=st.integers(0, 50))
def test_more_backlog_never_means_fewer_replicas(load: Load, extra: int, spec: Spec, current: int) -> None:
    more = Load(load.waiting + extra, load.reserved, load.running, load.busy_pods)
    kwargs = {"current": current, "spec": spec, "history": [], "now": 0.0}
    assert decide(load=more, **kwargs).replicas >= decide(load=load, **kwargs).replicas  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(load=loads, spec=specs(), current=st.integers(0, 50), period=st.sampled_from([1.0, 5.0, 15.0]))
def test_a_steady_load_converges_and_never_flaps(load: Load, spec: Spec, current: int, period: float) -> None:
    current = min(max(current, spec.min_replicas), spec.max_replicas)
    history: list[Recommendation] = []
    directions: list[str] = []
    keep = max(spec.scale_up.stabilization_window_seconds, spec.scale_down.stabilization_window_seconds)
    for tick in range(200):
        now = tick * period
        decision = decide(load=load, current=current, spec=spec, history=history, now=now)
        history = remember(history, decision, now, keep)
        if decision.replicas != current:
            directions.append("up" if decision.replicas > current else "down")
        current = decision.replicas
    assert len(set(directions)) <= 1, f"flapped under a steady load: {directions}"
    final = decide(load=load, current=current, spec=spec, history=history, now=200 * period)
    assert final.replicas == current, "a steady load ends at a fixed point"
