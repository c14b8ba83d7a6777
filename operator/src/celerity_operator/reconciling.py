"""One reconcile of one WorkerPool: check the spec, read the scale, probe Redis, decide, act safely, report.

Every failure ends in a status condition rather than an exception: an unreadable broker keeps the replicas
(`ProbeFailed`), a bad spec or a missing Deployment makes the pool not `Ready`. Events are posted for scale
decisions and when a problem starts or ends, never once per poll.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript

from celerity_operator import metrics, parsing, policy, probing, scaling
from celerity_operator.kubeapi import KubeApi, KubeApiError
from celerity_operator.status import Condition, conditions, timestamp

PROBE_TIMEOUT_SECONDS = 5.0


@dataclass
class PoolMemory:
    """What one pool remembers between reconciles; its daemon owns it, and closes it when the pool goes away."""

    history: list[policy.Recommendation] = field(default_factory=list)
    scalings: list[policy.Scaling] = field(default_factory=list)
    seeded: bool = False
    problem: str | None = None  # the reason of the problem last reported by an Event
    conditions: list[dict[str, Any]] = field(default_factory=list)
    client: aioredis.Redis | None = None
    client_url: str = ""
    script: AsyncScript | None = None

    async def redis_for(self, url: str) -> tuple[aioredis.Redis, AsyncScript]:
        if self.client is None or self.script is None or url != self.client_url:
            await self.close()
            # One attempt per poll: the next poll is the retry, and a probe never outlives its poll.
            self.client = aioredis.Redis.from_url(
                url, socket_timeout=3, socket_connect_timeout=3, retry=Retry(NoBackoff(), 0)
            )
            self.client_url, self.script = url, probing.script_for(self.client)
        return self.client, self.script

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()
        self.client, self.script, self.client_url = None, None, ""


@dataclass
class Outcome:
    status: dict[str, Any]
    events: list[tuple[str, str, str]] = field(default_factory=list)  # (type, reason, message)


@dataclass(frozen=True)
class Observed:
    """What one reconcile saw: the pool's spec, its Deployment's replicas and its queues' backlog."""

    pool: parsing.PoolSpec
    current: int
    observation: probing.Observation
    load: policy.Load


class _Problem(Exception):
    """A step that cannot go on this time; the pool's conditions say why (`_problem`)."""

    def __init__(self, reason: str, message: str, *, current: int | None = None) -> None:
        super().__init__(message)
        self.reason, self.message, self.current = reason, message, current


async def reconcile(
    *,
    kube: KubeApi,
    name: str,
    namespace: str,
    spec: Mapping[str, Any],
    generation: int | None,
    memory: PoolMemory,
    default_redis_url: str | None,
    now: float | None = None,
) -> Outcome:
    """Observe (the spec, the scale, the backlog), decide (the pure policy), act (scale, busy pods protected first),
    report (status, events, conditions). A step that fails ends the reconcile in a problem instead."""
    now = time.time() if now is None else now
    labels = {"namespace": namespace, "pool": name}
    try:
        seen = await _observe(kube, namespace, spec, memory, default_redis_url, labels)
        decision = _decide(seen, memory, labels, now)
        recovered, memory.problem = memory.problem, None
        scaled = await _act(kube, namespace, name, seen, decision, memory, labels, now)
    except _Problem as problem:
        return _problem(
            memory, labels, problem.reason, problem.message, now=now, generation=generation, current=problem.current
        )
    return _report(seen, decision, memory, labels, recovered=recovered, scaled=scaled, now=now, generation=generation)


async def _observe(
    kube: KubeApi,
    namespace: str,
    spec: Mapping[str, Any],
    memory: PoolMemory,
    default_redis_url: str | None,
    labels: dict[str, str],
) -> Observed:
    try:
        pool = parsing.pool_spec(spec)
    except parsing.InvalidSpec as exc:
        raise _Problem("InvalidSpec", str(exc)) from exc
    metrics.MAXIMUM.labels(**labels).set(pool.policy.max_replicas)
    try:
        current = await kube.scale_get(namespace, pool.deployment)
    except KubeApiError as exc:
        metrics.RECONCILE_ERRORS.labels(**labels).inc()
        raise _Problem(
            "ScaleTargetUnavailable", f"cannot read the scale of deployment {pool.deployment}: {exc}"
        ) from exc
    metrics.CURRENT.labels(**labels).set(current)
    try:
        observation = await _probe(kube, namespace, pool, memory, default_redis_url, labels)
    except probing.ProbeError as exc:
        raise _Problem("ProbeFailed", f"keeping {current} replicas: {exc}", current=current) from exc
    return Observed(pool, current, observation, observation.load())


def _decide(seen: Observed, memory: PoolMemory, labels: dict[str, str], now: float) -> policy.Decision:
    """The policy's decision, remembered in the pool's history."""
    if not memory.seeded:
        # After a (re)start the operator knows no history: treat the current count as just recommended, so no
        # scale-down happens before a full window has been watched.
        memory.history, memory.seeded = [policy.Recommendation(now, seen.current)], True
    spec = seen.pool.policy
    decision = policy.decide(
        load=seen.load,
        current=seen.current,
        spec=spec,
        history=memory.history,
        now=now,
        scalings=memory.scalings,
    )
    memory.history = policy.remember(memory.history, decision, now, policy.keep_seconds(spec))
    metrics.observe_load(labels, seen.observation, desired=decision.replicas)
    return decision


