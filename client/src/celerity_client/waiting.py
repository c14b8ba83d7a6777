"""How the client learns that a job moved: the one place that decides between long-polling and polling.

Every look is `GET /api/jobs/{id}?wait=S`. A server that long-polls holds the answer until the job ends or S seconds
pass; one that does not ignores the parameter and answers at once. So the poller needs no switch: an answer that came
back early with the job still unfinished means the server did not wait, and the poller sleeps a backoff (from
FIRST_PAUSE, growing by GROWTH, up to `every` and MAX_PAUSE) before it asks again; an answer that took its time is
followed at once. Waits are whole seconds; a server that refuses the parameter (a 422 naming `wait`) is asked
without it from then on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from celerity_client.errors import InvalidRequest, WaitTimeout
from celerity_client.models import Job

LONG_POLL = 20.0  # the longest a single look asks the server to hold the answer, seconds
FIRST_PAUSE, GROWTH, MAX_PAUSE = 0.1, 1.5, 2.0  # the pauses between looks at a server that does not hold answers
EARLY = 0.5  # an answer within this share of the asked wait, job unfinished: the server did not wait

Fetch = Callable[[str, int | None], Job]  # (job id, whole seconds the server may hold the answer, or None) -> the job


@dataclass
class Poller:
    fetch: Fetch
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    long_poll: bool = True  # False once the server refused `wait`
    looks: int = field(default=0, init=False)  # requests made, for tests and curious callers

    def snapshots(self, job_id: str, *, every: float = LONG_POLL, timeout: float | None = None) -> Iterator[Job]:
        """The job as seen at least every `every` seconds while it runs (more often if it changes and the server
        says so), ending with the look that found it finished; WaitTimeout after `timeout` seconds."""
        deadline = None if timeout is None else self.clock() + timeout
        pause = FIRST_PAUSE
        while True:
            hold = every if deadline is None else max(0.0, min(every, deadline - self.clock()))
            asked = self.clock()
            job = self._look(job_id, hold)
            yield job
            if job.finished:
                return
            now = self.clock()
            if deadline is not None and now >= deadline:
                raise WaitTimeout(job, timeout or 0.0)
            if now - asked >= EARLY * hold > 0:
                pause = FIRST_PAUSE  # the server held the answer: ask again at once
                continue
            rest = min(pause, every, MAX_PAUSE)
            if deadline is not None:
                rest = min(rest, max(0.0, deadline - now))
            self.sleep(rest)
            pause *= GROWTH

    def _look(self, job_id: str, hold: float) -> Job:
        self.looks += 1
        seconds = int(hold)  # whole seconds: what any server's `wait` takes
        if not self.long_poll or seconds < 1:
            return self.fetch(job_id, None)
        try:
            return self.fetch(job_id, seconds)
        except InvalidRequest as exc:
            if "wait" not in exc.fields:
                raise
            self.long_poll = False
            return self.fetch(job_id, None)
