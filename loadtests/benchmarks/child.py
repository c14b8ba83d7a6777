"""Measurements that need Celerity's own code run in a child process (`python -m loadtests.benchmarks.<module>`), with
the services on its path, a metrics directory of its own (as a pool child writes its samples) and, when given, the
bench stack's database and Redis: the bench process itself has no Django. The child prints its figures as one JSON
line, its last."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def run(
    module: str, *, env: dict[str, str] | None = None, args: dict[str, Any] | None = None, timeout: float = 300.0
) -> Any:
    """The child's figures; raises with the tail of its stderr when it fails."""
    with tempfile.TemporaryDirectory(prefix="celerity-bench-child-") as metrics_dir:
        full = {
            **os.environ,
            **(env or {}),
            "PROMETHEUS_MULTIPROC_DIR": metrics_dir,
            "PYTHONPATH": f"{REPO / 'services'}:{REPO}",
        }
        done = subprocess.run(
            [sys.executable, "-m", module, json.dumps(args or {})],
            env=full,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"{module} exited {done.returncode}: {done.stderr.strip()[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def django_env(database_url: str, redis_url: str) -> dict[str, str]:
    """What a child needs to run Celerity's services against the bench stack."""
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "CELERITY_RUN_DIR": str(REPO / ".run" / "bench"),
    }


def setup_django() -> None:
    """In the child: Django configured, the apps (and the demo's job types) loaded."""
    import django

    django.setup()


def arguments() -> dict[str, Any]:
    """In the child: the arguments `run` passed."""
    return dict(json.loads(sys.argv[1])) if len(sys.argv) > 1 else {}
