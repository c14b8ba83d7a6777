"""prometheus-client multiprocess mode for Celery prefork (gunicorn's side lives in config/gunicorn.conf.py).

Each process writes its samples to files named after its pid in PROMETHEUS_MULTIPROC_DIR; the worker's parent sums
them at scrape time. prometheus_client picks its storage when first imported, so the directory must be set before
that, and wiped before any child exists (stale files would be summed in).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import warnings
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"
_LIVE_GAUGE_FILE = re.compile(r"^gauge_live[a-z]+_(\d+)\.db$")


def configure_for_worker(argv: list[str] | None = None) -> None:
    """Called from config/celery_app.py before prometheus_client is imported: a worker always gets a directory,
    its own unless the environment names one (the chart mounts an emptyDir per pod)."""
    argv = sys.argv if argv is None else argv
    if "worker" in argv and not os.environ.get(ENV):
        if "prometheus_client" in sys.modules:  # too late: this process already chose in-memory storage
            warnings.warn(
                f"prometheus_client was imported before {ENV} was set: pool metrics will be lost; "
                f"set {ENV} in the environment",
                RuntimeWarning,
                stacklevel=2,
            )
        os.environ[ENV] = tempfile.mkdtemp(prefix="celerity-worker-metrics-")


def wipe() -> None:
    """Remove the files of an earlier run (a restarted container keeps its emptyDir); call before the pool starts."""
    directory = os.environ.get(ENV)
    if not directory:
        return
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for child in path.glob("*.db"):
        child.unlink()


def mark_dead(pid: int) -> None:
    """Drop an exited process's live gauges; its counters and histograms stay (they are cumulative)."""
    if os.environ.get(ENV):
        from prometheus_client import multiprocess

        with contextlib.suppress(FileNotFoundError):  # the heartbeat and a scrape may reap the same pid at once
            multiprocess.mark_process_dead(pid)


def reap() -> list[int]:
    """mark_dead every process that left live-gauge files behind and no longer exists: a pool child killed by
    SIGKILL (out of memory, hard time limit) never runs its own exit hook. Returns the pids reaped."""
    directory = os.environ.get(ENV)
    if not directory or not os.path.isdir(directory):
        return []
    pids = {int(m.group(1)) for name in os.listdir(directory) if (m := _LIVE_GAUGE_FILE.match(name))}
    dead = sorted(pid for pid in pids if pid != os.getpid() and not _alive(pid))
    for pid in dead:
        mark_dead(pid)
    return dead


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True
