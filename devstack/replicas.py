"""A pool's worker replicas on this machine, as Kubernetes' ReplicaSet keeps a Deployment's pods (the local autoscaler
scales it): above the supervisor, which restarts a replica in place, and the process primitives below both."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from devstack import stopping
from devstack.processes import PoolSpec, ProcessGroup, worker_argv, worker_env
from devstack.servers import free_port
from devstack.supervising import Launch, Stopping, Supervisor


class ReplicaSet:
    """Plays Kubernetes' ReplicaSet for one pool on this machine: as many worker processes as asked for, each in its
    own process group; the ones removed get SIGTERM (Celery's warm shutdown) like a deleted pod. With a supervisor,
    a replica that exits or hangs is restarted in place, as the kubelet restarts a pod's container."""

    def __init__(
        self, pool: PoolSpec, env: dict[str, str], logdir: Path, *, supervisor: Supervisor | None = None
    ) -> None:
        self.pool, self.env, self.logdir, self.supervisor = pool, env, logdir, supervisor
        self.replicas: list[ProcessGroup] = []
        self.stopped = 0
        self.peak = 0
        self.closed = False  # after close(): no replica is ever started again
        # The autoscaler's thread scales while the main thread may be closing: one at a time, or a replica started
        # during the close would outlive the stack.
        self._lock = threading.Lock()

    def close(self) -> None:
        """Stop every replica; later scale-ups are refused (the stack is stopping)."""
        with self._lock:
            self.closed = True
        self.scale(0)

    def scale(self, replicas: int) -> None:
        with stopping.uninterrupted(), self._lock:
            self._scale(0 if self.closed else replicas)

    def _scale(self, replicas: int) -> None:
        while len(self.replicas) < replicas:
            name = f"{self.pool.name}-{time.monotonic_ns()}"
            metrics_dir = self.logdir / "metrics" / name
            metrics_dir.mkdir(parents=True, exist_ok=True)
            port = free_port()
            env = worker_env(self.pool, self.env, metrics_port=port, multiproc_dir=metrics_dir)
            pod = f"{self.pool.name}-{len(self.replicas)}-{time.monotonic_ns() % 100000}"
            env["POD_NAME"] = pod  # one heartbeat identity per replica, as the downward API gives each pod
            group = ProcessGroup()
            argv = [*worker_argv(self.pool)]
            argv[argv.index("-n") + 1] = f"{pod}@%h"
            launch = Launch(
                name, argv, env, live_url=f"http://127.0.0.1:{port}/healthz", log=self.logdir / f"{name}.log"
            )
            if self.supervisor is None:
                group.start(name, argv, env, log=launch.log)
            else:
                try:
                    self.supervisor.add(launch, group=group)
                except Stopping:  # the stack began to stop after the autoscaler's decision: start nothing more
                    self.closed = True
                    break
            self.replicas.append(group)
        while len(self.replicas) > replicas:
            group = self.replicas.pop()
            if self.supervisor is not None:
                self.supervisor.release(group.children[0].name)
            group.stop(grace=float(self.env.get("CELERITY_STOP_GRACE", "60")))
            self.stopped += 1
        self.peak = max(self.peak, len(self.replicas))
