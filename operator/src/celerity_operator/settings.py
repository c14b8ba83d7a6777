"""The operator's settings: environment variables, read once at start-up (`@kopf.on.startup`)."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    redis_url: str | None
    metrics_port: int
    api_server: str | None  # only to point the operator at a test API server; clusters use their own credentials

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ) if env is None else env
        return cls(
            redis_url=env.get("CELERITY_OPERATOR_REDIS_URL") or None,
            metrics_port=int(env.get("CELERITY_OPERATOR_METRICS_PORT", "8081")),
            api_server=env.get("CELERITY_OPERATOR_API_SERVER") or None,
        )
