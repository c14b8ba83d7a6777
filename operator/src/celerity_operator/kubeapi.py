"""The few Kubernetes API calls the operator makes, over aiohttp with the credentials kopf logged in with.

RBAC_RULES lists exactly these calls; the chart's Role is tested against it.
"""

from __future__ import annotations

import ssl
from typing import Any

import aiohttp
import kopf

RBAC_RULES: list[dict[str, list[str]]] = [
    {"apiGroups": ["celerity.dev"], "resources": ["workerpools"], "verbs": ["get", "list", "watch", "patch"]},
    {"apiGroups": ["celerity.dev"], "resources": ["workerpools/status"], "verbs": ["get", "patch"]},
    {"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["get", "patch"]},
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "patch"]},
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]},  # only for spec.broker.secretRef
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
    {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create"]},
]
# kopf's one cluster-wide need: it watches CRDs to learn the resource's definition.
CLUSTER_RBAC_RULES: list[dict[str, list[str]]] = [
    {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"], "verbs": ["list", "watch"]},
    {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list", "watch"]},
]

_connection: kopf.ConnectionInfo | None = None


def remember(connection: kopf.ConnectionInfo) -> kopf.ConnectionInfo:
    global _connection
    _connection = connection
    return connection


class KubeApiError(RuntimeError):
    pass


async def _request(method: str, path: str, **kwargs: Any) -> Any:
    if _connection is None:
        raise KubeApiError("not logged in to the Kubernetes API yet")
    headers = {"Accept": "application/json", **kwargs.pop("headers", {})}
    if _connection.token:
        headers["Authorization"] = f"{_connection.scheme or 'Bearer'} {_connection.token}"
    context: ssl.SSLContext | bool = False
    if _connection.server.startswith("https"):
        context = ssl.create_default_context(cafile=_connection.ca_path) if _connection.ca_path else True
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.request(
        method, _connection.server.rstrip("/") + path, headers=headers, ssl=context, **kwargs
    ) as response:  # fmt: skip
        if response.status >= 400:
            raise KubeApiError(f"{method} {path}: {response.status} {await response.text()}")
        return await response.json(content_type=None)


async def scale_get(namespace: str, deployment: str) -> int:
    body = await _request("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/{deployment}/scale")
    return int((body.get("spec") or {}).get("replicas") or 0)


async def scale_patch(namespace: str, deployment: str, replicas: int) -> None:
    await _request(
        "PATCH", f"/apis/apps/v1/namespaces/{namespace}/deployments/{deployment}/scale",
        json={"spec": {"replicas": replicas}}, headers={"Content-Type": "application/merge-patch+json"},
    )  # fmt: skip


async def pods_list(namespace: str, selector: str) -> list[dict[str, Any]]:
    body = await _request("GET", f"/api/v1/namespaces/{namespace}/pods", params={"labelSelector": selector})
    return list(body.get("items") or [])


async def pod_annotate(namespace: str, name: str, annotations: dict[str, str]) -> None:
    await _request(
        "PATCH", f"/api/v1/namespaces/{namespace}/pods/{name}", json={"metadata": {"annotations": annotations}},
        headers={"Content-Type": "application/merge-patch+json"},
    )  # fmt: skip


async def secret_value(namespace: str, name: str, key: str) -> str:
    """One key of a Secret, decoded; KubeApiError names what is missing."""
    import base64

    body = await _request("GET", f"/api/v1/namespaces/{namespace}/secrets/{name}")
    data = body.get("data") or {}
    if key not in data:
        raise KubeApiError(f"secret {namespace}/{name} has no key {key!r}")
    return base64.b64decode(data[key]).decode()
