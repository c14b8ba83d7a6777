"""The demo job types: one per workload, each squaring its item (item i of a `{"workload": "chunked", "items": N}`
job is the integer i), with simulated work and injected failures for the load tests.

Failures are a pure function of (job, item), so a retried or redelivered item fails or succeeds the same way again,
and the load tests know the expected result without asking anyone (`expected_result`).
"""

from __future__ import annotations

import hashlib
import time

from celerity.jobs.models import Workload
from celerity.jobs.registry import ItemContext, JobType, job_type_register


class InjectedFailure(Exception):
    pass


def item_fails(job_id: str, index: int, fail_rate: float) -> bool:
    if fail_rate <= 0:
        return False
    digest = hashlib.blake2b(f"{job_id}:{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < fail_rate


def square(item: int, context: ItemContext) -> int:
    """item², after `item_cost_ms` of simulated work, unless `fail_rate` says this item fails."""
    cost_ms = context.options.get("item_cost_ms", 0)
    if cost_ms:
        time.sleep(cost_ms / 1000)
    if item_fails(context.job_id, context.index, context.options.get("fail_rate", 0.0)):
        raise InjectedFailure(f"item {context.index} fails by design (fail_rate)")
    return item * item


def expected_result(items: int) -> dict[str, int]:
    """What a squares job of `items` items without failures reports."""
    return {"sum": sum(i * i for i in range(items)), "count": items}


def register() -> None:
    """One job type per workload, named after it: `{"workload": "chord"}` is the job type `chord`."""
    for canvas in Workload:
        job_type_register(JobType(name=canvas.value, function=square, canvas=canvas, takes_context=True))
