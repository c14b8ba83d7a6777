"""prometheus-client multiprocess mode for Celery prefork (gunicorn's side lives in config/gunicorn.conf.py).

Each pool child writes its samples to files in PROMETHEUS_MULTIPROC_DIR; the worker's parent process serves the sum.
The directory must be known before prometheus_client is first imported, and wiped before any child exists.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"


def configure_for_worker(argv: list[str] | None = None) -> None:
    """Called from config/celery_app.py, before prometheus_client is imported: a worker always gets a directory."""
    argv = sys.argv if argv is None else argv
    if "worker" in argv and not os.environ.get(ENV):
        os.environ[ENV] = tempfile.mkdtemp(prefix="celerity-worker-metrics-")


def wipe() -> None:
    """Remove the files of an earlier run (stale counters would be summed in); call before the pool starts."""
    directory = os.environ.get(ENV)
    if not directory:
        return
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for child in path.glob("*.db"):
        child.unlink()


def mark_dead(pid: int) -> None:
    """Drop a finished child's live gauges; its counters and histograms stay (they are cumulative)."""
    if os.environ.get(ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
