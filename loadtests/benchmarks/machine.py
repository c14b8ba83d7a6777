"""What the figures were measured on: the machine, its load, and the versions of everything in the path."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path

import redis


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def describe() -> dict[str, str | int | float]:
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count() or 0,
        "memory_gib": round(_memory_gib(), 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average_at_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def versions(redis_url: str, database_url: str) -> dict[str, str]:
    out = {name: metadata.version(name) for name in ("celery", "kombu", "redis", "Django", "gunicorn", "psycopg")}
    client = redis.Redis.from_url(redis_url)
    out["redis-server"] = str(client.info("server")["redis_version"])
    client.close()
    try:
        import psycopg

        from loadtests.checking import _libpq_url

        with psycopg.connect(_libpq_url(database_url), connect_timeout=10) as connection:
            row = connection.execute("SHOW server_version").fetchone()
        out["postgres"] = str(row[0]) if row else "unknown"
    except Exception as exc:  # a version line is not worth failing the benchmark for
        out["postgres"] = f"unknown ({type(exc).__name__})"
    return out
