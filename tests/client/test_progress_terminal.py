"""The progress bar as a user sees it: `celerity watch` under a pseudo-terminal redraws one line in place (items done
and failed, items/s, ETA) and then prints the job; the same command into a pipe prints the job only."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import termios
from pathlib import Path

import pytest

from celerity_client import Celerity
from tests.client.conftest import CELERITY, Run, quiet_env
from tests.services.conftest import Gunicorn

pytestmark = [pytest.mark.workers, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("drained")]

BAR = re.compile(
    r"chunked [0-9a-f]{8}  (?:pending|running|succeeded|failed)  \[[#.]{20}\]  "
    r"(\d+)%  ([\d,]+)/200 done  ([\d,]+) failed(?:  ([\d,]+) items/s(?:  ETA (\d+:\d\d))?)?"
)


def on_a_terminal(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Run argv with a pseudo-terminal 160 columns wide as its stdin, stdout and stderr; all it wrote, and its exit."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 160, 0, 0))
    with subprocess.Popen(argv, stdin=follower, stdout=follower, stderr=follower, env=env, cwd=cwd) as proc:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: every end of the terminal's other side has closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        code = proc.wait(timeout=120)
    os.close(leader)
    return code, b"".join(chunks).decode()


def test_the_bar_redraws_in_place_on_a_terminal_and_stays_off_a_pipe(
    web: Gunicorn, token: str, celerity: Celerity, run: Run, celery_workers: object, tmp_path: Path
) -> None:
    env = quiet_env(tmp_path / "home", CELERITY_URL=web.url, CELERITY_TOKEN=token, TERM="xterm")
    job = celerity.submit("chunked", 200, chunk_size=5, item_cost_ms=30, fail_rate=0.05).id  # ~3 s on 2 processes
    code, screen = on_a_terminal([str(CELERITY), "watch", job], env, tmp_path)
    assert code == 1, screen  # some items failed by design
    frames = [BAR.search(frame) for frame in screen.split("\r")]
    drawn = [frame for frame in frames if frame]
    assert len(drawn) >= 3, screen  # drawn over and over on one line
    percents = [int(frame[1]) for frame in drawn]
    assert percents == sorted(percents)
    assert percents[-1] == 100
    assert any(frame[4] for frame in drawn), screen  # a rate once two samples moved
    assert any(frame[5] for frame in drawn), screen  # and the time left while it ran
    assert "\x1b[K" in screen  # each redraw clears the rest of the line
    after_the_bar = screen[screen.rindex("\x1b[K") :].replace("\r\n", "\n")
    assert after_the_bar.startswith("\x1b[K\n")  # the bar's line ended before the job is printed
    assert f"\nid:         {job}\n" in after_the_bar
    assert "status:     failed" in after_the_bar
    done = celerity.job(job).progress
    assert f"{done.done:,}/200 done  {done.failed:,} failed" in screen

    piped = run("watch", job)
    assert (piped.returncode, piped.stderr) == (1, "")
    assert "\r" not in piped.stdout
    assert piped.stdout.startswith(f"id:         {job}\n")

    quiet_code, quiet_screen = on_a_terminal([str(CELERITY), "watch", job, "--no-progress"], env, tmp_path)
    assert quiet_code == 1
    assert not BAR.search(quiet_screen)
