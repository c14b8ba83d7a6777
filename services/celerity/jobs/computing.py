"""What one item does: square its index, after the simulated work, unless the fault injection says it fails.

Failures are a pure function of (job, item), so a retried or redelivered item fails or succeeds the same way again.
"""

from __future__ import annotations

import hashlib
import time


def item_fails(job_id: str, index: int, fail_rate: float) -> bool:
    if fail_rate <= 0:
        return False
    digest = hashlib.blake2b(f"{job_id}:{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < fail_rate


def item_outcome(index: int, job_id: str, cost_ms: int, fail_rate: float) -> int | None:
    """i*i, or None for an injected failure."""
    if cost_ms:
        time.sleep(cost_ms / 1000)
    return None if item_fails(job_id, index, fail_rate) else index * index
