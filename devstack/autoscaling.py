"""The operator's probe and policy, applied to local worker processes: how `make run` scales its bulk pool.

There is no Kubernetes API on a laptop, so kopf has nothing to watch; but the parts that matter (one-round-trip
probe of Redis, the pure scaling decision) are the operator's own, and a ReplicaSet of local processes stands in
for the Deployment. Scale-downs SIGTERM the newest workers, which finish their tasks first (warm shutdown).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import redis.asyncio as aioredis

from celerity_operator import policy, probing
from devstack.replicas import ReplicaSet

LOCAL_POLICY = policy.Spec(
    min_replicas=1,
    max_replicas=3,
    target_backlog_per_replica=8,
    scale_up=policy.Rate(stabilization_window_seconds=0, max_step_pods=2, max_step_percent=100),
    scale_down=policy.Rate(stabilization_window_seconds=10, max_step_pods=1, max_step_percent=50),
)


class LocalAutoscaler:
    def __init__(
        self,
        replicas: ReplicaSet,
        redis_url: str,
        *,
        spec: policy.Spec = LOCAL_POLICY,
        interval: float = 1.0,
        say: Callable[[str], None] = print,
    ) -> None:
        self.replicas, self.redis_url, self.spec, self.interval, self.say = replicas, redis_url, spec, interval, say
        self.decisions: list[policy.Decision] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), name="autoscaler", daemon=True)

    def start(self) -> None:
        self.replicas.scale(self.spec.min_replicas)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self.replicas.close()

    async def _run(self) -> None:
        client = aioredis.Redis.from_url(self.redis_url, socket_timeout=3, socket_connect_timeout=3)
        history: list[policy.Recommendation] = []
        keep = max(self.spec.scale_up.stabilization_window_seconds, self.spec.scale_down.stabilization_window_seconds)
        try:
            while not self._stop.is_set():
                try:
                    observation = await probing.probe(client, list(self.replicas.pool.queues))
                except probing.ProbeError:
                    await asyncio.sleep(self.interval)  # keep the replicas; try again
                    continue
                now, current = time.time(), len(self.replicas.replicas)
                decision = policy.decide(
                    load=observation.load(), current=current, spec=self.spec, history=history, now=now
                )
                history = policy.remember(history, decision, now, keep)
                if decision.replicas != current:
                    self.decisions.append(decision)
                    self.say(
                        f">> autoscale {self.replicas.pool.name}: {current} -> {decision.replicas} workers "
                        f"({decision.reason})"
                    )
                    await asyncio.to_thread(self.replicas.scale, decision.replicas)
                await asyncio.sleep(self.interval)
        finally:
            await client.aclose()
