"""The poller's one decision: a server that held the answer (it long-polls `wait=`) is asked again at once; one that
answered at once is asked again after a growing pause; one that refuses `wait` is asked without it from then on."""

from __future__ import annotations

from typing import Any

import pytest

from celerity_client import InvalidRequest, Job, WaitTimeout
from celerity_client.waiting import Poller


class Server:
    """The job's statuses in turn; `holds` says whether it honours `wait` (the dispatcher's long-poll)."""

    def __init__(self, statuses: list[str], *, holds: bool, refuses_wait: bool = False) -> None:
        self.statuses, self.holds, self.refuses_wait = statuses, holds, refuses_wait
        self.now, self.sleeps, self.asked = 0.0, list[float](), list[Any]()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def fetch(self, job_id: str, wait: int | None) -> Job:
        self.asked.append(wait)
        if wait is not None and self.refuses_wait:
            raise InvalidRequest(422, "invalid_request", "invalid fields: wait", {"wait": "unknown"})
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        if wait is not None and self.holds and status not in ("succeeded", "failed", "cancelled"):
            self.now += wait
        return Job.from_json({"id": job_id, "status": status})


def poller(server: Server) -> Poller:
    return Poller(server.fetch, clock=server.clock, sleep=server.sleep)


def test_a_server_that_answers_at_once_is_polled_with_a_growing_pause() -> None:
    server = Server(["pending"] + ["running"] * 8 + ["succeeded"], holds=False)
    seen = [job.status for job in poller(server).snapshots("j", every=1.0)]
    assert seen[-1] == "succeeded"
    assert server.sleeps == pytest.approx([0.1, 0.15, 0.225, 0.3375, 0.50625, 0.759375, 1.0, 1.0, 1.0])
    assert server.asked == [1] * len(seen)  # it is always offered the wait


def test_a_long_wait_on_a_server_that_answers_at_once_pauses_two_seconds_at_most() -> None:
    server = Server(["running"] * 30 + ["succeeded"], holds=False)
    list(poller(server).snapshots("j", every=20.0))
    assert max(server.sleeps) == 2.0
    assert server.asked[0] == 20


def test_a_server_that_holds_the_answer_is_asked_again_at_once() -> None:
    server = Server(["running", "running", "running", "succeeded"], holds=True)
    jobs = list(poller(server).snapshots("j", every=20.0))
    assert (len(jobs), server.sleeps, server.asked) == (4, [], [20, 20, 20, 20])


def test_a_server_that_refuses_wait_is_asked_without_it_from_then_on() -> None:
    server = Server(["running", "running", "succeeded"], holds=False, refuses_wait=True)
    look = poller(server)
    assert [job.status for job in look.snapshots("j", every=5.0)] == ["running", "running", "succeeded"]
    assert server.asked == [5, None, None, None]
    assert look.long_poll is False


def test_the_wait_never_outlasts_the_timeout() -> None:
    server = Server(["running"], holds=True)
    with pytest.raises(WaitTimeout) as late:
        list(poller(server).snapshots("j", every=20.0, timeout=45.0))
    assert server.asked == [20, 20, 5]  # the last look is offered only what is left
    assert (late.value.job.status, server.now) == ("running", 45.0)


def test_less_than_a_second_left_is_a_plain_look() -> None:
    server = Server(["running"], holds=True)
    with pytest.raises(WaitTimeout):
        list(poller(server).snapshots("j", every=20.0, timeout=20.5))
    assert server.asked[0] == 20
    assert set(server.asked[1:]) == {None}  # polled, with pauses, for the last half second
    assert server.now == pytest.approx(20.5)
