"""Stopping a command that started processes, whatever signals arrive and however often.

`make run`, `make loadtest` and `make bench` start servers and platform processes, each in its own session so that
a terminal's Ctrl-C reaches only the command. The command must then stop them all, in order, before it exits. Signals
make that hard: make passes a SIGTERM on to its child, so a SIGTERM to the process group (`kill -- -PGID`, CI runners,
`timeout`) arrives twice, and Python's default handlers raise wherever the main thread happens to be, clean-up
included. An interrupted clean-up leaves orphans holding ports.

So, inside `stop_on_signals()`:
- the first SIGINT, SIGTERM or SIGHUP raises KeyboardInterrupt in the main thread, once, as Ctrl-C does;
- every later one is only reported: the clean-up the first one started runs to its end;
- inside `uninterrupted()` (starting a process and recording it; clean-up that is not yet the result of a signal) a
  signal is held and raised when the block ends, so no process is ever started without being recorded for the stop.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType, TracebackType

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class _Stop:
    """What one command has received so far. Signal handlers are process-wide, so this is too (`_current`)."""

    def __init__(self) -> None:
        self.signum: int | None = None  # the first signal
        self.raised = False  # KeyboardInterrupt was raised for it: never again
        self.held = 0  # depth of `uninterrupted` blocks in the main thread

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum
        else:  # os.write, not print: a handler may run while the main thread is inside print
            name = signal.Signals(signum).name
            os.write(2, f">> {name} again: already stopping; everything started is being stopped\n".encode())
        self.interrupt()

    def interrupt(self) -> None:
        if self.signum is not None and not self.raised and not self.held:
            self.raised = True
            raise KeyboardInterrupt


_current: _Stop | None = None


@contextlib.contextmanager
def stop_on_signals() -> Iterator[_Stop]:
    """Install the handlers for the block (main thread only); a signal held until the end is raised there."""
    global _current
    stop, outer = _Stop(), _current
    previous = {signum: signal.signal(signum, stop.handle) for signum in SIGNALS}
    _current = stop
    try:
        yield stop
    finally:
        stop.held += 1  # restoring the handlers must not be cut short
        _current = outer
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if stop.signum is not None and not stop.raised:
            stop.raised = True
            raise KeyboardInterrupt


def exit_status(main: Callable[[], int]) -> int:
    """Run a command's `main` inside `stop_on_signals`: its own status, or 128 + the signal's number (the shell's
    convention) once everything it started has stopped."""
    received: _Stop | None = None
    try:
        with stop_on_signals() as received:
            return main()
    except KeyboardInterrupt:
        print(">> stopped", flush=True)
        return 128 + (received.signum if received and received.signum else signal.SIGINT)


def uninterrupted() -> contextlib.AbstractContextManager[None]:
    """Hold signals for the block: start a process and record it, or stop things in order. Other threads never get
    signals, so there it changes nothing."""
    return _Held()


class _Held(contextlib.AbstractContextManager[None]):
    # A class rather than @contextmanager: fewer steps between the signal's arrival and `held` counting it.
    def __enter__(self) -> None:
        self.stop = _current if threading.current_thread() is threading.main_thread() else None
        if self.stop is not None:
            self.stop.held += 1

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self.stop is not None:
            self.stop.held -= 1
            if kind is None:  # an exception already on its way wins; the held signal is raised later
                self.stop.interrupt()
