"""What Celery's own per-task work costs, one setting at a time: the plain baseline's chunked work on a worker set
that differs from it by one setting, against the plain baseline itself, alternating, in the same run.

Each variant is its own `bulk` pool of 2 prefork processes on a DB of its own of the same Redis; the reference is the
plain baseline's pool. The cost of a setting is the difference, per task, in the CPU time the side's processes spent
(its workers, Redis and the publishing bench process: the kernel's accounting, which other load on the shared cores
disturbs far less than it does wall time), and in Redis commands; the ratio of the jobs' times is given too.
`task_acks_late=False` is there to show what late acks (which Celerity needs) cost, not as a setting to take.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from loadtests.baseline import app as baseline
from loadtests.benchmarks import workers
from loadtests.benchmarks.baselines import PlainBaseline
from loadtests.benchmarks.sides import Measurement
from loadtests.scenarios import JobSpec

FIRST_DB = 6
VARIANTS: dict[str, dict[str, Any]] = {
    "task events (`-E`, `worker_send_task_events`)": {"worker_send_task_events": True},
    "task-sent event (`task_send_sent_event`)": {"task_send_sent_event": True},
    "STARTED state (`task_track_started`)": {"task_track_started": True},
    "prefetch 1 (`worker_prefetch_multiplier=1`)": {"worker_prefetch_multiplier": 1},
    "early acks (`task_acks_late=False`)": {"task_acks_late": False},
    "all of Celerity's worker settings (profile `celerity`)": dict(baseline.CELERITY_SETTINGS),
}


SHARED_ROLES = ("redis", "bench")  # the broker, and the process that publishes and collects the results


def side_cpu(m: Measurement, prefix: str) -> float:
    """CPU seconds of one bare side's run: its own workers (roles `<prefix>-<pool>`, parents and children), Redis
    and the bench process."""
    return sum(v for role, v in m.cpu.items() if role.startswith(f"{prefix}-") or role in SHARED_ROLES)


def _commands(m: Measurement) -> int:
    return sum(m.redis_commands.values())


def cost(
    reference: list[Measurement], variant: list[Measurement], tasks: int, prefixes: tuple[str, str]
) -> dict[str, float | None]:
    """Medians over the repeats: the time ratio (variant / reference), and per task the CPU microseconds and Redis
    commands the variant spent beyond the reference. `prefixes` name the two sides' worker roles."""
    pairs = [(r, v) for r, v in zip(reference, variant, strict=False) if r.correct and v.correct and r.seconds]
    if not pairs:
        return {"time_ratio": None, "cpu_us_per_task": None, "commands_per_task": None, "reference_cpu_us": None}
    ref, var = prefixes
    return {
        "time_ratio": statistics.median(v.seconds / r.seconds for r, v in pairs),
        "cpu_us_per_task": statistics.median((side_cpu(v, var) - side_cpu(r, ref)) / tasks * 1e6 for r, v in pairs),
        "commands_per_task": statistics.median((_commands(v) - _commands(r)) / tasks for r, v in pairs),
        "reference_cpu_us": statistics.median(side_cpu(r, ref) / tasks * 1e6 for r, _ in pairs),
    }


def measure(
    reference: PlainBaseline,
    spec: JobSpec,
    repeats: int,
    *,
    redis_url: str,
    start: Callable[..., list[str]],
    run: Callable[[PlainBaseline, JobSpec], Measurement],
    say: Callable[[str], None],
) -> dict[str, Any]:
    """Start every variant's pool (`start`: workers.start bound to a process group), then run each against the
    reference, alternating; `run` is the bench's guarded, accounted run."""
    sides = {}
    for offset, (label, overrides) in enumerate(VARIANTS.items()):
        url = workers.db_url(redis_url, FIRST_DB + offset)
        start(name=f"knob{offset}", broker_url=url, profile="plain", overrides=overrides, pools=("bulk",))
        sides[label] = PlainBaseline(url, overrides, name=f"knob{offset}")
    for side in sides.values():
        side.recover()
        side.ping(queues=("bulk",))
    tasks = len(range(0, spec.items, spec.chunk_size or 100))
    out: dict[str, Any] = {"spec": {"items": spec.items, "chunk_size": spec.chunk_size}, "tasks": tasks, "variants": {}}
    for label, side in sides.items():
        refs: list[Measurement] = []
        variants: list[Measurement] = []
        for repeat in range(repeats):
            pair = [reference, side] if repeat % 2 == 0 else [side, reference]
            for s in pair:
                (refs if s is reference else variants).append(run(s, spec))
        figures = cost(refs, variants, tasks, (reference.name, side.name))
        say(f"  {label}: {figures}")
        out["variants"][label] = {
            **figures,
            "seconds": {"reference": [m.seconds for m in refs], "variant": [m.seconds for m in variants]},
            "correct": all(m.correct for m in refs + variants),
        }
    return out
