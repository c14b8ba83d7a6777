"""Worker children, the worker's parent and gunicorn's workers freeze their startup heap (config/heap.py), through the
hooks the processes really call. Each case runs in a fresh interpreter, so the test session's own heap is left alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parents[3] / "services"

CELERY_HOOK = """
import gc
from celery import signals
from config.celery_app import app
assert gc.get_freeze_count() == 0
signals.{signal}.send(sender=None)
print(gc.get_freeze_count())
"""

GUNICORN_HOOK = """
import gc, runpy
hooks = runpy.run_path("config/gunicorn.conf.py")
import django; django.setup()  # what loading the app does in a gunicorn worker
assert gc.get_freeze_count() == 0
hooks["post_worker_init"](None)
print(gc.get_freeze_count())
"""


def frozen_after(code: str) -> int:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "PROMETHEUS_MULTIPROC_DIR": ""}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=SERVICES, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return int(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("signal", ["worker_init", "worker_process_init", "worker_ready"])
def test_a_worker_process_freezes_its_startup_heap(signal: str) -> None:
    assert frozen_after(CELERY_HOOK.format(signal=signal)) > 10_000, "Django, Celery and the app are frozen"


def test_a_gunicorn_worker_freezes_its_startup_heap() -> None:
    assert frozen_after(GUNICORN_HOOK) > 10_000
