"""`python -m devstack run`: the platform in the foreground until Ctrl-C or SIGTERM (what `make run` calls).

Any number of SIGINT, SIGTERM and SIGHUP, in any order, stop it the same way: workers and web first, then the
servers (devstack.stopping).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from devstack import servers, stack, stopping


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the platform locally until Ctrl-C")
    run.add_argument("--port", type=int, default=None, help="web port (default: $PORT or 8000)")
    run.add_argument("--rundir", type=Path, default=None, help="state directory (default: $CELERITY_RUN_DIR or .run)")
    run.add_argument(
        "--metrics-port",
        type=int,
        default=int(os.environ.get("METRICS_PORT") or stack.FIRST_WORKER_METRICS_PORT),
        help="first worker /metrics port; pool n gets this + n (default: $METRICS_PORT or 9808)",
    )
    run.add_argument("--quiet", action="store_true", help="write process logs to .run/logs instead of the terminal")
    args = parser.parse_args(argv)

    try:
        rundir = args.rundir or stack.RUN_DIR
        with (
            stopping.stop_on_signals(),
            stack.local_stack(rundir, port=args.port, echo_logs=not args.quiet, metrics_port=args.metrics_port) as info,
        ):
            _banner(info)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        print("\n>> stopped")
        return 0
    except (stack.StackError, servers.ServerError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _banner(info: stack.StackInfo) -> None:
    rows = [
        ("API", f"{info.api_url}/api/jobs"),
        ("API docs", f"{info.api_url}/api/docs"),
        ("health", f"{info.api_url}/healthz  {info.api_url}/readyz"),
        ("metrics", "  ".join([info.web_metrics, *info.worker_metrics.values()])),
        ("API token", f"{info.token}  (also in .run/api-token)"),
        (
            "autoscale",
            f"pool {info.autoscaled}: up to 3 extra workers on backlog (the operator's probe and policy)"
            if info.autoscaled
            else "off",
        ),
        ("Redis", info.redis_url),
        ("Postgres", info.database_url),
    ]
    print("\nCelerity is running. Ctrl-C stops everything.\n")
    for name, value in rows:
        print(f"  {name:<10} {value}")
    print(
        "\n  try:  .venv/bin/celerity submit chunked --count 1000 --chunk-size 100 --wait    (it finds this stack)\n"
        "  also: cd services && ../.venv/bin/python manage.py shell   |   ../.venv/bin/celery -A config.celery_app "
        "inspect ping\n",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
