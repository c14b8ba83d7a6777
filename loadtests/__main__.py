"""`python -m loadtests run`: what `make loadtest` calls.

Exit status: 0 when every job was correct and nothing failed; 3 when a correctness check failed (a wrong sum or
count, an item lost or counted twice, a job that did not succeed in time); 4 when every job was correct but
requests failed along the way; 1 when the target could not be used; 128 + its number when a signal stopped the run
(SIGTERM: 143), after the stack it started, if any, has stopped.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from rich.console import Console

from devstack import stopping
from loadtests import figures, report, runner
from loadtests.results import ScenarioResult
from loadtests.scenarios import PROFILES, SCENARIOS
from loadtests.target import connect

RESULTS = Path(__file__).resolve().parent / "results"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run scenarios; write results.json and report.html")
    run.add_argument("--scenario", choices=[*SCENARIOS, "all"], default=os.environ.get("SCENARIO") or "all")
    run.add_argument("--profile", choices=PROFILES, default=os.environ.get("PROFILE") or "short")
    run.add_argument("--target", default=os.environ.get("TARGET"), help="http://host:port of any deployment")
    run.add_argument("--token", default=os.environ.get("TOKEN"), help="that deployment's CELERITY_API_TOKEN")
    metrics = [url for url in os.environ.get("METRICS", "").split(",") if url]
    run.add_argument(
        "--metrics",
        action="append",
        default=metrics,
        metavar="URL",
        help="a worker /metrics URL of the target (repeatable; env METRICS=url,url)",
    )
    run.add_argument("--out", type=Path, default=None, help="results directory (default loadtests/results/<time>)")
    return parser


def main(argv: list[str] | None = None, console: Console | None = None) -> int:
    args = _parser().parse_args(argv)
    console = console or Console()
    names = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    out: Path = args.out or RESULTS / time.strftime("%Y%m%d-%H%M%S")
    results: list[ScenarioResult] = []
    with connect(args.target, args.token, metrics_urls=args.metrics, say=console.print) as target:
        client = target.client()
        if not client.ready():
            console.print(f"[red]error:[/red] {target.api_url}/readyz does not answer 200; is the platform up?")
            return 1
        for name in names:
            scenario = SCENARIOS[name][args.profile]
            result = runner.run(
                client, scenario, target, name=name, profile=args.profile, console=console, workdir=out / name
            )
            report.print_summary(result, console)
            results.append(result)
    results_json, html_report = report.write(results, out)
    console.print(f">> wrote {results_json} and {html_report}")
    summaries = [figures.summary(result) for result in results]
    if not all(s["correct"] for s in summaries):
        return 3
    return 4 if any(s["errors"] for s in summaries) else 0


if __name__ == "__main__":
    sys.exit(stopping.exit_status(main))
