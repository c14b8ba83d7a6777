"""The demo job types: the squares the load tests run, with deterministic fault injection."""

from __future__ import annotations

import uuid

import pytest

from celerity.demo.squares import InjectedFailure, item_fails, square
from celerity.jobs.models import Workload
from celerity.jobs.registry import ItemContext, job_type_get


def test_injected_failures_are_a_deterministic_fraction() -> None:
    job_id = str(uuid.uuid4())
    first = [item_fails(job_id, i, 0.2) for i in range(5000)]
    assert first == [item_fails(job_id, i, 0.2) for i in range(5000)]
    assert 0.17 < sum(first) / 5000 < 0.23
    assert not any(item_fails(job_id, i, 0.0) for i in range(100))
    assert all(item_fails(job_id, i, 1.0) for i in range(100))


def test_the_demo_registers_one_squares_type_per_workload() -> None:
    for workload in Workload:
        definition = job_type_get(workload.value)
        assert (definition.canvas, definition.function) == (workload, square)


def test_a_square_fails_when_the_fault_injection_says_so() -> None:
    job_id = str(uuid.uuid4())
    assert square(7, ItemContext(job_id=job_id, index=7)) == 49
    with pytest.raises(InjectedFailure, match="item 7 fails by design"):
        square(7, ItemContext(job_id=job_id, index=7, options={"fail_rate": 1.0}))


@pytest.mark.parametrize("items", [1, 2, 1000, 1_000_000])
def test_the_load_tests_expect_what_the_demo_type_answers(items: int) -> None:
    """The load tests check results without Django (they are a client); their formula is the demo's answer."""
    from celerity.demo.squares import expected_result
    from loadtests.scenarios import expected_sum

    assert expected_result(items) == {"sum": expected_sum(items), "count": items}
