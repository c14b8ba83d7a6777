"""An upload of 100,000 items through gunicorn, run by real workers, with the memory of both measured: each process's
peak resident set (VmHWM, reset before the upload) stays far below the upload's size, because the web copies one
batch of lines at a time and every chunk task reads only its own inputs.

The bound is a quarter of the upload: holding its body alone would take all of it. What the web does grow by (4 to
8 MiB here) is mostly the C allocator's and the database driver's buffers: its Python objects peak under 1 MiB
(tracemalloc, in process)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import psutil
import pytest
import requests

from celerity.jobs.models import Workload
from tests.services.conftest import Gunicorn
from tests.services.jobs.testtypes import words_type

pytestmark = [pytest.mark.workers, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ITEMS, WORDS_PER_ITEM = 100_000, 160  # about 60 MiB of NDJSON
MiB = 1024 * 1024


def peak_reset(pid: int) -> int:
    """Reset the process's peak resident set to its current one (Linux: `5` to clear_refs); returns it, bytes."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    return int(psutil.Process(pid).memory_info().rss)


def peak(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmHWM for {pid}")


def pool_children(pool: str) -> list[int]:
    """The prefork children of this session's worker of `pool`, as the worker reports them (its broker is ours)."""
    from config.celery_app import app

    stats = app.control.inspect(timeout=5).stats() or {}
    (worker,) = [info for node, info in stats.items() if node.startswith(f"{pool}@")]
    children = [int(pid) for pid in worker["pool"]["processes"]]
    assert children, f"the {pool} worker reports no pool processes: {worker['pool']}"
    return children


def test_an_upload_of_100000_items_never_holds_them_in_the_web_or_a_worker(
    celery_workers: dict[str, int], gunicorn: Gunicorn, tmp_path: Path
) -> None:
    upload = tmp_path / "items.ndjson"
    with upload.open("w") as out:
        for i in range(ITEMS):
            out.write('{"text": "' + " ".join(f"w{i % 97}" for _ in range(WORDS_PER_ITEM)) + '"}\n')
    size = upload.stat().st_size
    assert size > 50 * MiB  # the bounds below are then well under what holding the upload would take

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {os.environ['CELERITY_API_TOKEN']}"
    endpoint = f"{gunicorn.url}/api/jobs/upload?type={words_type(Workload.CHUNKED)}&chunk_size=1000"
    ndjson = {"Content-Type": "application/x-ndjson"}
    for _ in range(9):  # warm every gunicorn worker up (its first API request loads the API's modules)
        assert session.post(endpoint, data=b'{"text": "warm"}\n', headers=ndjson, timeout=60).status_code == 202
    web = [child.pid for child in psutil.Process(gunicorn.pid).children()]
    workers = pool_children("bulk")
    before = {pid: peak_reset(pid) for pid in web + workers}

    with upload.open("rb") as body:  # requests streams a file object (Content-Length from its size)
        accepted = session.post(endpoint, data=body, headers=ndjson, timeout=280)
    assert accepted.status_code == 202, accepted.text
    deadline = time.monotonic() + 240
    job = session.get(accepted.json()["url"], timeout=30).json()
    while job["status"] in ("pending", "running"):
        assert time.monotonic() < deadline, f"the job did not finish in 240 s: {job['progress']}"
        time.sleep(0.5)
        job = session.get(accepted.json()["url"], timeout=30).json()

    assert job["status"] == "succeeded", job
    assert job["result"] == {"reduce": ITEMS * WORDS_PER_ITEM, "count": ITEMS, "failed": 0}
    web_growth = max(peak(pid) - before[pid] for pid in web)
    worker_growth = max(peak(pid) - before[pid] for pid in workers)
    growths = f"web {web_growth / MiB:.1f} MiB, worker {worker_growth / MiB:.1f} MiB"
    print(f"upload {size / MiB:.1f} MiB, peak growth: {growths}")  # the figures for docs/api.md
    assert web_growth < size / 4, f"the web grew {web_growth / MiB:.1f} MiB for a {size / MiB:.1f} MiB upload"
    assert worker_growth < size / 4, f"a worker grew {worker_growth / MiB:.1f} MiB for a {size / MiB:.1f} MiB upload"
