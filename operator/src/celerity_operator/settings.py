"""The operator's settings: environment variables, read once at start-up (`@kopf.on.startup`) into kopf's memo."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    redis_url: str | None  # the broker of pools that name no Secret
    metrics_port: int  # 0 turns /metrics off

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        port = env.get("CELERITY_OPERATOR_METRICS_PORT", "8081")
        if not port.isdigit() or int(port) > 65535:
            raise ValueError(f"CELERITY_OPERATOR_METRICS_PORT must be a port number, not {port!r}")
        return cls(redis_url=env.get("CELERITY_OPERATOR_REDIS_URL") or None, metrics_port=int(port))
