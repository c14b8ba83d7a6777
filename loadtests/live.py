"""The live display: jobs and items done, throughput, backlog and workers, and the last jobs with their verdict."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table

from loadtests.checking import check
from loadtests.results import Sample
from loadtests.tracking import Tracker

WINDOW = 5.0  # seconds of samples behind the throughput figure


def throughput(samples: list[Sample], window: float = WINDOW) -> float:
    """Items per second over the last `window` seconds of samples."""
    if len(samples) < 2:
        return 0.0
    last = samples[-1]
    first = next((s for s in samples if s.t >= last.t - window), samples[0])
    return (last.items_done - first.items_done) / (last.t - first.t) if last.t > first.t else 0.0


def render(name: str, profile: str, tracker: Tracker, planned: int, samples: list[Sample]) -> RenderableType:
    jobs = list(tracker.jobs.values())
    finished = [job for job in jobs if job.finished]
    items_total = sum(job.spec.items for job in jobs)
    last = samples[-1] if samples else None
    backlog = ", ".join(f"{q} {n:.0f}" for q, n in sorted(last.backlog.items())) if last else ""
    workers = ", ".join(f"{p} {n:.0f}" for p, n in sorted(last.workers.items())) if last else ""
    head = Table.grid(padding=(0, 2))
    head.add_row(
        f"[b]{name}[/b] ({profile})",
        f"{tracker.now():.0f}s",
        f"jobs {len(finished)}/{max(planned, len(jobs)) or '?'}",
        f"items {sum(job.done for job in jobs):,}/{items_total:,}",
        f"{throughput(samples):,.0f} items/s",
        f"backlog {backlog or 'n/a'} (unacked {last.unacked:.0f})" if last else "backlog n/a",
        f"workers {workers or 'n/a'}",
        f"[red]errors {len(tracker.errors)}[/red]" if tracker.errors else "errors 0",
    )
    table = Table(show_edge=False, pad_edge=False)
    for column in ("job", "status", "done", "latency s", "correct"):
        table.add_column(column)
    shown = [job for job in jobs if not job.finished][:4] + finished[-6:]
    for job in shown:
        latency = f"{job.seen_finished_at - job.submitted_at:.2f}" if job.seen_finished_at is not None else ""
        verdict = ""
        if job.finished:
            result = check(job.spec, job.body)
            verdict = "yes" if result.ok else f"[red]NO: {result.reason}[/red]"
        table.add_row(job.spec.label, str(job.body.get("status")), f"{job.done:,}/{job.spec.items:,}", latency, verdict)
    return Group(head, table)
