"""`make bench`'s arithmetic and write-up on fabricated measurements: ratios within a repeat, medians, slopes, and
a page that says so when a run was not correct. (The benchmark itself is not a test: it prints figures.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from loadtests import bench
from loadtests.benchmarks import writeup
from loadtests.benchmarks.sides import Measurement
from loadtests.scenarios import JobSpec


def runs(
    spec: JobSpec, celerity: list[float], celery: list[float], plain: list[float] | None = None, **extra: Any
) -> dict[str, Any]:
    def m(system: str, seconds: float) -> Measurement:
        return Measurement(system, spec.workload, spec.items, spec.chunk_size, seconds, True, **extra)

    sides = {"celerity": celerity, "celery": celery} | ({"plain": plain} if plain else {})
    return bench._compare(spec, {name: [m(name, s) for s in seconds] for name, seconds in sides.items()})


def test_ratios_are_taken_within_each_repeat_then_the_median() -> None:
    point = runs(JobSpec("chunked", 1000, 100), celerity=[2.0, 4.0, 3.0], celery=[1.0, 4.0, 1.0], plain=[1, 1, 1.5])
    # per-repeat throughput ratios: 0.5, 1.0, 0.333 -> median 0.5 (not the ratio of medians, 1/3)
    assert point["throughput_ratio"] == pytest.approx(0.5)
    assert point["ratios"]["celery"]["throughput"] == pytest.approx(0.5)
    assert point["ratios"]["plain"]["throughput"] == pytest.approx(0.5)  # 0.5, 0.25, 0.5 against the plain form
    assert point["items_per_second"]["celerity"] == pytest.approx(1000 / 3.0)
    assert point["correct"] is True


def test_slopes_flag_costs_that_grow_faster_than_linearly() -> None:
    xs = [10.0, 100.0, 1000.0]
    assert [round(s, 2) for _, _, s in writeup.slopes(xs, [1.0, 10.0, 400.0])] == [1.0, 1.6]
    assert writeup.slopes(xs, [1.0, None, 100.0]) == [(10.0, 1000.0, pytest.approx(1.0))]


def fabricated(correct: bool = True) -> dict[str, Any]:
    chunked, chord = JobSpec("chunked", 1000, 100), JobSpec("chord", 100)
    overhead = {"chunked": runs(chunked, [0.3], [0.1]), "chord": runs(chord, [0.5], [0.4], chord_completion=0.02)}
    overhead["chunked"]["correct"] = correct
    sizes = [runs(JobSpec("chunked", 1000, k), [10 / k], [4 / k]) for k in (10, 100, 1000)]
    widths = [runs(JobSpec("chord", w), [w / 100], [w / 200], chord_completion=w / 1e4) for w in (10, 100, 1000)]
    jobs = [
        runs(JobSpec("chunked", n, 1000), [0.0], [0.0], submit_seconds=0.01, setup_seconds=n / 1e5)
        for n in (100, 10_000)
    ]
    for point in sizes + widths + jobs:
        point |= {
            "submit_seconds": {"celerity": 0.01, "celery": 0.02},
            "start_seconds": {"celerity": 0.01, "celery": None},
            "setup_seconds": {"celerity": 0.1, "celery": None},
        }
    return {
        "plan": "quick",
        "repeats": 1,
        "duration_seconds": 60.0,
        "correct": correct,
        "machine": {
            "cpu": "test cpu",
            "cores": 2,
            "memory_gib": 1.0,
            "kernel": "k",
            "python": "3.11",
            "load_average_at_start": "0.1 0.1 0.1",
        },
        "versions": {
            k: "1" for k in ("celery", "kombu", "redis", "Django", "gunicorn", "psycopg", "redis-server", "postgres")
        },
        "ceiling": {
            "method": "redis-py",
            "payload_bytes": 1500,
            "pipelined_lpush_per_second": 1e5,
            "pipelined_rpop_per_second": 1e5,
            "roundtrip_pairs_per_second": 5e3,
            "runs": 1,
            "redis_benchmark": {},
        },
        "overhead": overhead,
        "chunk_size": sizes,
        "chord_width": widths,
        "job_size": jobs,
        "load_average": [("start", (0.1, 0.1, 0.1))],
    }


def test_the_page_has_every_section_and_its_plots(tmp_path: Path) -> None:
    doc = writeup.write(fabricated(), tmp_path / "benchmarks.md", tmp_path / "benchmarks")
    text = doc.read_text()
    for heading in (
        "## The short answer",
        "## Method",
        "## Machine",
        "## Broker ceiling",
        "## Chunk size against",
        "## Chord width against",
        "## Job size against",
    ):
        assert heading in text
    assert "a ratio of **0.33**" in text
    assert "(all correct)" in text
    for name in ("overhead", "chunk_size", "chord_width", "job_size"):
        assert f"benchmarks/{name}.png" in text
        assert (tmp_path / "benchmarks" / f"{name}.png").read_bytes().startswith(b"\x89PNG")


PLOTS = {name: f"benchmarks/{name}.png" for name in ("overhead", "chunk_size", "chord_width", "job_size")}


def test_the_page_says_so_when_a_run_was_not_correct() -> None:
    text = writeup.render(fabricated(correct=False), PLOTS)
    assert "SOME RUNS WERE NOT CORRECT" in text


def test_before_and_after_sits_beside_the_targets() -> None:
    results = fabricated()
    results["instrumentation"] = {"signals_off_seconds": 1e-6, "signals_on_seconds": 4e-5, "heartbeat_seconds": 1e-5,
                                  "signals_cost_seconds": 3.9e-5}  # fmt: skip  # one measurement, one line
    text = writeup.render(results, PLOTS)
    assert "## Before and after issue #9" in text
    # chunked: Celerity 0.3 s against 0.1 s, a third of bare Celery's items/s: below the 0.85 target
    assert "| chunked 20,000 in chunks of 100: items/s ratio | 0.45 | 0.33 | ≥ 0.85 | **no** |" in text
    assert "### Per task kind" in text
    assert "| **cost of the handlers** | **39.0 µs** |" in text


class Stuck:
    """A side whose run never finishes: the bench writes its row with the reason and goes on."""

    name = "celery"

    def __init__(self) -> None:
        self.recovered = False

    def run(self, spec: JobSpec) -> Measurement:
        raise TimeoutError("The operation timed out.")

    def recover(self) -> None:
        self.recovered = True


def test_a_run_that_cannot_finish_fails_alone_with_its_reason() -> None:
    side = Stuck()
    failed = bench.guarded(side, JobSpec("chord", 1000))  # type: ignore[arg-type]  # a stand-in side: only run() and recover() are called
    assert side.recovered, "the side clears what the run left behind"
    assert (failed.correct, failed.detail) == (False, "did not finish: TimeoutError: The operation timed out.")
    results = fabricated()
    results["chord_width"][-1]["runs"]["celery"] = [{**failed.__dict__, "items_per_second": 0.0}]
    results["chord_width"][-1]["correct"] = False
    results["correct"] = False
    text = writeup.render(results, PLOTS)
    assert "## Runs that did not finish or were not correct" in text
    assert "- chord_width, chord of 1,000, celery: did not finish: TimeoutError" in text
    assert "## Job size against" in text, "the rest of the page is still written"
