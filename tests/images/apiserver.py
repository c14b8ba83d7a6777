"""The Kubernetes API the operator container talks to: kmock on 127.0.0.1, holding what the chart renders into the
release's namespace (the WorkerPools, admitted as an API server would, their Deployments and broker Secret), and a
kubeconfig naming it, mounted where the kubelet would mount the service account's token."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path
from typing import Any

from tests.images.pods import Pod
from tests.operator.apiserver import admit
from tests.operator.cluster import WP, Cluster, write_kubeconfig

KUBECONFIG = "/var/run/celerity/kubeconfig"


def _stored(obj: dict[str, Any]) -> dict[str, Any]:
    """As an API server stores it: kopf keys its per-object memory by uid."""
    obj["metadata"].update(uid=str(uuid.uuid4()), resourceVersion="1", generation=1)
    return obj


def cluster_from_render(kmock: Any, pod: Pod, *, replicas: int = 1) -> Cluster:
    """kmock with the resources kopf needs, the release's namespace, and every rendered WorkerPool with its
    Deployment (at `replicas`) and the Secret its broker reference names (its keys as the containers see them)."""
    cluster = Cluster(kmock)
    kmock.objects["v1/namespaces", None, pod.namespace] = _stored(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": pod.namespace}}
    )
    pools = [o for o in pod.objects if o["kind"] == "WorkerPool"]
    for pool in pools:
        kmock.objects[WP, pod.namespace, pool["metadata"]["name"]] = admit(_stored(pool))
        name = pool["spec"]["deploymentName"]
        (rendered,) = [o for o in pod.objects if o["kind"] == "Deployment" and o["metadata"]["name"] == name]
        deployment = {**_stored(rendered), "spec": {"replicas": replicas}}
        kmock.objects["apps/v1/deployments", pod.namespace, name] = deployment
    for secret in {p["spec"]["broker"]["secretRef"]["name"] for p in pools if p["spec"].get("broker")}:
        data = {k: base64.b64encode(v.encode()).decode() for k, v in pod.data("Secret", secret).items()}
        metadata = {"name": secret, "namespace": pod.namespace}
        kmock.objects["v1/secrets", pod.namespace, secret] = _stored(
            {"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "data": data}
        )
    return cluster


def kubeconfig_mount(kmock: Any, directory: Path) -> list[str]:
    """`podman run` arguments that hand the container a kubeconfig for kmock (KUBECONFIG, read by the operator's
    login when no service account token is mounted)."""
    kubeconfig = write_kubeconfig(directory / "kubeconfig", str(kmock.url))
    kubeconfig.chmod(0o644)  # the container's UID 10001 reads it
    return ["--volume", f"{kubeconfig}:{KUBECONFIG}:ro", "--env", f"KUBECONFIG={KUBECONFIG}"]
