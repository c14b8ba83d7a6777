"""The documented command line, as the chart runs it: `kopf run --standalone -m celerity_operator --all-namespaces
--liveness=...`, a separate process reaching kmock through a kubeconfig. It serves /healthz and /metrics, scales,
and stops cleanly on SIGTERM (what a pod's termination sends)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
import redis
import requests

from devstack.servers import free_port
from tests.operator.cluster import Cluster, until

KOPF = str(Path(sys.executable).parent / "kopf")


@pytest.mark.asyncio
async def test_the_documented_command_line_runs_the_operator(
    cluster: Cluster, operator_redis: redis.Redis, tmp_path: Path
) -> None:
    operator_redis.lpush("op-bulk", *[str(i) for i in range(5)])
    cluster.deployment(replicas=0)
    cluster.pool(
        {"deploymentName": "celerity-worker-bulk", "queues": ["op-bulk"], "maxReplicas": 3, "pollIntervalSeconds": 1}
    )
    liveness = free_port()
    argv = [
        KOPF, "run", "--standalone", "-m", "celerity_operator", "--all-namespaces",
        f"--liveness=http://127.0.0.1:{liveness}/healthz", "--log-format=json",
    ]  # fmt: skip # a command line reads best as one
    log = tmp_path / "operator.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            *argv, env=dict(os.environ), stdout=out, stderr=asyncio.subprocess.STDOUT
        )
    try:
        await until(lambda: cluster.replicas() == 1, within=30, what=f"a scale-up; log: {log}")
        health = await asyncio.to_thread(requests.get, f"http://127.0.0.1:{liveness}/healthz", timeout=5)
        scrape = await asyncio.to_thread(
            requests.get, f"http://127.0.0.1:{os.environ['CELERITY_OPERATOR_METRICS_PORT']}/metrics", timeout=5
        )
    finally:
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            code = await process.wait()
    assert health.status_code == 200
    assert "celerity_operator_replicas_desired" in scrape.text
    assert code == 0, log.read_text()[-3000:]
    assert '"message":' in log.read_text(), "structured (JSON) logs with --log-format=json"
