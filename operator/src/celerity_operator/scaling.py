"""Acting on a decision safely: busy pods are made expensive to delete before a scale-down, then the scale is set."""

from __future__ import annotations

from celerity_operator import kubeapi
from celerity_operator.probing import Worker

DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
POOL_LABEL = "celerity.dev/workerpool"


def deletion_costs(pods: list[str], workers: list[Worker]) -> dict[str, int]:
    """Idle pods cost 0 (removed first); busy ones cost more the more they hold; stopping ones are already going."""
    by_pod: dict[str, int] = dict.fromkeys(pods, 0)
    for worker in workers:
        if worker.pod in by_pod and worker.state == "running":
            by_pod[worker.pod] += 1000 * worker.active + 10 * worker.reserved
    return by_pod


async def protect_busy_pods(namespace: str, pool: str, workers: list[Worker]) -> int:
    """Annotate the pool's pods with their deletion cost; returns how many annotations changed."""
    pods = await kubeapi.pods_list(namespace, f"{POOL_LABEL}={pool}")
    names = [p["metadata"]["name"] for p in pods]
    costs = deletion_costs(names, workers)
    changed = 0
    for pod in pods:
        name = pod["metadata"]["name"]
        current = (pod["metadata"].get("annotations") or {}).get(DELETION_COST)
        if current != str(costs[name]):
            await kubeapi.pod_annotate(namespace, name, {DELETION_COST: str(costs[name])})
            changed += 1
    return changed
