"""kopf handlers: thin edges. Start-up reads the settings, login hands kopf's credentials to our API client, and one
daemon per WorkerPool reconciles it every `pollIntervalSeconds` until the pool or the operator goes away."""

from __future__ import annotations

import logging
from typing import Any

import kopf

from celerity_operator import metrics, parsing
from celerity_operator.kubeapi import GROUP, PLURAL, VERSION, KubeApi
from celerity_operator.reconciling import PoolMemory, reconcile
from celerity_operator.settings import Settings

Logger = logging.Logger | logging.LoggerAdapter[Any]


@kopf.on.startup(errors=kopf.ErrorsMode.PERMANENT)  # a bad environment stops the operator at once (fail fast)
async def startup(memo: kopf.Memo, logger: Logger, **_: Any) -> None:
    memo.settings = Settings.from_env()
    memo.kube = KubeApi()
    memo.metrics_server = metrics.serve(memo.settings.metrics_port)
    logger.info(
        "celerity operator: /metrics on :%s, default broker %s",
        memo.settings.metrics_port,
        "set" if memo.settings.redis_url else "unset",
    )


@kopf.on.login()
async def login(memo: kopf.Memo, **kwargs: Any) -> kopf.ConnectionInfo | None:
    """The in-cluster service account, else the kubeconfig; our own API calls use the same credentials."""
    info = kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)
    return await memo.kube.connect(info) if info is not None else None


@kopf.daemon(GROUP, VERSION, PLURAL, cancellation_timeout=30)
async def autoscale(
    name: str,
    namespace: str | None,
    spec: kopf.Spec,
    meta: kopf.Meta,
    status: kopf.Status,
    body: kopf.Body,
    memo: Any,
    stopped: kopf.DaemonStopped,
    logger: Logger,
    **_: Any,
) -> None:
    namespace = namespace or "default"  # WorkerPools are namespaced; this only satisfies the type
    memory = PoolMemory(conditions=list(status.get("conditions") or []))
    written: dict[str, Any] = {}
    try:
        while not stopped:
            try:
                outcome = await reconcile(
                    kube=memo.kube,
                    name=name,
                    namespace=namespace,
                    spec=dict(spec),
                    generation=meta.get("generation"),
                    memory=memory,
                    default_redis_url=memo.settings.redis_url,
                )
                for kind, reason, message in outcome.events:
                    kopf.event(body, type=kind, reason=reason, message=message)
                if outcome.status != written:
                    await memo.kube.status_patch(namespace, name, outcome.status)
                    written = outcome.status
            except Exception as exc:  # never let one pool take the daemon (or the operator) down
                metrics.RECONCILE_ERRORS.labels(namespace=namespace, pool=name).inc()
                logger.exception("reconcile of %s/%s failed: %s", namespace, name, exc)
            await stopped.wait(parsing.poll_interval(spec))
    finally:
        await memory.close()
        metrics.forget(namespace, name)


@kopf.on.cleanup()
async def cleanup(memo: kopf.Memo, **_: Any) -> None:
    if memo.get("metrics_server") is not None:
        memo.metrics_server.shutdown()
        memo.metrics_server.server_close()
    if memo.get("kube") is not None:
        await memo.kube.close()
