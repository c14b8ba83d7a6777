"""The article's example tasks, runnable unchanged: `group(add.s(i, i) for i in range(10))().get()`."""

from celery import shared_task


@shared_task(name="celerity.demo.add")
def add(x: int, y: int) -> int:
    return x + y


@shared_task(name="celerity.demo.xsum")
def xsum(numbers: list[int]) -> int:
    return sum(numbers)


@shared_task(name="celerity.demo.job_visible")
def job_visible(job_id: str) -> bool:
    """Whether a worker can see the job row: the article's race, made observable."""
    from celerity.jobs.selectors import job_get

    return job_get(job_id=job_id) is not None
