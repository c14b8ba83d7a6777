"""Where a job's work sits: the items of chunk k, and the task id of every piece of work.

Task ids are derived from the job id, so a cancel or a failure can revoke outstanding work without storing ids:
`<job>-c<chunk>` (a chunk's task), `<job>-i<item>` (an item's task: a group or chord member), `<job>-s<item>` (a chain
step). A retry's tasks carry the retry's number (`<job>-r1c3`, `<job>-r1i42`): the failure that ended the job revoked
its outstanding tasks by id, and workers remember revoked ids. A retry runs per-item canvases as `i` tasks whatever
the canvas (a chain's included).
"""

from __future__ import annotations

from collections.abc import Iterator

from celerity.jobs.models import Job, Workload


def chunk_span(job: Job, k: int) -> tuple[int, int]:
    """(first item, one past the last item) of chunk k."""
    start = k * job.chunk_size
    return start, min(start + job.chunk_size, job.items)


def chunk_bounds(job: Job) -> Iterator[tuple[int, int, int]]:
    """(chunk index, start, stop) of every chunk of the job, in order."""
    for k in range((job.items + job.chunk_size - 1) // job.chunk_size):
        yield (k, *chunk_span(job, k))


def _run(retries: int) -> str:
    """The retry scheme: a first run's ids have no prefix, retry n's are prefixed `r<n>`."""
    return f"r{retries}" if retries else ""


def chunk_task_id(job_id: str, k: int, *, retries: int = 0) -> str:
    return f"{job_id}-{_run(retries)}c{k}"


def item_task_id(job_id: str, index: int, *, retries: int = 0) -> str:
    return f"{job_id}-{_run(retries)}i{index}"


def step_task_id(job_id: str, index: int) -> str:
    """A chain step's (a retry runs a chain's items as `i` tasks, so steps have no retry form)."""
    return f"{job_id}-s{index}"


def outstanding_task_ids(job: Job, open_chunks: list[int]) -> list[str]:
    """The ids a cancel revokes: the first task of every open chunk's work, or its items for per-item workloads."""
    workload, job_id, retries = Workload(job.workload), str(job.id), job.retries
    ids: list[str] = []
    for k in open_chunks:
        start, stop = chunk_span(job, k)
        if workload in (Workload.GROUP, Workload.CHORD) or (retries and workload is Workload.CHAIN):
            ids.extend(item_task_id(job_id, i, retries=retries) for i in range(start, stop))
        elif workload is Workload.CHAIN:
            ids.extend(step_task_id(job_id, i) for i in range(start, stop))
        else:
            ids.append(chunk_task_id(job_id, k, retries=retries))
    return ids
