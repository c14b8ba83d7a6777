"""kmock dressed as the slice of a cluster the operator sees, and the operator running against it under kopf."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from celerity_operator.kubeapi import CLUSTER_RBAC_RULES, RBAC_RULES
from tests.operator.apiserver import admit, crd

NS, POOL, DEPLOY = "ns1", "bulk", "celerity-worker-bulk"
WP = "celerity.dev/v1alpha1/workerpools"
TEST_CLIENT = {"X-Celerity-Test": "user"}  # marks the requests the test makes as a user, not the operator


def write_kubeconfig(path: Path, server: str) -> Path:
    """A kubeconfig naming `server` (kmock) with no credentials: how the operator reaches it, as any cluster."""
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "kmock",
        "clusters": [{"name": "kmock", "cluster": {"server": server}}],
        "users": [{"name": "operator", "user": {}}],
        "contexts": [{"name": "kmock", "context": {"cluster": "kmock", "user": "operator"}}],
    }))  # fmt: skip # laid out like the kubeconfig file it becomes
    return path


class Cluster:
    """kmock dressed as the slice of a cluster the operator sees: the resources it uses, a Deployment, WorkerPools."""

    def __init__(self, kmock: Any) -> None:
        self.kmock = kmock
        rw = ["list", "watch", "get", "patch"]
        kmock.resources[WP] = {"kind": "WorkerPool", "namespaced": True, "subresources": ["status"], "verbs": rw}
        kmock.resources["apps/v1/deployments"] = {
            "kind": "Deployment",
            "namespaced": True,
            "subresources": ["scale", "status"],
            "verbs": rw,
        }
        kmock.resources["v1/pods"] = {"kind": "Pod", "namespaced": True, "verbs": rw}
        kmock.resources["v1/events"] = {"kind": "Event", "namespaced": True, "verbs": ["create", "list"]}
        kmock.resources["v1/secrets"] = {"kind": "Secret", "namespaced": True, "verbs": ["get"]}
        # Without these two, kopf's discovery never completes and no handler runs (shared/NOTES.md).
        kmock.resources["apiextensions.k8s.io/v1/customresourcedefinitions"] = {
            "kind": "CustomResourceDefinition",
            "namespaced": False,
            "verbs": ["list", "watch", "get"],
        }
        kmock.resources["v1/namespaces"] = {"kind": "Namespace", "namespaced": False, "verbs": ["list", "watch", "get"]}
        kmock.objects["apiextensions.k8s.io/v1/customresourcedefinitions", None, crd()["metadata"]["name"]] = crd()

    def deployment(self, replicas: int = 0, name: str = DEPLOY) -> None:
        self.kmock.objects["apps/v1/deployments", NS, name] = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": name,
                "namespace": NS,
                "uid": str(uuid.uuid4()),
                "resourceVersion": "1",
                "generation": 1,
            },
            "spec": {"replicas": replicas},
        }

    def pool(self, spec: dict[str, Any], *, name: str = POOL, validate: bool = True) -> None:
        """A WorkerPool as the API server would store it (defaults, schema, CEL), unless `validate` is off: the spec
        that slipped past validation."""
        # kopf keys its per-object memory (and daemons) by uid, which every real object has.
        meta = {"name": name, "namespace": NS, "uid": str(uuid.uuid4()), "resourceVersion": "1", "generation": 1}
        obj = {"apiVersion": "celerity.dev/v1alpha1", "kind": "WorkerPool", "metadata": meta, "spec": spec}
        self.kmock.objects[WP, NS, name] = admit(obj) if validate else obj

    async def patch_pool(self, patch: dict[str, Any], name: str = POOL) -> None:
        """What `kubectl patch --type=merge` does: through the API, so that watchers see the change."""
        url = f"{self.kmock.url}/apis/celerity.dev/v1alpha1/namespaces/{NS}/workerpools/{name}"
        headers = {"Content-Type": "application/merge-patch+json", **TEST_CLIENT}
        async with aiohttp.ClientSession() as session, session.patch(url, json=patch, headers=headers) as response:
            response.raise_for_status()

    async def delete_pool(self, name: str = POOL) -> None:
        """What `kubectl delete` does: the finalizer holds the object until kopf has stopped the pool's daemon."""
        url = f"{self.kmock.url}/apis/celerity.dev/v1alpha1/namespaces/{NS}/workerpools/{name}"
        async with aiohttp.ClientSession() as session, session.delete(url, headers=TEST_CLIENT) as response:
            response.raise_for_status()

    def pod(self, name: str) -> None:
        labels = {"celerity.dev/workerpool": POOL}
        meta = {"name": name, "namespace": NS, "uid": str(uuid.uuid4()), "resourceVersion": "1", "labels": labels}
        self.kmock.objects["v1/pods", NS, name] = {"apiVersion": "v1", "kind": "Pod", "metadata": meta}

    def replicas(self, name: str = DEPLOY) -> int:
        return int(self.kmock.objects["apps/v1/deployments", NS, name]["spec"]["replicas"])

    def status(self, name: str = POOL) -> dict[str, Any]:
        return dict(self.kmock.objects[WP, NS, name].get("status") or {})

    def condition(self, kind: str, name: str = POOL) -> dict[str, Any]:
        return next((c for c in self.status(name).get("conditions", []) if c["type"] == kind), {})

    def events(self) -> list[dict[str, Any]]:
        return [
            dict(obj) for key, obj in self.kmock.objects.items() if key[0] == "v1/events" or "events" in str(key[0])
        ]

    def reasons(self) -> list[str]:
        return [str(event.get("reason")) for event in self.events()]

    def uncovered_requests(self) -> list[str]:
        """Requests no RBAC rule of the operator allows (discovery needs none)."""
        allowed = {
            (g, r, v)
            for rule in [*RBAC_RULES, *CLUSTER_RBAC_RULES]
            for g in rule["apiGroups"]
            for r in rule["resources"]
            for v in rule["verbs"]
        }
        uncovered = []
        for request in self.kmock:
            if TEST_CLIENT.keys() & request.headers.keys():
                continue  # the test acting as a user (kubectl), not the operator
            need = _rbac_need(
                str(getattr(request.method, "value", request.method)), request.url.path, dict(request.params)
            )
            if need is not None and need not in allowed:
                uncovered.append(f"{request.method} {request.url.path} needs {need}")
        return uncovered


