"""The operator under test: kopf for real (`kopf run -m celerity_operator` in a KopfRunner), a real Redis, and kmock as
the only stand-in, for the Kubernetes API. Every request the operator sends is checked against RBAC_RULES."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from devstack.servers import free_port
from tests.operator.cluster import Cluster, write_kubeconfig

OPERATOR_DB = 5  # the kopf tests' DB of the shared Redis


@pytest.fixture
def generate_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """kmock 0.8 ignores `metadata.generateName`, so every Event kopf posts (named by generateName) after the first
    in a namespace collides with it (409). Name them as an API server would. A gap of the mock, not of the operator."""
    from kmock._internal import rendering

    parse = rendering.Request._parse.__func__  # type: ignore[attr-defined]
    counter = itertools.count()

    async def named(cls: type[rendering.Request], raw_request: Any, **kwargs: Any) -> rendering.Request:
        request = await parse(cls, raw_request, **kwargs)
        metadata = request.data.get("metadata") if isinstance(request.data, dict) else None
        if str(request.method).endswith("POST") and isinstance(metadata, dict) and not metadata.get("name"):
            metadata["name"] = f"{metadata.get('generateName', 'object-')}{next(counter):05d}"
        return request

    monkeypatch.setattr(rendering.Request, "_parse", classmethod(named))


@pytest.fixture
def cluster(generate_names: None, kmock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cluster]:
    """kmock as the cluster, reached the way the operator reaches any cluster: a kubeconfig (no test-only hooks)."""
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", str(kmock.url))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    cluster = Cluster(kmock)
    yield cluster
    uncovered = cluster.uncovered_requests()
    assert not uncovered, f"the operator made calls RBAC_RULES does not allow: {uncovered}"


@pytest.fixture
def operator_redis(redis_url_for: Callable[[int], str], monkeypatch: pytest.MonkeyPatch) -> Iterator[redis.Redis]:
    """The operator's default broker (its own DB of the shared Redis) and a free /metrics port."""
    url = redis_url_for(OPERATOR_DB)
    client = redis.Redis.from_url(url)
    client.flushdb()
    monkeypatch.setenv("CELERITY_OPERATOR_REDIS_URL", url)
    monkeypatch.setenv("CELERITY_OPERATOR_METRICS_PORT", str(free_port()))
    yield client
    client.flushdb()
    client.close()
