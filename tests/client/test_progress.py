"""The progress bar's line: items done and failed, items per second over the last seconds, and the time left; drawn
only on a terminal."""

from __future__ import annotations

import io
from typing import Any

from celerity_client import Job
from celerity_client.progress import Bar, eta_text, render


def job(done: int, failed: int = 0, total: int = 10_000, status: str = "running") -> Job:
    body: dict[str, Any] = {"id": "5b0c1d2e-0000-4000-8000-000000000000", "type": "chunked", "status": status}
    return Job.from_json({**body, "items": total, "progress": {"done": done, "failed": failed, "total": total}})


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_line_shows_counts_rate_and_time_left() -> None:
    line = render(job(5_188, 12), rate=1_840.0)
    assert line.startswith("chunked 5b0c1d2e  running  [##########..........]  52%")
    assert "5,188/10,000 done  12 failed  1,840 items/s  ETA 0:03" in line


def test_no_rate_no_eta_and_a_finished_job_has_no_eta() -> None:
    assert "items/s" not in render(job(0), rate=None)
    finished = render(job(10_000, status="succeeded"), rate=900.0)
    assert "100%" in finished
    assert "ETA" not in finished


def test_a_narrow_terminal_loses_the_bar_first_then_the_name() -> None:
    wide = render(job(2_500), rate=100.0, width=200)
    assert "[" in wide
    narrow = render(job(2_500), rate=100.0, width=90)
    assert "[" not in narrow
    assert narrow.startswith("chunked 5b0c1d2e  running  25%")
    narrower = render(job(2_500), rate=100.0, width=60)
    assert narrower.startswith("25%  2,500/10,000 done")
    assert len(render(job(2_500), rate=100.0, width=30)) <= 30


def test_the_time_left_reads_as_a_clock() -> None:
    assert [eta_text(s) for s in (0.4, 59.6, 61, 3_725)] == ["0:00", "1:00", "1:01", "1:02:05"]


def test_the_rate_follows_the_last_ten_seconds() -> None:
    clock = Clock()
    bar = Bar(io.StringIO(), clock=clock)
    for second, settled in enumerate([0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100, 1100, 1100]):
        clock.now = float(second)
        bar.update(job(settled))
    rate = bar.rate()
    assert rate is not None
    assert 75 <= rate <= 85  # the last 10 s: 300 -> 1100, stalled for the last two seconds


def test_a_stream_that_is_not_a_terminal_gets_nothing() -> None:
    stream = io.StringIO()
    bar = Bar(stream)
    bar.update(job(10))
    bar.close()
    assert (bar.enabled, stream.getvalue()) == (False, "")