async def _act(
    kube: KubeApi,
    namespace: str,
    name: str,
    seen: Observed,
    decision: policy.Decision,
    memory: PoolMemory,
    labels: dict[str, str],
    now: float,
) -> bool:
    """Scale the Deployment to the decision, unless the pool is paused or already there; True when it scaled."""
    pool, current = seen.pool, seen.current
    if pool.paused or decision.replicas == current:
        return False
    if decision.direction == "down":
        # Busy pods first become expensive to delete, so the ReplicaSet removes idle ones. If that fails, the
        # scale-down waits for the next poll rather than risk busy pods.
        try:
            await scaling.protect_busy_pods(kube, namespace, name, seen.observation.workers)
        except KubeApiError as exc:
            metrics.RECONCILE_ERRORS.labels(**labels).inc()
            message = f"not scaling down: cannot set pod deletion costs: {exc}"
            raise _Problem("PodsUnavailable", message, current=current) from exc
    try:
        await kube.scale_patch(namespace, pool.deployment, decision.replicas)
    except KubeApiError as exc:
        metrics.RECONCILE_ERRORS.labels(**labels).inc()
        message = f"cannot scale deployment {pool.deployment}: {exc}"
        raise _Problem("ScaleFailed", message, current=current) from exc
    keep = policy.keep_seconds(pool.policy)
    memory.scalings = policy.remember_scaling(memory.scalings, current, decision.replicas, now, keep)
    metrics.scaled(labels, decision)
    return True


def _report(
    seen: Observed,
    decision: policy.Decision,
    memory: PoolMemory,
    labels: dict[str, str],
    *,
    recovered: str | None,
    scaled: bool,
    now: float,
    generation: int | None,
) -> Outcome:
    """The pool's status, conditions and events after a reconcile that went through."""
    pool, load = seen.pool, seen.load
    outcome = Outcome(
        status={
            "observedBacklog": {"waiting": load.waiting, "reserved": load.reserved, "running": load.running},
            "desiredReplicas": decision.replicas,
            "currentReplicas": seen.current,
        }
    )
    if recovered is not None:
        outcome.events.append(("Normal", "Recovered", f"{recovered} is resolved"))
    if scaled:
        outcome.status.update(
            currentReplicas=decision.replicas, lastScaleTime=timestamp(now), lastScaleReason=decision.reason
        )
        kind = "ScaledUp" if decision.direction == "up" else "ScaledDown"
        outcome.events.append(("Normal", kind, f"{pool.deployment}: {decision.reason} ({decision.cause})"))
    at_max = decision.wanted >= pool.policy.max_replicas and decision.replicas >= pool.policy.max_replicas
    ready = Condition(
        "Ready",
        True,
        "Paused" if pool.paused else "Reconciled",
        f"paused: would scale to {decision.replicas}" if pool.paused else decision.reason,
    )
    capped = Condition(
        "AtMaxReplicas",
        at_max,
        "BacklogExceedsMax" if at_max else "BelowMax",
        f"the backlog asks for {decision.wanted} replicas" if at_max else "",
    )
    new = [ready, Condition("ProbeFailed", False, "ProbeSucceeded"), capped]
    outcome.status.update(_conditions(memory, new, now, generation))
    metrics.conditions(labels, new)
    return outcome


async def _probe(
    kube: KubeApi,
    namespace: str,
    pool: parsing.PoolSpec,
    memory: PoolMemory,
    default_url: str | None,
    labels: dict[str, str],
) -> probing.Observation:
    url = default_url
    if pool.broker_secret is not None:
        secret, key = pool.broker_secret
        try:
            url = await kube.secret_value(namespace, secret, key)
        except KubeApiError as exc:
            metrics.PROBE_ERRORS.labels(**labels).inc()
            raise probing.ProbeError(f"the broker secret is unreadable: {exc}") from exc
    if not url:
        metrics.PROBE_ERRORS.labels(**labels).inc()
        raise probing.ProbeError("no broker: set spec.broker.secretRef or CELERITY_OPERATOR_REDIS_URL")
    client, script = await memory.redis_for(url)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
            return await probing.probe(client, pool.queues, script=script)
    except (probing.ProbeError, TimeoutError) as exc:
        metrics.PROBE_ERRORS.labels(**labels).inc()
        await memory.close()  # a fresh connection next time, in case this one is wedged
        raise probing.ProbeError(str(exc) or "the probe timed out") from exc
    finally:
        metrics.PROBE_SECONDS.labels(**labels).observe(time.perf_counter() - started)


def _problem(
    memory: PoolMemory,
    labels: dict[str, str],
    reason: str,
    message: str,
    *,
    now: float,
    generation: int | None,
    current: int | None = None,
) -> Outcome:
    """A pool that cannot be scaled this time: say so in the conditions; an Event only when the problem starts."""
    probe_failed = reason == "ProbeFailed"
    new = [
        Condition("Ready", False, reason, message),
        Condition(
            "ProbeFailed",
            probe_failed,
            "RedisUnreachable" if probe_failed else "NotProbed",
            message if probe_failed else "",
        ),
        Condition("AtMaxReplicas", False, "Unknown"),
    ]
    outcome = Outcome(status=_conditions(memory, new, now, generation))
    if current is not None:
        outcome.status.update(currentReplicas=current, desiredReplicas=current)
        metrics.DESIRED.labels(**labels).set(current)
    if memory.problem != reason:
        outcome.events.append(("Warning", reason, message[:1000]))
        memory.problem = reason
    metrics.conditions(labels, new)
    return outcome


def _conditions(memory: PoolMemory, new: list[Condition], now: float, generation: int | None) -> dict[str, Any]:
    memory.conditions = conditions(new, memory.conditions, now=now, generation=generation)
    status: dict[str, Any] = {"conditions": memory.conditions}
    if generation is not None:
        status["observedGeneration"] = generation
    return status
