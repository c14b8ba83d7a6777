"""The arithmetic and the plumbing of `make bench`'s sections: process accounting, the order of the sides, what a
Celery setting costs, small jobs' clients and ratios, fairness' medians, the broker's footprint on a real Redis.
(The benchmark itself is not a test: it prints figures.)"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from loadtests import bench
from loadtests.benchmarks import cpu, fairness, knobs, memory, sides, smalljobs
from loadtests.benchmarks.sides import Measurement, queue_keys
from loadtests.scenarios import JobSpec
from loadtests.target import api_client
from tests import fakeapi

# pid -> (parent pid, CPU seconds): the bench (1) started a worker (10) with two pool processes (11, 12) and Postgres
# (20) with a backend (21); 30 belongs to nobody we know.
PROCESSES = {1: (0, 0.5), 10: (1, 0.2), 11: (10, 1.0), 12: (10, 2.0), 20: (1, 0.1), 21: (20, 0.7), 30: (1, 9.0)}


def test_cpu_is_split_by_role_and_never_counted_under_two_roots() -> None:
    found = cpu.split(PROCESSES, {"bench": 1, "worker-bulk": 10, "postgres": 20})
    assert found == pytest.approx(
        {
            "bench": 0.5,
            "bench children": 9.0,
            "worker-bulk": 0.2,
            "worker-bulk children": 3.0,
            "postgres": 0.1,
            "postgres children": 0.7,
        }
    ), "the bench's children stop at the other roots: only the stranger (30) is below it"
    later = cpu.split({**PROCESSES, 12: (10, 2.5), 13: (10, 0.25)}, {"worker-bulk": 10})
    assert cpu.spent({"worker-bulk": 0.2, "worker-bulk children": 3.0}, later) == {"worker-bulk children": 0.75}


def test_a_real_process_cpu_time_is_read_from_the_kernel() -> None:
    burn = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\ninput()"
    child = subprocess.Popen([sys.executable, "-c", burn], stdin=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while (seconds := cpu.split(cpu._processes(), {"burner": child.pid}).get("burner", 0.0)) < 0.3:
            assert time.monotonic() < deadline, f"the kernel counted only {seconds} s"
            time.sleep(0.05)
        assert seconds < 5
    finally:
        child.communicate(b"\n", timeout=10)


def test_each_repeat_starts_with_the_next_side() -> None:
    sides: list[Any] = ["a", "b", "c"]
    assert [bench.rotated(sides, r) for r in range(4)] == [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"], sides]
    assert [bench.rotated(sides[:2], r) for r in range(2)] == [["a", "b"], ["b", "a"]]


def test_a_single_wrong_flag_anywhere_makes_the_run_incorrect() -> None:
    good = {"overhead": {"chunked": {"correct": True, "runs": {"plain": [{"correct": True}]}}}, "knobs": None}
    assert bench.all_correct(good)
    bad = {"fairness": {"case": {"celerity": {"correct": True}, "plain": {"runs": [{"correct": False}]}}}}
    assert not bench.all_correct(bad)
    assert not bench.all_correct({"pg_limit": {"error": "RuntimeError: no Postgres", "correct": False}})


def measurement(name: str, seconds: float, cpu_seconds: dict[str, float], commands: int) -> Measurement:
    m = Measurement.of(name, JobSpec("chunked", 20_000, 100), seconds, True, "ok")
    m.cpu, m.redis_commands = cpu_seconds, {"brpop": commands}
    return m


def test_a_setting_costs_what_its_side_spent_beyond_the_reference() -> None:
    reference = [measurement("plain", 1.0, {"plain-bulk children": 0.4, "redis": 0.1, "worker-bulk": 5.0}, 1000)] * 3
    variant = [measurement("knob0", 1.5, {"knob0-bulk children": 0.5, "redis": 0.2, "plain-bulk": 9.0}, 1600)] * 3
    found = knobs.cost(reference, variant, 200, ("plain", "knob0"))
    # 0.7 - 0.5 CPU seconds over 200 tasks; another side's process (worker-bulk, plain-bulk) does not count
    assert found == pytest.approx(
        {"time_ratio": 1.5, "cpu_us_per_task": 1000.0, "commands_per_task": 3.0, "reference_cpu_us": 2500.0}
    )
    wrong = [Measurement.of("knob0", JobSpec("chunked", 20_000, 100), 0.0, False, "did not finish")]
    assert knobs.cost(reference, wrong, 200, ("plain", "knob0"))["time_ratio"] is None


def test_small_job_clients_run_every_job_once() -> None:
    seen: list[int] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        time.sleep(0.001)
        with lock:
            seen.append(i)

    assert smalljobs.parallel(50, 8, one) > 0
    assert sorted(seen) == list(range(50))


@pytest.fixture
def api() -> Iterator[tuple[fakeapi.FakeApi, str]]:
    fake = fakeapi.FakeApi()
    with fakeapi.serving(fake) as url:
        yield fake, url


def test_a_client_asks_the_api_to_wait_and_polls_while_it_does_not(api: tuple[fakeapi.FakeApi, str]) -> None:
    fake, url = api
    client = api_client(url, fake.token)
    body, held = smalljobs.waited(client, JobSpec("chunked", 1).submit(client)[0])
    assert body["status"] == "succeeded"
    assert not held
    assert fake.waits == [str(smalljobs.WAIT)] * (fakeapi.RUNNING_POLLS + 1), "one GET per poll, each asking to wait"


def test_a_client_notices_when_the_api_holds_its_answer(api: tuple[fakeapi.FakeApi, str]) -> None:
    fake, url = api
    fake.hold = smalljobs.HELD + 0.1
    client = api_client(url, fake.token)
    body, held = smalljobs.waited(client, JobSpec("chunked", 1).submit(client)[0])
    assert body["status"] == "succeeded"
    assert held


def batch(system: str, kind: str, per_second: float, p50: float, correct: bool = True) -> dict[str, Any]:
    return {"system": system, "kind": kind, "jobs_per_second": per_second, "p50": p50, "correct": correct}


def test_small_job_ratios_are_taken_per_repeat_and_skip_wrong_batches() -> None:
    batches = [
        batch("celerity", "one-item", 40, 0.2), batch("plain", "one-item", 400, 0.02),
        batch("plain", "one-item", 300, 0.03), batch("celerity", "one-item", 60, 0.12),
        batch("celerity", "chord of 10", 10, 0.5, correct=False), batch("plain", "chord of 10", 100, 0.05),
    ]  # fmt: skip  # one batch a line
    found = smalljobs.ratios(batches)
    assert found["one-item"] == pytest.approx({"throughput": (0.1 + 0.2) / 2, "p50": (10 + 4) / 2})
    assert found["chord of 10"] == {"throughput": None, "p50": None}


def test_fairness_is_the_small_job_behind_over_the_small_job_alone() -> None:
    runs = [
        {"alone": 0.1, "small": 2.0, "large": 3.0, "correct": True},
        {"alone": 0.3, "small": 3.0, "large": 3.2, "correct": True},
    ]
    found = fairness.summary(runs)
    assert (found["alone"], found["behind"], found["large"]) == pytest.approx((0.2, 2.5, 3.1))
    assert found["slowdown"] == pytest.approx(12.5)
    assert found["correct"]
    assert not fairness.summary([*runs, {"alone": None, "small": None, "large": None, "correct": False}])["correct"]


@pytest.fixture
def private_redis(tmp_path: Any) -> Iterator[redis.Redis]:
    """A Redis server of this test's own: `used_memory` counts the whole server, and the session's Redis is shared
    with workers and other tests whose writes and frees would land in the reading."""
    from devstack.servers import start_redis

    server = start_redis(tmp_path / "redis", persistent=False)
    try:
        yield redis.Redis.from_url(server.url)
    finally:
        server.stop()


def test_a_jobs_footprint_is_what_its_messages_hold_in_redis(private_redis: redis.Redis) -> None:
    client = private_redis
    client.flushdb()
    try:
        assert queue_keys("bulk")[0] == "bulk"
        assert len(queue_keys("bulk")) == 4

        def publish() -> int:
            for key in (queue_keys("bulk")[0], queue_keys("bulk")[-1]):  # the plain list and a priority sub-queue
                client.lpush(key, *[os.urandom(1500) for _ in range(100)])
            return 7

        with memory.Peak(client) as peak:
            grown, handle = memory.footprint(client, 200, publish)
        assert handle == 7
        assert memory.waiting(client) == 200
        assert 200 * 1500 <= grown < 200 * 3000, f"{grown} bytes for 200 messages of 1,500"
        assert peak.grown >= grown
        with pytest.raises(TimeoutError, match="200 of 201 messages"):
            memory.footprint(client, 201, lambda: None, timeout=0.2)
    finally:
        client.flushdb()


def test_the_bench_names_celeritys_tasks_as_the_services_do() -> None:
    from celerity.jobs.canvases import names  # the test session has Django; the bench process does not

    assert (sides.JOB_START, sides.CHORD_MEMBER, sides.CHORD_BODY) == (names.JOB_START, names.ITEM, names.CHORD_RECORD)
