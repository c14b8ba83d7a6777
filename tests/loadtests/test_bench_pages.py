"""docs/benchmarks.md's new parts on fabricated runs: both baselines in the short answer, where the time goes (the
chunk's steps, CPU and Redis commands per chunk, Celery's settings), the physical limit and its share, issue #17's
small jobs, fairness and broker memory; a section that could not run says why, and a plan without a section leaves
it out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from loadtests.benchmarks import anatomy, pglimit, where, writeup
from loadtests.scenarios import JobSpec
from tests.loadtests.test_bench_writeup import fabricated, runs

CHUNKED = JobSpec("chunked", 1000, 100)  # 10 chunks


def accounted(point: dict[str, Any]) -> dict[str, Any]:
    """CPU seconds and Redis commands in every run of the chunked overhead point, as the bench records them."""
    cpu = {
        "celerity": {"worker-bulk children": 0.5, "worker-bulk": 0.1, "postgres children": 0.3, "redis": 0.05,
                     "plain-bulk children": 7.0},  # another side's process: not Celerity's
        "plain": {"plain-bulk children": 0.02, "plain-bulk": 0.03, "redis": 0.01, "bench": 0.04},
        "celery": {"baseline-bulk children": 0.2, "redis": 0.02},
    }  # fmt: skip  # one reading per side
    commands = {"celerity": {"brpop": 30, "publish": 40}, "plain": {"brpop": 20, "set": 10}, "celery": {"brpop": 40}}
    for system, measured in point["runs"].items():
        for run in measured:
            run["cpu"], run["redis_commands"] = cpu[system], commands[system]
    return point


def full() -> dict[str, Any]:
    results = fabricated()
    results["overhead"]["chunked"] = accounted(runs(CHUNKED, [0.3], [0.6], plain=[0.1]))
    results["anatomy"] = {
        "chunk_size": 100, "chunks": 200, "total_mean": 0.005, "total_median": 0.0048,
        "steps": {anatomy.STEPS["items_write"]: 0.003, anatomy.STEPS["items_run"]: 0.001},
        "statements": {"the recording statement (RECORD)": {"per_chunk": 1.0, "mean": 0.0025, "total": 0.0025}},
        "profile": [{"function": "psycopg/connection.py:479(wait)", "calls": 600, "own": 0.002, "cum": 0.003}],
        "bare_task_seconds": 1.5e-5, "bare_store_result_seconds": 4e-4,
    }  # fmt: skip  # one measurement
    results["knobs"] = {
        "spec": {"items": 20_000, "chunk_size": 100}, "tasks": 200,
        "variants": {"STARTED state (`task_track_started`)": {
            "time_ratio": 1.2, "cpu_us_per_task": 150.0, "commands_per_task": 2.0, "reference_cpu_us": 900.0,
            "correct": True, "seconds": {"reference": [1.0], "variant": [1.2]}}},
    }  # fmt: skip  # one measurement
    results["pg_limit"] = [
        {"method": m, "writers": w, "rows": 1000, "rows_per_second": rate * w, "correct": True}
        for m, rate in (("copy100", 50_000), ("copy10000", 200_000), ("insert100", 40_000), ("record100", 10_000))
        for w in (1, 2)
    ]
    small = {"jobs": 200, "done": 200, "p99": 0.3, "server_p50": 0.1, "server_waited": False, "correct": True}
    results["small_jobs"] = {
        "clients": 8,
        "batches": [
            {**small, "system": "celerity", "kind": "one-item", "jobs_per_second": 40.0, "p50": 0.2},
            {**small, "system": "plain", "kind": "one-item", "jobs_per_second": 400.0, "p50": 0.02},
        ],
        "ratios": {"one-item": {"throughput": 0.1, "p50": 10.0}, "chord of 10": {"throughput": None, "p50": None}},
    }
    side = {"alone": 0.2, "behind": 3.0, "large": 3.1, "slowdown": 15.0, "runs": [{}], "correct": True}
    results["fairness"] = {"chunked behind chunked (`bulk`)": {"celerity": side, "plain": {**side, "behind": 2.9}}}
    results["broker_memory"] = {
        "spec": {"workload": "chunked", "items": 100_000, "chunk_size": 100}, "messages": 1000,
        "celerity": {"peak_bytes": 2**20, "footprint_bytes": 2 * 2**20, "bytes_per_message": 2097.152, "correct": True},
        "plain": {"peak_bytes": 0, "footprint_bytes": 2**20, "bytes_per_message": 1048.576, "correct": False},
    }  # fmt: skip  # one measurement
    return results


PLOTS = {name: f"benchmarks/{name}.png" for name in ("overhead", "chunk_size", "chord_width", "job_size")}


def render(results: dict[str, Any]) -> str:
    """The page without drawing its plots (test_bench_writeup checks those)."""
    return writeup.render(results, PLOTS)


@pytest.fixture(scope="module")
def page() -> str:
    return render(full())


def test_the_short_answer_states_both_baselines(page: str) -> None:
    # 1,000 items: Celerity 0.3 s, the plain form 0.1 s (a third), the canvas form 0.6 s (twice)
    assert "bare Celery written the plain way 10,000 items/s, a ratio of **0.33**" in page
    assert "bare Celery's canvas form 1,667 items/s, a ratio of **2.00**" in page


def test_cpu_per_chunk_counts_each_sides_own_processes(page: str) -> None:
    assert "### CPU per chunk, every process" in page
    # Celerity's pool processes: 0.5 s over 10 chunks; the other side's 7 s are not Celerity's
    assert "| `bulk` pool: its 2 processes (the tasks) | 50.000 | 2.000 | 20.000 |" in page
    assert "| **all** | **95.000** | **10.000** | **22.000** |" in page
    assert (
        "Celerity's CPU per chunk (9.5 times the plain form's), beyond the plain form's, largest first: `bulk` pool: "
        "its 2 processes (the tasks) +48.00 ms; Postgres +30.00 ms; `bulk` pool: the worker's parent (messages, acks, "
        "events) +7.00 ms; Redis +4.00 ms."
    ) in page
    figures = where.cpu_per_chunk(full())
    assert figures["celerity"]["Postgres"] == pytest.approx(0.03)
    assert "Postgres" not in figures["plain"]


def test_redis_commands_per_chunk_beside_each_other(page: str) -> None:
    assert "| `PUBLISH` | 4.00 | 0.00 | 0.00 |" in page
    assert "| **all commands** | **7.0** | **3.0** | **4.0** |" in page


def test_the_chunk_task_steps_and_what_is_left(page: str) -> None:
    assert f"| {anatomy.STEPS['items_write']} | 3.00 | 60% |" in page
    assert "| the rest (the retry decorator, the calls between the steps) | 1.00 | 20% |" in page
    assert "| the bare plain task's body, for comparison | 0.015 | |" in page
    assert "| `psycopg/connection.py:479(wait)` | 3 | 2.000 |" in page


def test_celerys_own_settings_are_priced(page: str) -> None:
    assert "| STARTED state (`task_track_started`) | 1.20 | +150 µs | +2.0 | yes |" in page
    assert "The plain baseline spent 900 µs of CPU per task" in page


def test_the_physical_limit_and_the_share_chunked_work_reaches(page: str) -> None:
    assert f"| {pglimit.METHODS['record100']} | 10,000 | 20,000 |" in page
    # Celerity's 3,333 items/s against RECORD's 20,000 rows/s at 2 writers, COPY's 100,000
    assert "16.7% of what the recorder's statement alone reaches with 2 writers" in page
    assert "3.3% of COPY's" in page


def test_issue_17s_before(page: str) -> None:
    assert "## Small jobs" in page
    assert "| one-item | Celerity | 200 x 1 | 40.0 | 200 ms | 300 ms | 100 ms | yes |" in page
    assert "- one-item: throughput **0.10x** bare Celery's, p50 latency **10.00x** bare Celery's" in page
    assert "so the clients polled every 20 ms" in page
    assert "| chunked behind chunked (`bulk`) | Celerity | 200 ms | 3,000 ms | 15.0x | 3,100 ms | 1 | yes |" in page
    assert "| Celerity | 1.00 MiB | 2.00 MiB | 2,097 B | yes |" in page
    assert "| bare Celery | 0.00 MiB | 1.00 MiB | 1,049 B | **NO** |" in page


def test_a_server_that_holds_the_answer_is_said_to() -> None:
    results = full()
    results["small_jobs"]["batches"][0]["server_waited"] = True
    text = render(results)
    assert "the API held the clients' `GET /api/jobs/{id}?wait=` until the job ended" in text


def test_a_section_that_could_not_run_says_why() -> None:
    results = full()
    results["pg_limit"] = {"error": "RuntimeError: loadtests.benchmarks.pglimit exited 1", "correct": False}
    results["fairness"] = {"error": "TimeoutError: the broker did not drain", "correct": False}
    text = render(results)
    assert "Not measured: RuntimeError: loadtests.benchmarks.pglimit exited 1." in text
    assert "Not measured: TimeoutError: the broker did not drain." in text


def test_a_plan_without_a_section_leaves_it_out(tmp_path: Path) -> None:
    results = fabricated()
    for key in ("chunk_size", "chord_width", "job_size"):
        del results[key]
    text = writeup.write(results, tmp_path / "b.md", tmp_path / "b").read_text()
    for heading in ("## Chunk size", "## Chord width", "## Job size", "## Small jobs", "## The physical limit"):
        assert heading not in text
    assert "## The short answer" in text
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["bench.json", "overhead.png"]


def test_another_plans_section_joins_the_page_and_says_where_it_came_from() -> None:
    page = full()
    peers_run = {"plan": "peers", "refreshed_at": "2026-12-08 05:00 UTC", "load_average": [("start", (1.5, 0, 0)),
                 ("peers", (3.25, 0, 0))], "peers": {"spec": {}}, "overhead": {"ignored": True}}  # fmt: skip  # one run
    merged = writeup.merged(peers_run, page, ["overhead", "peers"])
    assert merged["peers"] == {"spec": {}}
    assert merged["overhead"] == {"ignored": True}, "a plan's own sections replace the page's"
    assert merged["small_jobs"] == page["small_jobs"], "the others stay"
    assert merged["provenance"]["peers"] == {"plan": "peers", "at": "2026-12-08 05:00 UTC", "loads": "1.5 to 3.2"}
    default_run = {**fabricated(), "plan": "default"}
    again = writeup.merged(default_run, merged, ["overhead", "peers", "small_jobs"])
    assert again["peers"] == {"spec": {}}, "a default run keeps what only the peers plan measures"
    assert again["small_jobs"] == page["small_jobs"], "and whatever else it did not measure this time"
    assert again["provenance"]["small_jobs"]["plan"] == "quick", "saying which run it came from"
    assert sorted(again["provenance"]) == ["peers", "small_jobs"]
    assert writeup.merged(default_run, None, ["peers"]) is default_run
    twice = writeup.merged({**peers_run, "small_jobs": {"batches": []}}, again, ["peers", "small_jobs"])
    assert "The peers and small jobs sections come from `make bench PLAN=peers`" in writeup.header(
        {**twice, "correct": True}
    ).replace("\n", " ")
    header = writeup.header({**again, "correct": True})
    assert "The peers section comes from `make bench PLAN=peers` on 2026-12-08 05:00 UTC (load average 1.5 to 3.2)" in (
        header.replace("\n", " ")
    )
