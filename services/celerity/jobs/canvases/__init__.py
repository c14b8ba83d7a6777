"""The jobs' canvases, in one home: what each workload may take and where it runs, and so what a job type's jobs get
by default (`workloads`), the task names (`names`), where work sits (`ids`: chunk spans and task ids, a retry's
included), and the canvases themselves, a first run's and a retry's (`building`). Signatures are built from task
names, so nothing here imports the tasks module."""

from celerity.jobs.canvases.building import PUBLISH_BATCH, job_canvases, on_failure, retry_canvases
from celerity.jobs.canvases.ids import outstanding_task_ids
from celerity.jobs.canvases.workloads import (
    BOOKKEEPING_QUEUE,
    LIMITS,
    JobTypeSummary,
    job_queues,
    job_type_list,
    max_items,
    type_chunk_size,
    type_work_queue,
)

__all__ = [
    "BOOKKEEPING_QUEUE",
    "LIMITS",
    "PUBLISH_BATCH",
    "JobTypeSummary",
    "job_canvases",
    "job_queues",
    "job_type_list",
    "max_items",
    "on_failure",
    "outstanding_task_ids",
    "retry_canvases",
    "type_chunk_size",
    "type_work_queue",
]
