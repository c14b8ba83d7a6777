"""`manage.py reconcile`: the reconciler's process. A thin loop around `services.reconciling.jobs_reconcile`, with
/healthz and /metrics on CELERITY_RECONCILER_PORT (the chart's probes and scrape, like a worker's)."""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, connection
from prometheus_client import generate_latest

from celerity.jobs.errors import broker_failure
from celerity.jobs.services.reconciling import Action, jobs_reconcile
from celerity.observability import broker, multiproc, serving
from celerity.observability.reconciler_metrics import (
    RECONCILER_BOUND_SECONDS,
    RECONCILER_JOBS_REDRIVEN_TOTAL,
    RECONCILER_JOBS_STUCK,
    RECONCILER_LAST_RUN_TIMESTAMP_SECONDS,
)

log = logging.getLogger("celerity.reconciler")


class Command(BaseCommand):
    help = "Re-drive jobs that made no progress for CELERITY_RECONCILE_BOUND seconds (docs/reliability.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one pass, then exit (0 when it completed)")
        parser.add_argument("--interval", type=float, default=None, help="seconds between passes")
        parser.add_argument("--port", type=int, default=None, help="/healthz and /metrics port; 0 serves none")

    def handle(self, *args: Any, **options: Any) -> None:
        interval = options["interval"] or settings.CELERITY_RECONCILE_INTERVAL
        multiproc.wipe()  # a restarted container keeps its emptyDir: an earlier run's files would be summed in
        RECONCILER_BOUND_SECONDS.set(settings.CELERITY_RECONCILE_BOUND)
        for action in (Action.START, Action.PUBLISH, Action.REPUBLISH):  # every series exists from the start, at 0
            RECONCILER_JOBS_REDRIVEN_TOTAL.labels(action=action.value)
        if options["once"]:
            if not reconcile_once():
                raise SystemExit(1)
            return
        port = settings.CELERITY_RECONCILER_PORT if options["port"] is None else options["port"]
        stop, ticked = threading.Event(), [time.monotonic()]
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        if port:
            # Healthy while the loop turns (a pass that fails on a missing broker or database still turns it):
            # a restart would not bring either back.
            serving.serve(
                port, metrics=generate_latest, healthy=lambda: time.monotonic() - ticked[0] < 3 * interval + 60
            )
        log.info("reconciler: bound %.0f s, every %.0f s", settings.CELERITY_RECONCILE_BOUND, interval)
        while not stop.is_set():
            reconcile_once()
            ticked[0] = time.monotonic()
            stop.wait(interval)


def reconcile_once() -> bool:
    """One pass; False (and a log line) when the broker or the database could not be read: nothing is re-driven
    then, and no attempt is counted, since nothing could be published anyway."""
    try:
        waiting, _ = broker.backlog(broker.client(), list(settings.CELERITY_QUEUES))
    except Exception as exc:
        if not broker_failure(exc):
            raise
        log.warning("reconciler: broker unavailable, pass skipped: %s", exc)
        return False
    try:
        summary = jobs_reconcile(
            bound=settings.CELERITY_RECONCILE_BOUND,
            max_redrives=settings.CELERITY_RECONCILE_MAX_REDRIVES,
            waiting=waiting,
        )
    except Exception as exc:
        if not (isinstance(exc, DatabaseError) or broker_failure(exc)):  # a re-drive's publish refused is one too
            raise
        connection.close()
        log.warning("reconciler: pass failed, next one retries: %s", exc)
        return False
    RECONCILER_JOBS_STUCK.set(summary.stuck)
    RECONCILER_LAST_RUN_TIMESTAMP_SECONDS.set(time.time())
    if summary.actions:
        log.info("reconciler: %d unfinished jobs, %d stuck, actions %s", summary.jobs, summary.stuck, summary.actions)
    return True