_PATH = re.compile(
    r"^/(?:api/(?P<core>v1)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))"
    r"(?:/namespaces/(?P<ns>[^/]+))?/(?P<plural>[^/]+)(?:/(?P<name>[^/]+))?(?:/(?P<sub>[^/]+))?$"
)


def _rbac_need(method: str, path: str, params: dict[str, str]) -> tuple[str, str, str] | None:
    match = _PATH.match(path)
    if match is None:
        return None  # discovery: /api, /apis, /apis/<group>/<version>, /version
    group = "" if match["core"] else match["group"]
    resource = match["plural"] + (f"/{match['sub']}" if match["sub"] else "")
    verb = {"POST": "create", "PATCH": "patch", "PUT": "update", "DELETE": "delete"}.get(method.upper())
    if verb is None:
        verb = "watch" if params.get("watch") in ("true", "1") else "get" if match["name"] else "list"
    return group, resource, verb


@contextlib.asynccontextmanager
async def running_operator(*, seconds: float = 60) -> AsyncIterator[None]:
    """`kopf run --standalone -A -m celerity_operator` on its own thread; the test's loop keeps serving kmock."""
    from kopf.testing import KopfRunner

    runner = KopfRunner(["run", "--standalone", "-A", "-m", "celerity_operator"], timeout=seconds)
    runner.__enter__()
    try:
        yield
    except BaseException as exc:
        await asyncio.to_thread(runner.__exit__, type(exc), exc, exc.__traceback__)
        raise
    # kopf's own shutdown may still call the API (a last status patch, an event) and kmock is served by this loop:
    # wait for it from a thread, never by blocking the loop (that deadlocked until KopfRunner's timeout).
    await asyncio.to_thread(runner.__exit__, None, None, None)
    assert runner.exception is None or isinstance(runner.exception, SystemExit), runner.output
    assert "Traceback" not in runner.output, runner.output


async def until(check: Callable[[], object], *, within: float = 10, what: str = "") -> None:
    """Wait for `check()` to be true (or to stop raising), serving the mock API meanwhile."""
    deadline = time.monotonic() + within
    while True:
        try:
            if check():
                return
        except (KeyError, IndexError, TypeError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within}s: {what or check}")
        await asyncio.sleep(0.1)


def metrics_port() -> int:
    return int(os.environ["CELERITY_OPERATOR_METRICS_PORT"])
