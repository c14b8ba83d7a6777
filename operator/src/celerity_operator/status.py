"""The WorkerPool's status: conditions in the Kubernetes convention (a transition time that changes only when the
condition's status does), so `kubectl wait --for=condition=...` and alerting on transitions behave."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

CONDITION_TYPES = ("Ready", "ProbeFailed", "AtMaxReplicas")


@dataclass(frozen=True)
class Condition:
    type: str
    ok: bool
    reason: str
    message: str = ""


def timestamp(when: float) -> str:
    """RFC 3339 with milliseconds: scale decisions can come faster than once a second."""
    moment = datetime.datetime.fromtimestamp(when, datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def conditions(
    new: Iterable[Condition], previous: Iterable[Mapping[str, Any]], *, now: float, generation: int | None
) -> list[dict[str, Any]]:
    """The conditions to write: each keeps its previous lastTransitionTime unless its status flipped."""
    before = {str(c.get("type")): c for c in previous if isinstance(c, Mapping)}
    result = []
    for condition in new:
        status = "True" if condition.ok else "False"
        old = before.get(condition.type) or {}
        since = old.get("lastTransitionTime") if old.get("status") == status else None
        entry: dict[str, Any] = {
            "type": condition.type,
            "status": status,
            "reason": condition.reason,
            "message": condition.message,
            "lastTransitionTime": since or timestamp(now),
        }
        if generation is not None:
            entry["observedGeneration"] = generation
        result.append(entry)
    return result
