"""What each scenario submits, per profile. Every job squares 0..N-1, so each can be checked on its own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class JobSpec:
    workload: str
    items: int
    chunk_size: int | None = None

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"workload": self.workload, "items": self.items}
        if self.chunk_size:
            body["chunk_size"] = self.chunk_size
        return body

    @property
    def label(self) -> str:
        return f"{self.workload} n={self.items}" + (f" chunk={self.chunk_size}" if self.chunk_size else "")


# chunked sweeps the chunk size; chord sweeps the header width.
SCENARIOS: dict[str, dict[str, list[JobSpec]]] = {
    "chunked": {
        "tiny": [JobSpec("chunked", 200, 20), JobSpec("chunked", 200, 100)],
        "short": [JobSpec("chunked", 20_000, size) for size in (50, 200, 1000)],
        "full": [JobSpec("chunked", 200_000, size) for size in (50, 200, 1000, 5000)],
    },
    "chord": {
        "tiny": [JobSpec("chord", 50), JobSpec("chord", 100)],
        "short": [JobSpec("chord", width) for width in (10, 100, 1000, 5000)],
        "full": [JobSpec("chord", width) for width in (10, 100, 1000, 10_000, 50_000)],
    },
}
PROFILES = ("tiny", "short", "full")


def expected_sum(items: int) -> int:
    return (items - 1) * items * (2 * items - 1) // 6
