"""The few Kubernetes API calls the operator makes itself (kopf makes the watching ones), over one aiohttp session
built from the credentials kopf logged in with: tokens, client certificates, CA data, whatever the cluster uses.

RBAC_RULES lists exactly the calls made here and by kopf for this operator; the chart's Role is tested against it,
and tests/operator/test_handlers.py checks every request the running operator sends is covered by it.
"""

from __future__ import annotations

import base64
from typing import Any

import aiohttp
import kopf

GROUP, VERSION, PLURAL = "celerity.dev", "v1alpha1", "workerpools"

# Namespaced calls: a Role in each watched namespace (a ClusterRole bound cluster-wide with --all-namespaces).
RBAC_RULES: list[dict[str, list[str]]] = [
    # kopf: watch the pools; patch them for its finalizer (daemons stop cleanly when a pool is deleted).
    {"apiGroups": [GROUP], "resources": [PLURAL], "verbs": ["list", "watch", "patch"]},
    {"apiGroups": [GROUP], "resources": [f"{PLURAL}/status"], "verbs": ["patch"]},  # status_patch
    {"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["get", "patch"]},  # scale_get/scale_patch
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "patch"]},  # pods_list/pod_annotate
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]},  # secret_value, only for spec.broker.secretRef
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},  # kopf.event
]
# Cluster-wide: kopf watches CRDs to learn the resource's definition (it only warns without it), and lists
# namespaces when given --namespace patterns rather than --all-namespaces.
CLUSTER_RBAC_RULES: list[dict[str, list[str]]] = [
    {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"], "verbs": ["list", "watch"]},
    {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list", "watch"]},
]


class KubeApiError(RuntimeError):
    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class KubeApi:
    """One session for the operator's lifetime; `connect` swaps it when kopf logs in again (e.g. a rotated token)."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._server = ""

    async def connect(self, info: kopf.ConnectionInfo) -> kopf.ConnectionInfo:
        await self.close()
        ssl_context = info.as_ssl_context() if info.server.startswith("https") else False
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=ssl_context),
            headers={"User-Agent": "celerity-operator", **info.as_http_headers()},
            timeout=aiohttp.ClientTimeout(total=10),
            proxy=info.proxy_url,
            trust_env=info.trust_env,
        )
        self._server = info.server.rstrip("/")
        return info

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _request(self, method: str, path: str, *, patch: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        if self._session is None:
            raise KubeApiError("not logged in to the Kubernetes API yet")
        if patch is not None:
            kwargs.update(json=patch, headers={"Content-Type": "application/merge-patch+json"})
        async with self._session.request(method, self._server + path, **kwargs) as response:
            if response.status >= 400:
                text = (await response.text())[:300]
                raise KubeApiError(f"{method} {path}: {response.status} {text}", response.status)
            return await response.json(content_type=None)

    async def scale_get(self, namespace: str, deployment: str) -> int:
        body = await self._request("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/{deployment}/scale")
        return int((body.get("spec") or {}).get("replicas") or 0)

    async def scale_patch(self, namespace: str, deployment: str, replicas: int) -> None:
        path = f"/apis/apps/v1/namespaces/{namespace}/deployments/{deployment}/scale"
        await self._request("PATCH", path, patch={"spec": {"replicas": replicas}})

    async def pods_list(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        body = await self._request("GET", f"/api/v1/namespaces/{namespace}/pods", params={"labelSelector": selector})
        return list(body.get("items") or [])

    async def pod_annotate(self, namespace: str, name: str, annotations: dict[str, str]) -> None:
        await self._request(
            "PATCH", f"/api/v1/namespaces/{namespace}/pods/{name}", patch={"metadata": {"annotations": annotations}}
        )

    async def secret_value(self, namespace: str, name: str, key: str) -> str:
        """One key of a Secret, decoded; KubeApiError names what is missing."""
        body = await self._request("GET", f"/api/v1/namespaces/{namespace}/secrets/{name}")
        data = body.get("data") or {}
        if key not in data:
            raise KubeApiError(f"secret {namespace}/{name} has no key {key!r}", 404)
        return base64.b64decode(data[key]).decode()

    async def status_patch(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}/{name}/status"
        await self._request("PATCH", path, patch={"status": status})
