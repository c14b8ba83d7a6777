"""The canvases: each workload's primitive, its routing and its task ids."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from celery import chord, group
from celery.canvas import _chain
from django.test import override_settings

from celerity.jobs import canvases
from celerity.jobs.canvases import names
from celerity.jobs.models import Job, Workload


def job(workload: Workload, items: int, chunk_size: int, queue: str = "") -> Job:
    return Job(
        id=uuid.uuid4(), job_type=workload.value, workload=workload, items=items, chunk_size=chunk_size, queue=queue
    )


def leaves(canvas: object) -> list[object]:
    """Every task signature of a canvas, depth first."""
    if isinstance(canvas, chord):
        return [*leaves(canvas.tasks), *leaves(canvas.body)]
    if isinstance(canvas, group | _chain):
        return [leaf for task in canvas.tasks for leaf in leaves(task)]
    if isinstance(canvas, list | tuple):
        return [leaf for task in canvas for leaf in leaves(task)]
    return [canvas]


@pytest.mark.parametrize(
    ("workload", "work_task", "work_queue"),
    [
        (Workload.CHUNKED, names.CHUNK_RUN, "bulk"),
        (Workload.MAP, names.CHUNK_RUN, "bulk"),
        (Workload.STARMAP, names.CHUNK_RUN, "bulk"),
        (Workload.CHAIN, names.CHAIN_STEP, "default"),
        (Workload.GROUP, names.ITEM_RUN, "default"),
        (Workload.CHORD, names.ITEM, "default"),
    ],
)
def test_each_workload_routes_its_work_and_its_bookkeeping(workload: Workload, work_task: str, work_queue: str) -> None:
    tasks = [leaf for canvas in canvases.job_canvases(job(workload, 25, 10)) for leaf in leaves(canvas)]
    work = [t for t in tasks if t.task == work_task]  # type: ignore[attr-defined]
    bookkeeping = [t for t in tasks if t.task != work_task]  # type: ignore[attr-defined]
    per_item = workload in (Workload.CHAIN, Workload.GROUP, Workload.CHORD)
    assert len(work) == (25 if per_item else 3)
    assert {t.options["queue"] for t in work} == {work_queue}  # type: ignore[attr-defined]
    assert {t.options["queue"] for t in bookkeeping} <= {"default"}  # type: ignore[attr-defined]


def test_a_queue_named_by_the_request_takes_everything() -> None:
    tasks = [leaf for canvas in canvases.job_canvases(job(Workload.CHUNKED, 25, 10, "e2e")) for leaf in leaves(canvas)]
    assert {t.options["queue"] for t in tasks} == {"e2e"}  # type: ignore[attr-defined]


def test_chunked_work_is_one_task_per_chunk_published_in_batches() -> None:
    """No second message per chunk: the task that runs a chunk's items records them, and it carries the chunk's
    bounds (not an argument list per item)."""
    the_job = job(Workload.CHUNKED, canvases.PUBLISH_BATCH * 10 * 2 + 5, 10)
    batches = list(canvases.job_canvases(the_job))
    assert len(batches) == 3
    tasks = [t for c in batches for t in leaves(c)]
    assert {t.task for t in tasks} == {names.CHUNK_RUN}  # type: ignore[attr-defined]
    assert [t.id for t in tasks] == [f"{the_job.id}-c{k}" for k in range(2 * canvases.PUBLISH_BATCH + 1)]  # type: ignore[attr-defined]
    assert tasks[-1].args == (str(the_job.id), "chunked", 400, 4000, 4005, False, {})  # type: ignore[attr-defined]


@pytest.mark.parametrize("workload", [Workload.CHUNKED, Workload.GROUP, Workload.CHAIN])
def test_named_chunks_are_republished_alone(workload: Workload) -> None:
    the_job = job(workload, 45, 10)
    tasks = [t for c in canvases.job_canvases(the_job, chunks=[3, 1]) for t in leaves(c)]
    ids = {t.id for t in tasks} - {None}  # type: ignore[attr-defined]
    kind, numbers = {
        Workload.CHUNKED: ("c", [1, 3]),  # one task per chunk
        Workload.GROUP: ("i", [*range(10, 20), *range(30, 40)]),  # one task per item
        Workload.CHAIN: ("s", [*range(10, 20), *range(30, 40)]),  # one step per item (its recorder has no id)
    }[workload]
    assert ids == {f"{the_job.id}-{kind}{n}" for n in numbers}


def test_a_chord_is_republished_whole() -> None:
    the_job = job(Workload.CHORD, 25, 10)
    (canvas,) = canvases.job_canvases(the_job, chunks=[2])
    assert len([t for t in leaves(canvas) if t.task == names.ITEM]) == 25  # type: ignore[attr-defined]


def errbacks(canvas: Any, inherited: tuple[str, ...] = ()) -> list[tuple[str, tuple[str, ...]]]:
    """(task, errback task names) of every leaf; a chain hands its errbacks to its tasks when it is applied."""
    own = inherited + tuple(e["task"] for e in canvas.options.get("link_error", []))
    if isinstance(canvas, chord):
        return [*(x for t in canvas.tasks for x in errbacks(t, inherited)), *errbacks(canvas.body, own)]
    if isinstance(canvas, group | _chain):
        return [x for t in canvas.tasks for x in errbacks(t, own)]
    return [(canvas.task, own)]


def test_every_task_of_a_job_fails_the_job_when_it_raises() -> None:
    for workload in Workload:
        for canvas in canvases.job_canvases(job(workload, 12, 5)):
            linked = errbacks(canvas)
            if workload is Workload.CHORD:
                # Celery calls the body's errback when any header task fails.
                assert [t for t, e in linked if e] == [names.CHORD_RECORD]
            else:
                assert all(e == (names.JOB_FAIL,) for _, e in linked), (workload, linked)


def test_the_chain_starts_each_accumulator_empty() -> None:
    (canvas,) = canvases.job_canvases(job(Workload.CHAIN, 4, 4))
    steps = leaves(canvas)
    assert steps[0].args[0] == []  # type: ignore[attr-defined]
    assert [len(s.args) for s in steps[:4]] == [6, 5, 5, 5]  # type: ignore[attr-defined]


@override_settings(CELERITY_JOB_TYPE_QUEUES={"test-words-group": "bulk"})
def test_a_job_type_runs_on_its_configured_queue_then_its_own_then_the_canvas_default() -> None:
    configured = Job(id=uuid.uuid4(), job_type="test-words-group", workload=Workload.GROUP, items=4, chunk_size=2)
    assert canvases.job_queues(configured) == ("bulk", "default")
    own = Job(id=uuid.uuid4(), job_type="test-nap", workload=Workload.CHUNKED, items=4, chunk_size=2)
    assert canvases.job_queues(own) == ("default", "default")  # chunked work would go to `bulk`
    canvas_default = Job(id=uuid.uuid4(), job_type="test-words-chain", workload=Workload.CHAIN, items=4, chunk_size=2)
    assert canvases.job_queues(canvas_default) == ("default", "default")
    named = Job(id=uuid.uuid4(), job_type="checksum", workload=Workload.CHUNKED, items=4, chunk_size=2, queue="default")
    assert canvases.job_queues(named) == ("default", "default")
