"""A submit of 1,000,000 items from a generator, through the real API, with the client's memory measured: its peak
resident set (VmHWM, reset after start-up) grows by a small fraction of the items' size, because the items are
encoded into a spool on disk a batch at a time and the upload streams from it.

The client runs in a process of its own, so that nothing of the test session's counts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from celerity_client import Celerity
from tests.services.conftest import Gunicorn

pytestmark = [pytest.mark.workers, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ITEMS = 1_000_000
TEXT = "twenty characters!!!"
MiB = 1024 * 1024

CLIENT = """
import json, sys, time
from pathlib import Path
from celerity_client import Celerity

def peak():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024

url, token, items, text = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
with Celerity(url, token) as celerity:
    celerity.submit("chunked", iter([0, 1]))  # every module and buffer the submit needs is loaded and used once
    Path("/proc/self/clear_refs").write_text("5")  # the peak from here on
    before = peak()
    started = time.monotonic()
    submitted = celerity.submit("chunked", ({"i": i, "text": text} for i in range(items)), chunk_size=10_000)
    seconds = time.monotonic() - started
    print(json.dumps({"id": submitted.id, "growth": peak() - before, "before": before, "seconds": seconds}))
"""


def encoded_size(items: int) -> int:
    """Bytes of the items as the client sends them: `{"i":<i>,"text":"<TEXT>"}` and a newline each."""
    fixed = len(json.dumps({"i": 0, "text": TEXT}, separators=(",", ":"))) - 1 + 1
    return items * fixed + sum(len(str(i)) for i in range(items))


def test_a_million_streamed_items_keep_the_clients_memory_flat(
    web: Gunicorn, token: str, celerity: Celerity, celery_workers: object, drained: None, tmp_path: Path
) -> None:
    size = encoded_size(ITEMS)
    assert size > 30 * MiB
    done = subprocess.run(
        [sys.executable, "-c", CLIENT, web.url, token, str(ITEMS), TEXT],
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    measured = json.loads(done.stdout)
    job = celerity.cancel(measured["id"])  # its million items need not run: the upload is what is measured
    assert job.items == ITEMS
    print(
        f"\n{ITEMS:,} items ({size / MiB:.1f} MiB) streamed in {measured['seconds']:.1f} s; client peak RSS "
        f"{measured['before'] / MiB:.1f} MiB + {measured['growth'] / MiB:.2f} MiB"
    )
    assert measured["growth"] < size / 8, measured  # holding the items, or their encoding, would take it all
