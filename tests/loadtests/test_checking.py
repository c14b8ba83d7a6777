"""The correctness verdict: a correct job passes, and every kind of wrong job fails."""

from __future__ import annotations

from loadtests.checking import Audit, check
from loadtests.scenarios import JobSpec, expected_sum

SPEC = JobSpec("chunked", 100, 10)


def body(
    done: int, total: int | None, count: int | None = None, status: str = "succeeded", failed: int = 0
) -> dict[str, object]:
    return {
        "status": status,
        "progress": {"done": done, "failed": failed, "total": 100},
        "result": {"sum": total, "count": done if count is None else count},
    }


def test_expected_sum_is_the_sum_of_squares() -> None:
    assert [expected_sum(n) for n in (1, 2, 3, 10)] == [0, 1, 5, sum(i * i for i in range(10))]


def test_a_correct_job_passes() -> None:
    verdict = check(SPEC, body(100, expected_sum(100)))
    assert (verdict.ok, verdict.lost, verdict.duplicated, verdict.reason) == (True, 0, 0, "ok")


def test_a_wrong_sum_fails() -> None:
    verdict = check(SPEC, body(100, expected_sum(100) + 1))
    assert not verdict.ok
    assert "sum" in verdict.reason


def test_lost_items_fail_and_are_counted() -> None:
    verdict = check(SPEC, body(97, expected_sum(97)))
    assert (verdict.ok, verdict.lost, verdict.duplicated) == (False, 3, 0)


def test_items_counted_twice_fail_and_are_counted() -> None:
    verdict = check(SPEC, body(103, expected_sum(100), count=100))
    assert (verdict.ok, verdict.lost, verdict.duplicated) == (False, 0, 3)


def test_a_failed_or_unfinished_job_fails_even_with_the_right_numbers() -> None:
    assert not check(SPEC, body(100, expected_sum(100), status="failed")).ok
    assert not check(SPEC, body(100, expected_sum(100), status="running")).ok
    assert not check(SPEC, {"status": "running", "progress": {"done": 40}, "result": None}).ok


def test_failed_items_fail_the_verdict() -> None:
    verdict = check(SPEC, body(98, expected_sum(98), count=98, failed=2))
    assert not verdict.ok
    assert "2 items failed" in verdict.reason
    assert verdict.lost == 0


def test_the_database_audit_catches_what_the_api_cannot_show() -> None:
    right = body(100, expected_sum(100))
    assert check(SPEC, right, Audit(rows=100, unwritten=0, written_twice=0)).ok
    twice = check(SPEC, right, Audit(rows=100, unwritten=0, written_twice=4))
    assert (twice.ok, twice.duplicated) == (False, 4)
    unwritten = check(SPEC, right, Audit(rows=100, unwritten=2, written_twice=0))
    assert (unwritten.ok, unwritten.lost) == (False, 2)
    missing_rows = check(SPEC, right, Audit(rows=90, unwritten=0, written_twice=0))
    assert (missing_rows.ok, missing_rows.lost) == (False, 10)
