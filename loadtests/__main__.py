"""`python -m loadtests run`: what `make loadtest` calls."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from loadtests import report, runner
from loadtests.client import ApiError, JobsClient
from loadtests.scenarios import PROFILES, SCENARIOS

RESULTS = Path(__file__).resolve().parent / "results"


@contextlib.contextmanager
def _target(url: str | None, token: str | None) -> Iterator[tuple[str, str, list[str]]]:
    """The given deployment; else the running `make run` stack; else a local stack started for this run."""
    if url:
        if not token:
            raise SystemExit("error: TARGET needs TOKEN (the deployment's CELERITY_API_TOKEN)")
        yield url, token, [f"{url.rstrip('/')}/metrics"]
        return
    from devstack import stack
    from devstack.servers import free_port

    running = stack.read_running()
    if running:
        yield running.api_url, running.token, list(running.worker_metrics.values())
        return
    print(">> no local stack is running: starting one for this load test (stopped afterwards)")
    rundir = stack.RUN_DIR / "loadtest"
    with stack.local_stack(
        rundir, port=free_port(), metrics_port=free_port(), echo_logs=False, persistent=False
    ) as info:
        yield info.api_url, info.token, list(info.worker_metrics.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a scenario and write results.json + report.html")
    run.add_argument("--scenario", choices=[*SCENARIOS, "all"], default="all")
    run.add_argument("--profile", choices=PROFILES, default="short")
    run.add_argument("--target", default=os.environ.get("TARGET"), help="http://host:port of any deployment")
    run.add_argument("--token", default=os.environ.get("TOKEN"))
    run.add_argument("--out", type=Path, default=None, help="results directory (default loadtests/results/<time>)")
    args = parser.parse_args(argv)

    names = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    out = args.out or RESULTS / time.strftime("%Y%m%d-%H%M%S")
    correct = True
    try:
        with _target(args.target, args.token) as (url, token, metrics_urls):
            client = JobsClient(url, token)
            if not client.ready():
                print(f"error: {url}/readyz does not answer 200; is the platform up?", file=sys.stderr)
                return 1
            for name in names:
                result = runner.run(client, SCENARIOS[name][args.profile], scenario=name, profile=args.profile,
                                    target=url, metrics_urls=metrics_urls)  # fmt: skip
                report.print_summary(result)
                results_json, html_report = report.write(result, out / name)
                print(f">> wrote {results_json} and {html_report}")
                correct = correct and result.correct
    except ApiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0 if correct else 3


if __name__ == "__main__":
    sys.exit(main())
