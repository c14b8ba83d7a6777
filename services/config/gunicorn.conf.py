"""gunicorn settings for the web service. Metrics are aggregated across gunicorn workers (multiprocess mode)."""

import os
import tempfile

# Must be set before any worker imports prometheus_client (the app is loaded in the workers, after this file).
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="celerity-web-metrics-")

# Django's settings give the web process (only) its statement and lock timeouts.
os.environ.setdefault("CELERITY_WEB", "1")

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104 - containers listen on all interfaces
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "25"))
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def on_starting(server: object) -> None:
    """Wipe metric files from an earlier run before any worker exists."""
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.endswith(".db"):  # prometheus-client's files only, whatever else shares the directory
            os.remove(os.path.join(directory, name))


def post_worker_init(worker: object) -> None:
    """The app is loaded in this worker: its startup objects leave the collector's way (config/heap.py)."""
    from config import heap

    heap.freeze(collect=False)  # a freshly forked worker never collects now (config/heap.py)


def child_exit(server: object, worker: object) -> None:
    """A worker exited (max_requests, timeout, crash): drop its live gauges, keep its counters."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
