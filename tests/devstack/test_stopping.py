"""devstack.stopping in one process: the first signal interrupts, later ones never cut the clean-up short, and a
signal that arrives while a process is being started and recorded waits until it is recorded."""

from __future__ import annotations

import os
import signal
import time

from devstack import stopping


def _send(*signums: int) -> None:
    for signum in signums:
        os.kill(os.getpid(), signum)  # Python runs the handler right after this call, in this (the main) thread


def test_the_first_signal_interrupts_and_later_ones_let_the_clean_up_finish() -> None:
    steps: list[str] = []

    def main() -> int:
        try:
            _send(signal.SIGTERM)
            time.sleep(60)
            steps.append("slept")
        finally:
            _send(signal.SIGTERM, signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
            steps.append("cleaned up")
        return 0

    assert stopping.exit_status(main) == 128 + signal.SIGTERM
    assert steps == ["cleaned up"]


def test_a_signal_while_starting_is_held_until_the_process_is_recorded() -> None:
    steps: list[str] = []

    def main() -> int:
        with stopping.uninterrupted():
            _send(signal.SIGINT, signal.SIGTERM)
            steps.append("recorded")
        steps.append("went on")
        return 0

    assert stopping.exit_status(main) == 128 + signal.SIGINT
    assert steps == ["recorded"]


def test_a_signal_during_the_last_clean_up_still_stops_the_command() -> None:
    def main() -> int:
        with stopping.uninterrupted(), stopping.uninterrupted():  # nested: only the outermost end raises
            _send(signal.SIGHUP)
        return 0

    assert stopping.exit_status(main) == 128 + signal.SIGHUP


def test_the_previous_handlers_are_back_afterwards_and_a_quiet_run_keeps_its_status() -> None:
    before = {signum: signal.getsignal(signum) for signum in stopping.SIGNALS}
    assert stopping.exit_status(lambda: 3) == 3
    assert {signum: signal.getsignal(signum) for signum in stopping.SIGNALS} == before
