"""The scaling decision, exhaustively: documented examples, then properties over generated loads, specs and pasts."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from celerity_operator.policy import (
    CAUSES,
    Decision,
    Load,
    Rate,
    Recommendation,
    Scaling,
    Spec,
    decide,
    keep_seconds,
    remember,
    remember_scaling,
)

# The CRD's defaults (charts/celerity/crds/workerpools.yaml).
UP = Rate(stabilization_window_seconds=0, max_step_pods=4, max_step_percent=100, period_seconds=15)
DOWN = Rate(stabilization_window_seconds=60, max_step_pods=2, max_step_percent=50, period_seconds=30)
SPEC = Spec(min_replicas=0, max_replicas=10, target_backlog_per_replica=8, scale_up=UP, scale_down=DOWN)


def run(
    load: Load,
    current: int,
    history: list[Recommendation] | None = None,
    now: float = 1000.0,
    scalings: list[Scaling] | None = None,
    spec: Spec = SPEC,
) -> Decision:
    return decide(load=load, current=current, spec=spec, history=history or [], now=now, scalings=scalings or [])


# The examples in docs/operator.md, "Deciding".
@pytest.mark.parametrize(
    ("load", "current", "replicas", "cause", "why"),
    [
        (Load(1, 0, 0), 0, 1, "from_zero", "the first waiting task wakes a pool at zero"),
        (Load(40, 0, 0), 0, 4, "from_zero", "from zero, at most maxStepPods in one step"),
        (Load(40, 0, 0), 4, 5, "backlog", "40 tasks / 8 per replica"),
        (Load(500, 0, 0), 8, 10, "max_replicas", "never above maxReplicas"),
        (Load(0, 16, 16), 2, 2, "backlog", "prefetched and running work counts: KEDA's LLEN would say 0"),
        (Load(0, 0, 0), 0, 0, "idle", "an idle pool at zero stays there"),
        (Load(0, 0, 0), 6, 3, "rate_limited", "idle: down by at most 50% of 6 in one period"),
        (Load(0, 3, 3, busy_pods=3), 6, 3, "busy_pods", "never below the busy pods"),
        (Load(0, 2, 2, busy_pods=2), 3, 2, "busy_pods", "one busy task per pod keeps its pod"),
    ],
)
def test_documented_examples(load: Load, current: int, replicas: int, cause: str, why: str) -> None:
    decision = run(load, current)
    assert decision.replicas == replicas, why
    assert decision.cause == cause, why


def test_scale_down_waits_for_the_stabilisation_window() -> None:
    busy = [Recommendation(at=t, replicas=6) for t in (950.0, 980.0)]
    assert run(Load(0, 0, 0), 6, busy, now=1000.0).replicas == 6  # 6 were needed within the last 60 s
    held = run(Load(0, 0, 0), 6, busy, now=1000.0)
    assert (held.direction, held.cause) == ("hold", "stabilizing")
    assert run(Load(0, 0, 0), 6, busy, now=1041.0).replicas == 3  # the window passed: down by the step limit


def test_scale_up_is_limited_per_period_not_per_poll() -> None:
    just_scaled = [Scaling(at=995.0, before=0, after=4)]
    held = run(Load(200, 0, 0), 4, scalings=just_scaled, now=1000.0)
    assert (held.replicas, held.cause) == (4, "rate_limited"), "4 pods were added 5 s ago: the 15 s period is spent"
    assert run(Load(200, 0, 0), 4, scalings=just_scaled, now=1011.0).replicas == 8, "a new period: +100%"


def test_scale_down_is_limited_per_period() -> None:
    spec = Spec(0, 10, 8, UP, Rate(0, 2, 50, period_seconds=30))
    removed = [Scaling(at=990.0, before=8, after=6)]
    assert run(Load(0, 0, 0), 6, scalings=removed, spec=spec).replicas == 4, "50% of 8 may go per period: 2 more"
    assert run(Load(0, 0, 0), 4, scalings=[*removed, Scaling(995.0, 6, 4)], spec=spec).cause == "rate_limited"


def test_a_pool_at_zero_wakes_even_while_stabilising_and_rate_limited() -> None:
    up = Rate(stabilization_window_seconds=300, max_step_pods=1, max_step_percent=1, period_seconds=600)
    spec = Spec(0, 10, 8, up, DOWN)
    past = [Recommendation(990.0, 0)]
    bounced = [Scaling(980.0, 0, 1), Scaling(985.0, 1, 0)]
    assert run(Load(1, 0, 0), 0, past, scalings=bounced, spec=spec).replicas == 1


def test_a_lowered_max_replicas_is_obeyed_at_once() -> None:
    spec = Spec(0, 3, 8, UP, DOWN)
    assert run(Load(100, 0, 0), 8, spec=spec).replicas == 3


def test_the_history_keeps_only_what_the_windows_and_periods_look_at() -> None:
    assert keep_seconds(SPEC) == 60
    history = remember([Recommendation(900.0, 5), Recommendation(990.0, 4)], run(Load(8, 0, 0), 1), 1000.0, 60)
    assert history == [Recommendation(990.0, 4), Recommendation(1000.0, 1)]
    assert remember_scaling([Scaling(900.0, 0, 1)], 1, 3, 1000.0, 60) == [Scaling(1000.0, 1, 3)]


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
    period_seconds=st.sampled_from([0, 1, 15, 60]),
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


recommendations = st.lists(st.builds(Recommendation, at=st.floats(0, 999), replicas=st.integers(0, 50)), max_size=8)
scalings = st.lists(
    st.builds(Scaling, at=st.floats(0, 999), before=st.integers(0, 50), after=st.integers(0, 50)), max_size=4
)


@settings(max_examples=400, deadline=None)
@given(load=loads, spec=specs(), current=st.integers(0, 60), history=recommendations, past=scalings)
def test_replicas_stay_within_bounds(
    load: Load, spec: Spec, current: int, history: list[Recommendation], past: list[Scaling]
) -> None:
    decision = decide(load=load, current=current, spec=spec, history=history, now=1000.0, scalings=past)
    if spec.min_replicas <= current <= spec.max_replicas:
        assert spec.min_replicas <= decision.replicas <= spec.max_replicas
    assert decision.replicas <= max(current, spec.max_replicas)
    if load.backlog or load.running:
        assert decision.replicas >= 1, "work never waits at zero replicas"
    if decision.replicas < current:
        assert decision.replicas >= min(decision.need, current), "never below the need (nor the busy pods)"
        assert decision.replicas >= min(load.busy_pods, spec.max_replicas)
    assert decision.cause in CAUSES
    assert decision.direction == (
        "up" if decision.replicas > current else "down" if decision.replicas < current else "hold"
    )


@settings(max_examples=300, deadline=None)
@given(load=loads, spec=specs(), history=recommendations, past=scalings)
def test_scale_from_zero_within_one_poll(
    load: Load, spec: Spec, history: list[Recommendation], past: list[Scaling]
) -> None:
    woken = Load(max(load.waiting, 1), load.reserved, load.running, load.busy_pods)
    assert decide(load=woken, current=0, spec=spec, history=history, now=1000.0, scalings=past).replicas >= 1


@settings(max_examples=300, deadline=None)
@given(
    load=loads,
    extra=st.integers(0, 5_000),
    spec=specs(),
    current=st.integers(0, 50),
    history=recommendations,
    past=scalings,
)
def test_more_backlog_never_means_fewer_replicas(
    load: Load, extra: int, spec: Spec, current: int, history: list[Recommendation], past: list[Scaling]
) -> None:
    more = Load(load.waiting + extra, load.reserved, load.running, load.busy_pods)
    now = 1000.0
    fewer = decide(load=load, current=current, spec=spec, history=history, now=now, scalings=past)
    assert decide(load=more, current=current, spec=spec, history=history, now=now, scalings=past).replicas >= (
        fewer.replicas
    )


@settings(max_examples=300, deadline=None)
@given(load=loads, spec=specs(), current=st.integers(1, 50), peak=st.integers(0, 50), age=st.floats(0, 400))
def test_no_scale_down_below_a_need_seen_within_the_window(
    load: Load, spec: Spec, current: int, peak: int, age: float
) -> None:
    history = [Recommendation(1000.0 - age, peak)]
    decision = decide(load=load, current=current, spec=spec, history=history, now=1000.0)
    if age < spec.scale_down.stabilization_window_seconds and current <= spec.max_replicas:
        assert decision.replicas >= min(peak, current)


@settings(max_examples=200, deadline=None)
@given(load=loads, spec=specs(), current=st.integers(0, 50), period=st.sampled_from([1.0, 5.0, 15.0]))
def test_a_steady_load_converges_and_never_flaps(load: Load, spec: Spec, current: int, period: float) -> None:
    current = min(max(current, spec.min_replicas), spec.max_replicas)
    history: list[Recommendation] = []
    applied: list[Scaling] = []
    directions: list[str] = []
    keep = keep_seconds(spec)
    for tick in range(200):
        now = tick * period
        decision = decide(load=load, current=current, spec=spec, history=history, now=now, scalings=applied)
        history = remember(history, decision, now, keep)
        if decision.replicas != current:
            directions.append(decision.direction)
            applied = remember_scaling(applied, current, decision.replicas, now, keep)
        current = decision.replicas
    assert len(set(directions)) <= 1, f"flapped under a steady load: {directions}"
    final = decide(load=load, current=current, spec=spec, history=history, now=200 * period, scalings=applied)
    assert final.replicas == current, "a steady load ends at a fixed point"
