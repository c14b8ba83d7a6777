"""Where a run's CPU time went, by process role, and which Redis commands it cost: read before and after a run.

Every process of both sides runs on this machine, so the kernel's own accounting tells the truth about a run's cost:
`/proc/<pid>/stat` gives each process' user + system time (all its threads), and each role is a root process with all
its living descendants (a Celery worker's parent and its pool children apart; Postgres' postmaster with its
backends). Redis' `INFO commandstats` counts the commands it served, by name.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

TICKS = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of a living process, or None."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # the command name may hold spaces and parentheses
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def _processes() -> dict[int, tuple[int, float]]:
    found = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            found[int(entry.name)] = stat
    return found


def split(processes: Mapping[int, tuple[int, float]], roots: Mapping[str, int]) -> dict[str, float]:
    """CPU seconds per role: each root alone (`role`) and its descendants together (`role children`), down to but
    not into another root (the bench process is every process' ancestor)."""
    others = set(roots.values())
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in processes.items():
        children.setdefault(parent, []).append(pid)
    out: dict[str, float] = {}
    for role, root in roots.items():
        if root not in processes:
            continue
        out[role] = processes[root][1]
        below, stack = 0.0, [p for p in children.get(root, []) if p not in others]
        while stack:
            pid = stack.pop()
            below += processes[pid][1]
            stack.extend(p for p in children.get(pid, []) if p not in others)
        if below > 0 or any(p not in others for p in children.get(root, [])):
            out[f"{role} children"] = below
    return out


def spent(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    """CPU seconds spent per role between two readings (a role that vanished or appeared counts from zero)."""
    return {role: round(after[role] - before.get(role, 0.0), 4) for role in after if after[role] > before.get(role, 0)}


def commands(client: redis.Redis) -> dict[str, int]:
    stats: dict[str, Any] = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}


def commands_spent(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    return {name: after[name] - before.get(name, 0) for name in after if after[name] > before.get(name, 0)}


@dataclass
class Accounting:
    """Readings around a run: CPU seconds per role of `roots`, and Redis' commands."""

    roots: dict[str, int]
    broker: redis.Redis

    def read(self) -> tuple[dict[str, float], dict[str, int]]:
        return split(_processes(), self.roots), commands(self.broker)

    def since(self, reading: tuple[dict[str, float], dict[str, int]]) -> tuple[dict[str, float], dict[str, int]]:
        cpu, served = self.read()
        return spent(reading[0], cpu), commands_spent(reading[1], served)
