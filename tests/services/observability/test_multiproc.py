"""The multiprocess directory's life cycle: set for workers only, wiped of stale samples, and the live gauges of
processes that vanished without their exit hook reaped (counters kept)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import prometheus_client  # noqa: F401 - imported, as in any test process, before configure_for_worker runs
import pytest

from celerity.observability import multiproc


def test_a_worker_gets_a_directory_of_its_own_unless_the_environment_names_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(multiproc.ENV, raising=False)
    multiproc.configure_for_worker(["celery", "-A", "config.celery_app", "inspect", "ping"])
    assert multiproc.ENV not in os.environ  # not a worker: nothing to aggregate
    with pytest.warns(RuntimeWarning, match="imported before"):  # this test process did import prometheus_client
        multiproc.configure_for_worker(["celery", "-A", "config.celery_app", "worker", "-Q", "bulk"])
    assert Path(os.environ[multiproc.ENV]).is_dir()
    Path(os.environ[multiproc.ENV]).rmdir()
    monkeypatch.setenv(multiproc.ENV, "/run/celerity/metrics")
    multiproc.configure_for_worker(["celery", "-A", "config.celery_app", "worker"])
    assert os.environ[multiproc.ENV] == "/run/celerity/metrics"


def test_wipe_removes_the_samples_of_an_earlier_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(multiproc.ENV, str(tmp_path))
    (tmp_path / "counter_12.db").write_bytes(b"x")
    (tmp_path / "keep.txt").write_text("not ours")
    multiproc.wipe()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_reap_drops_live_gauges_of_vanished_processes_and_keeps_their_counters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(multiproc.ENV, str(tmp_path))
    gone = subprocess.Popen(["true"])
    gone.wait()
    me = os.getpid()
    for name in (
        f"gauge_livesum_{gone.pid}.db",
        f"gauge_livemax_{gone.pid}.db",
        f"counter_{gone.pid}.db",
        f"histogram_{gone.pid}.db",
        f"gauge_livesum_{me}.db",
    ):
        (tmp_path / name).write_bytes(b"")
    assert multiproc.reap() == [gone.pid]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"counter_{gone.pid}.db", f"histogram_{gone.pid}.db", f"gauge_livesum_{me}.db"]
    )
