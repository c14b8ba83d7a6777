"""`make bench PLAN=peers` without the peers' packages (as `make test` runs: requirements/peers.txt is not installed):
the plan stops before it starts anything, with one line that names what to install; and the parts of the plan that
need no peer: every result is checked, ratios are taken per repeat, the page puts each system's guarantees beside its
figures."""

from __future__ import annotations

import sys
import time
from dataclasses import asdict
from typing import Any

import pytest

from loadtests import bench
from loadtests.benchmarks import peering, peers
from loadtests.scenarios import JobSpec, expected_sum


@pytest.mark.parametrize("package", ["dramatiq", "procrastinate"])
def test_the_peers_plan_without_a_peer_package_says_what_to_install(
    package: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, package, None)  # `import dramatiq` now fails as if it were not installed
    started = time.monotonic()
    assert bench.main(["--plan", "peers", "--no-docs"]) == 2
    assert time.monotonic() - started < 10, "it stops before it starts a stack"
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert package in err[0]
    assert "requirements/peers.txt" in err[0]
    assert "make bench PLAN=peers" in err[0]


def test_only_the_packages_that_do_not_import_are_named() -> None:
    fake = peers.Peer("x", "x", "loadtests.peers.work", ("json", "no_such_queue_library"), peers.SELF["plain"], 1,
                      lambda url: [])  # fmt: skip  # one peer
    assert peers.missing([fake, fake]) == ["no_such_queue_library"]
    with pytest.raises(peers.PeerMissing, match=r"needs no_such_queue_library: `make bench PLAN=peers` installs"):
        peers.require([fake])


class FakeDriver:
    """A peer that answers wrongly, or not at all: the plan must say so, not print a figure."""

    def __init__(self, name: str, answer: Any) -> None:
        self.name, self.answer = name, answer

    def chunked(self, items: int, size: int) -> list[Any]:
        if isinstance(self.answer, Exception):
            raise self.answer
        return [list(v) for v in self.answer]


def test_every_peer_result_is_checked() -> None:
    spec = JobSpec("chunked", 1000, 100)
    right = [(100, sum(i * i for i in range(a, a + 100))) for a in range(0, 1000, 100)]
    assert sum(v for _, v in right) == expected_sum(1000)
    run = peering._chunked(None, FakeDriver("good", right), spec)  # type: ignore[arg-type]  # a peer needs no systems
    assert run["correct"]
    assert run["seconds"] > 0
    wrong = peering._chunked(None, FakeDriver("lossy", right[:-1]), spec)  # type: ignore[arg-type]  # as above
    assert not wrong["correct"]
    assert "count, sum (900," in wrong["detail"]
    failed = peering._chunked(None, FakeDriver("down", TimeoutError("no results within 300s")), spec)  # type: ignore[arg-type]  # as above
    assert failed == {"seconds": None, "correct": False, "detail": "TimeoutError: no results within 300s"}


def test_peer_ratios_are_bare_plains_time_over_theirs_within_each_repeat() -> None:
    def r(seconds: float | None, correct: bool = True) -> dict[str, Any]:
        return {"seconds": seconds, "correct": correct, "detail": "ok"}

    found = peering.summary({"plain": [r(1.0), r(2.0), r(1.0)], "huey": [r(0.5), r(1.0), r(None, correct=False)]})
    assert found["huey"]["ratio_to_plain"] == pytest.approx(2.0)
    assert found["huey"]["seconds"] == pytest.approx(0.75)
    assert not found["huey"]["correct"]
    assert found["plain"]["ratio_to_plain"] == pytest.approx(1.0)


def test_each_systems_guarantees_sit_beside_its_figures() -> None:
    small = {"jobs_per_second": 250.0, "p50": 0.02, "p99": 0.05, "correct": True}
    results = {
        "peers": {
            "spec": {"workload": "chunked", "items": 20_000, "chunk_size": 100},
            "clients": 8,
            "chunked": {
                "plain": {"seconds": 1.0, "ratio_to_plain": 1.0, "runs": [], "correct": True},
                "huey": {"seconds": 0.25, "ratio_to_plain": 4.0, "runs": [], "correct": False},
            },
            "small": {"plain": small, "huey": small},
            "guarantees": {name: asdict(g) for name, g in {"plain": peers.SELF["plain"],
                           "huey": next(p.guarantees for p in peers.PEERS if p.name == "huey")}.items()},
            "labels": {"plain": "bare Celery", "huey": "Huey 3.5"},
        }
    }  # fmt: skip  # one fabricated run
    text = peering.render(results)
    assert "| bare Celery | 20,000 | 1.00 | 250.0 | 20 ms | 50 ms | as durable as Redis" in text
    assert "| Huey 3.5 | 80,000 | 4.00 |" in text
    assert "at most once (a task is popped from the list before it runs) | no | pickle | **NO** |" in text
    assert peering.render({}) == ""
