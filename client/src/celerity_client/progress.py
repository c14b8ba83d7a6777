"""The progress bar of `celerity submit --wait` and `celerity watch`: items done and failed, items per second, and
the time left, redrawn in place on one line of a terminal.

    chunked 5b0c1d2e  running  [##########..........]  52%  5,200/10,000  12 failed  1,840 items/s  ETA 0:03

The rate is measured over the last RATE_WINDOW seconds of samples, so it follows a job that speeds up or stalls;
there is no rate and no ETA before two samples have moved. `render` is a pure function of what it is given.
"""

from __future__ import annotations

import os
import shutil
import time
from collections import deque
from collections.abc import Callable
from typing import TextIO

from celerity_client.models import Job

RATE_WINDOW = 10.0  # seconds of samples the rate is measured over
BAR_WIDTH = 20


def eta_text(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def render(job: Job, *, rate: float | None, width: int = 120) -> str:
    """One line, at most `width` characters: the bar is dropped first, then the job's name, when space is short."""
    progress = job.progress
    total = progress.total or job.items
    settled = progress.finished_items
    fraction = min(1.0, settled / total) if total else 0.0
    filled = int(fraction * BAR_WIDTH)
    bar = "[" + "#" * filled + "." * (BAR_WIDTH - filled) + "]"
    parts = [f"{fraction:.0%}", f"{progress.done:,}/{total:,} done", f"{progress.failed:,} failed"]
    if rate is not None:
        parts.append(f"{rate:,.0f} items/s")
        if rate > 0 and not job.finished and total > settled:
            parts.append(f"ETA {eta_text((total - settled) / rate)}")
    name = f"{job.type} {job.id[:8]}  {job.status}"
    for line in (f"{name}  {bar}  {'  '.join(parts)}", f"{name}  {'  '.join(parts)}", "  ".join(parts)):
        if len(line) <= width:
            return line
    return line[:width]


class Bar:
    """Draws on `stream` only when it is a terminal (and `enabled`): a pipe, a file or `--no-progress` gets
    nothing, so that what a script reads is only the command's output."""

    def __init__(self, stream: TextIO, *, enabled: bool = True, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream, self.clock = stream, clock
        self.enabled = enabled and _is_terminal(stream)
        self.samples: deque[tuple[float, int]] = deque()
        self.drawn = False

    def rate(self) -> float | None:
        if len(self.samples) < 2:
            return None
        (t0, n0), (t1, n1) = self.samples[0], self.samples[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 and n1 > n0 else (0.0 if t1 > t0 else None)

    def update(self, job: Job) -> None:
        now = self.clock()
        self.samples.append((now, job.progress.finished_items))
        while len(self.samples) > 2 and now - self.samples[0][0] > RATE_WINDOW:
            self.samples.popleft()
        if not self.enabled:
            return
        width = _columns(self.stream) - 1
        self.stream.write("\r" + render(job, rate=self.rate(), width=width) + "\x1b[K")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        """Ends the bar's line, so that what follows starts on a line of its own."""
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False


def _columns(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return shutil.get_terminal_size((120, 24)).columns


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty() and os.environ.get("TERM", "") != "dumb"
    except (AttributeError, ValueError):
        return False
