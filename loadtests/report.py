"""The summary table, results.json and a self-contained report.html (plots embedded as base64 PNG)."""

from __future__ import annotations

import html
import json
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from loadtests import figures, plots
from loadtests.results import ScenarioResult


def _ms(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:,.2f} s"


def _triple(values: dict[str, float | None]) -> str:
    return " / ".join(_ms(values.get(k)) for k in ("p50", "p95", "p99"))


def _count(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def rows(figs: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("jobs / items", f"{figs['jobs']:,} / {figs['items']:,} in {figs['wall_seconds']:.1f} s"),
        ("items/s", f"{figs['items_per_second']:,.0f}"),
        ("tasks/s", _count(figs["tasks_per_second"])),
        ("job latency p50 / p95 / p99", _triple(figs["job_latency"])),
        ("API submit p50 / p95 / p99", _triple(figs["submit_latency"])),
        ("task queue wait p50 / p95 / p99", _triple(figs["queue_wait"])),
        ("task run time p50 / p95 / p99", _triple(figs["run_time"])),
        ("lock wait p99", _ms(figs["lock_wait_p99"])),
        ("deadlock retries", _count(figs["deadlock_retries"])),
        ("peak backlog / peak workers", f"{figs['peak_backlog']:,.0f} / {figs['peak_workers']:,.0f}"),
        ("errors", f"{figs['errors']:,}"),
    ]


def correctness_line(figs: dict[str, Any]) -> str:
    verdict = "PASS" if figs["correct"] else "FAIL"
    audit = "database audit of every item" if figs["audited"] else "no database audit (remote target)"
    return (
        f"correctness: {verdict}: {figs['jobs_correct']}/{figs['checked_jobs']} job sums and counts correct, "
        f"items lost = {figs['items_lost']}, items duplicated = {figs['items_duplicated']} ({audit})"
    )


def print_summary(result: ScenarioResult, console: Console | None = None) -> dict[str, Any]:
    figs = figures.summary(result)
    table = Table(title=f"{result.scenario} ({result.profile}): summary")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name, value in rows(figs):
        table.add_row(name, value)
    console = console or Console()
    console.print(table)
    for message in figs["error_messages"][:5]:
        console.print(f"[red]error:[/red] {message}")
    style = "bold green" if figs["correct"] else "bold red"
    console.print(f"[{style}]{correctness_line(figs)}[/{style}]")
    return figs


def write(results: list[ScenarioResult], directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    document = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "correct": all(r.correct for r in results),
        "scenarios": [{"summary": figures.summary(r), **r.to_json()} for r in results],
    }
    results_json = directory / "results.json"
    results_json.write_text(json.dumps(document, indent=2, default=str) + "\n")
    report = directory / "report.html"
    report.write_text(_html(results))
    return results_json, report


def _section(result: ScenarioResult) -> str:
    figs = figures.summary(result)
    verdict = "PASS" if figs["correct"] else "FAIL"
    table = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in rows(figs))
    jobs = "".join(
        f"<tr><td>{html.escape(job.label)}</td><td>{html.escape(job.status)}</td>"
        f"<td>{job.submit_seconds * 1000:.0f}</td>"
        f"<td>{job.latency_seconds:.2f}</td><td>{job.items_per_second:,.0f}</td>"
        f"<td>{'yes' if job.verdict['ok'] else html.escape(str(job.verdict['reason']))}</td></tr>"
        for job in result.jobs
    )
    images = "".join(
        f"<figure><img alt='{html.escape(title)}' src='data:image/png;base64,{data}'>"
        f"<figcaption>{html.escape(title)}</figcaption></figure>"
        for title, data in plots.scenario_plots(result)
    )
    errors = "".join(f"<li>{html.escape(message)}</li>" for message in figs["error_messages"])
    return f"""<section><h2>{html.escape(result.scenario)} ({html.escape(result.profile)})</h2>
<p class="{verdict.lower()}"><b>{html.escape(correctness_line(figs))}</b></p>
<table>{table}</table>{f"<h3>Errors</h3><ul>{errors}</ul>" if errors else ""}
{images}
<details><summary>every job ({len(result.jobs)})</summary><table>
<tr><th>job</th><th>status</th><th>submit ms</th><th>latency s</th><th>items/s</th><th>correct</th></tr>{jobs}
</table></details></section>"""


def _html(results: list[ScenarioResult]) -> str:
    target = html.escape(results[0].target) if results else ""
    sections = "".join(_section(result) for result in results)
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Celerity load test</title>
<style>body{{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;color:#222}}
td,th{{padding:3px 10px;border-bottom:1px solid #ddd;text-align:left}} img{{max-width:100%}}
.pass{{color:#0a6b2d}} .fail{{color:#b00020}} figure{{margin:1em 0}} figcaption{{color:#666;font-size:90%}}</style>
</head><body><h1>Celerity load test</h1>
<p>Target {target}, {time.strftime("%Y-%m-%d %H:%M:%S")}. Job latency is created → finished on the server's clock;
queue wait (publish → start) and run time come from the platform's own histograms, scraped before and after each
scenario. Every job's sum is checked.</p>{sections}</body></html>
"""
