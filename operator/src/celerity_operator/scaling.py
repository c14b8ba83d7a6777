"""Acting safely on a scale-down: busy pods are made expensive to delete first, so the ReplicaSet removes idle ones.

Kubernetes' ReplicaSet deletes the pods with the lowest `controller.kubernetes.io/pod-deletion-cost` first. Pods are
matched to workers by the heartbeat's `pod` field (the chart sets POD_NAME from the downward API).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from celerity_operator.kubeapi import KubeApi
from celerity_operator.probing import Worker

DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
POOL_LABEL = "celerity.dev/workerpool"
_MAX_COST = 2**31 - 1  # the annotation is an int32


def deletion_costs(pods: Iterable[str], workers: Iterable[Worker]) -> dict[str, int]:
    """Idle pods cost 0 and go first; a running task costs far more than a prefetched one (which a stopping worker
    hands back to the broker); workers already stopping are leaving anyway and cost nothing."""
    costs: dict[str, int] = dict.fromkeys(pods, 0)
    for worker in workers:
        if worker.pod in costs and worker.state == "running":
            costs[worker.pod] = min(costs[worker.pod] + 1000 * worker.active + 10 * worker.reserved, _MAX_COST)
    return costs


async def protect_busy_pods(kube: KubeApi, namespace: str, pool: str, workers: list[Worker]) -> int:
    """Annotate the pool's live pods with their deletion cost; returns how many annotations changed."""
    pods = [p for p in await kube.pods_list(namespace, f"{POOL_LABEL}={pool}") if _live(p)]
    costs = deletion_costs((p["metadata"]["name"] for p in pods), workers)
    changed = 0
    for pod in pods:
        name = pod["metadata"]["name"]
        if (pod["metadata"].get("annotations") or {}).get(DELETION_COST) != str(costs[name]):
            await kube.pod_annotate(namespace, name, {DELETION_COST: str(costs[name])})
            changed += 1
    return changed


def _live(pod: dict[str, Any]) -> bool:
    return not pod.get("metadata", {}).get("deletionTimestamp")
