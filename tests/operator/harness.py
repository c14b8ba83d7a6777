"""The end-to-end harness: plays Kubernetes' ReplicaSet controller and kubelet for one worker Deployment in kmock.

It follows the Deployment's `spec.replicas` with that many real Celery worker processes of the services app, each a
"pod": a Pod object in kmock (labelled for the pool, so the operator can annotate it) and a worker whose heartbeat
names it (`POD_NAME`). On a scale-down it removes the pods with the lowest `pod-deletion-cost` first, as the
ReplicaSet controller does, and stops them with SIGTERM (Celery's warm shutdown), like a kubelet.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack import processes
from devstack.servers import free_port
from tests.operator.cluster import NS, Cluster

DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"


@dataclass
class Replica:
    pod: str
    group: processes.ProcessGroup


@dataclass
class WorkerReplicaSet:
    cluster: Cluster
    deployment: str
    pool: str  # the WorkerPool's name: the pods' `celerity.dev/workerpool` label
    queue: str
    env: dict[str, str]
    logdir: Path
    concurrency: int = 2
    replicas: list[Replica] = field(default_factory=list)
    peak: int = 0
    stopped: int = 0
    removed_costs: list[int] = field(default_factory=list)  # the deletion cost of each removed pod at its removal
    first_scaled_up: float | None = None  # monotonic time the Deployment first asked for a replica
    _serial: int = 0

    def wanted(self) -> int:
        return int(self.cluster.kmock.objects["apps/v1/deployments", NS, self.deployment]["spec"]["replicas"])

    async def follow(self, stop: asyncio.Event) -> None:
        """Reconcile processes with the Deployment every 50 ms until `stop`, then stop every worker."""
        try:
            while not stop.is_set():
                wanted = self.wanted()
                if wanted and self.first_scaled_up is None:
                    self.first_scaled_up = time.monotonic()
                if wanted != len(self.replicas):
                    await self.scale(wanted)
                await asyncio.sleep(0.05)
        finally:
            await self.scale(0)

    async def scale(self, wanted: int) -> None:
        while len(self.replicas) < wanted:
            self.replicas.append(self._start())
        self.peak = max(self.peak, len(self.replicas))
        if len(self.replicas) > wanted:
            # The ReplicaSet controller's order: lowest deletion cost first (then the newest).
            ranked = sorted(reversed(self.replicas), key=self._cost)
            leaving = ranked[: len(self.replicas) - wanted]
            self.removed_costs.extend(self._cost(r) for r in leaving)
            self.replicas = [r for r in self.replicas if r not in leaving]
            for replica in leaving:
                del self.cluster.kmock.objects["v1/pods", NS, replica.pod]
            # SIGTERM all of them at once, then wait out their warm shutdown off the event loop (kmock lives on it).
            await asyncio.gather(*(asyncio.to_thread(r.group.stop, grace=60) for r in leaving))
            self.stopped += len(leaving)

    def _start(self) -> Replica:
        self._serial += 1
        pod = f"{self.deployment}-{self._serial}"
        metrics_dir = self.logdir / "metrics" / pod
        metrics_dir.mkdir(parents=True, exist_ok=True)
        spec = processes.PoolSpec(self.pool, (self.queue,), concurrency=self.concurrency)
        env = {
            **processes.worker_env(spec, self.env, metrics_port=free_port(), multiproc_dir=metrics_dir),
            "POD_NAME": pod,
        }
        argv = processes.worker_argv(spec)
        argv[argv.index("-n") + 1] = f"{self.pool}-{self._serial}@%h"
        group = processes.ProcessGroup()
        group.start(pod, argv, env, log=self.logdir / f"{pod}.log")
        labels = {"celerity.dev/workerpool": self.pool, "celerity.dev/pool": self.pool}
        self.cluster.kmock.objects["v1/pods", NS, pod] = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": pod, "namespace": NS, "uid": str(uuid.uuid4()), "labels": labels},
        }
        return Replica(pod, group)

    def _cost(self, replica: Replica) -> int:
        pod: dict[str, Any] = self.cluster.kmock.objects["v1/pods", NS, replica.pod]
        return int((pod["metadata"].get("annotations") or {}).get(DELETION_COST, 0))
