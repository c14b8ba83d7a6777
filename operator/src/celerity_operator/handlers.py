"""kopf handlers: thin edges around `reconciling.reconcile`."""

from __future__ import annotations

import logging
import time
from typing import Any

import kopf

from celerity_operator import kubeapi, metrics
from celerity_operator.reconciling import InvalidSpec, PoolState, parse_spec, reconcile
from celerity_operator.settings import Settings

GROUP, VERSION, PLURAL = "celerity.dev", "v1alpha1", "workerpools"
_settings = Settings.from_env()
_pools: list[PoolState] = []  # every pool's state, so its Redis connections close with the operator


@kopf.on.startup()
async def startup(
    settings: kopf.OperatorSettings, logger: logging.Logger | logging.LoggerAdapter[Any], **_: Any
) -> None:
    global _settings
    _settings = Settings.from_env()
    settings.posting.level = logging.INFO
    settings.persistence.progress_storage = kopf.StatusProgressStorage(field="status.kopf")
    metrics.serve(_settings.metrics_port)
    logger.info("celerity operator: metrics on :%s, default broker %s", _settings.metrics_port,
                "set" if _settings.redis_url else "unset")  # fmt: skip


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    if _settings.api_server or Settings.from_env().api_server:
        server = _settings.api_server or Settings.from_env().api_server
        return kubeapi.remember(kopf.ConnectionInfo(server=str(server)))
    info = kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)
    return kubeapi.remember(info) if info else None


@kopf.timer(GROUP, VERSION, PLURAL, interval=1.0)
async def autoscale(
    spec: kopf.Spec, name: str, namespace: str | None, body: kopf.Body, memo: Any, patch: kopf.Patch,
    logger: logging.Logger | logging.LoggerAdapter[Any], **_: Any,
) -> None:  # fmt: skip
    if "pool" not in memo:
        memo["pool"] = PoolState()
        _pools.append(memo["pool"])
    state: PoolState = memo["pool"]
    try:
        interval = parse_spec(dict(spec))[3]
    except InvalidSpec:
        interval = 30
    now = time.time()
    if now - state.last_run < interval:
        return
    state.last_run = now
    try:
        outcome = await reconcile(name=name, namespace=namespace or "default", spec=dict(spec), state=state,
                                  redis_url=_settings.redis_url)  # fmt: skip
    except Exception as exc:
        metrics.RECONCILE_ERRORS.labels(namespace=namespace or "", pool=name).inc()
        logger.exception("reconcile of %s/%s failed", namespace, name)
        kopf.warn(body, reason="ReconcileFailed", message=str(exc)[:500])
        return
    patch.status.update(outcome.status)
    if outcome.event:
        kind, reason, message = outcome.event
        (kopf.warn if kind == "Warning" else kopf.info)(body, reason=reason, message=message)


@kopf.on.cleanup()
async def cleanup(**_: Any) -> None:
    while _pools:
        state = _pools.pop()
        if state.client is not None:
            await state.client.aclose()
