"""The `celerity` command's arguments: every subcommand and its options, in one place (`celerity --help`)."""

from __future__ import annotations

import argparse

from celerity_client.models import ITEM_STATES, STATUSES
from celerity_client.version import __version__


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument("--url", help="the API's root, e.g. http://127.0.0.1:8000 (env CELERITY_URL)")
    common.add_argument("--token", help="the API token (env CELERITY_TOKEN)")
    common.add_argument("--profile", help="a profile of the profile file (env CELERITY_PROFILE)")
    common.add_argument("--json", action="store_true", help="print the API's JSON, for scripts")
    common.add_argument("--no-progress", action="store_true", help="no progress bar (a pipe never gets one)")
    parser = argparse.ArgumentParser(
        prog="celerity",
        description="Submit, watch and fix Celerity jobs. Finds the API from --url/--token, CELERITY_URL/"
        "CELERITY_TOKEN, --profile, a running `make run` (from this directory or any above), or the default "
        "profile of ~/.config/celerity/config.toml.",
        parents=[common],
        epilog="exit status: 0 done (with --wait or watch: the job succeeded), 1 the job failed or was cancelled, "
        "2 usage or input not JSON, 3 the API refused or could not be reached, 4 --timeout passed, 130 Ctrl-C",
    )
    parser.add_argument("--version", action="version", version=f"celerity {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=text, description=text, parents=[common])

    submit = command("submit", "submit a job: its items from FILE (NDJSON or a JSON array), - for stdin, or --count")
    submit.add_argument("type", help="the job type (celerity types lists them)")
    submit.add_argument("file", nargs="?", help="NDJSON (one item per line) or a JSON array; - reads stdin")
    submit.add_argument("--count", type=int, help="instead of a file: the items 0..N-1")
    submit.add_argument("--format", choices=["auto", "ndjson", "json"], default="auto", help="default: by content")
    submit.add_argument("--chunk-size", type=int)
    submit.add_argument("--queue")
    submit.add_argument("--key", help="idempotency key: submitting again with it gives the same job")
    submit.add_argument("--item-cost-ms", type=int, help="the demo's simulated work per item (inline items)")
    submit.add_argument("--fail-rate", type=float, help="the demo's share of items that fail (inline items)")
    _waiting(submit)
    jobs = command("jobs", "list jobs, newest first")
    jobs.add_argument("--status", choices=STATUSES)
    jobs.add_argument("--type")
    jobs.add_argument("--limit", type=int, default=20, help="at most this many (default 20)")
    jobs.add_argument("--all", action="store_true", help="every job")
    command("job", "a job's progress and result").add_argument("id")
    items = command("items", "a job's items, in index order")
    items.add_argument("id")
    items.add_argument("--state", choices=ITEM_STATES)
    items.add_argument("--ndjson", action="store_true", help="only the inputs, one per line: ready to resubmit")
    items.add_argument("--limit", type=int, help="at most this many")
    retry = command("retry", "run a failed job's failed items again")
    retry.add_argument("id")
    _waiting(retry)
    command("cancel", "cancel a pending or running job").add_argument("id")
    command("types", "the job types the server runs")
    watch = command("watch", "follow a job until it ends")
    watch.add_argument("id")
    watch.add_argument("--timeout", type=float, help="give up after this many seconds (exit status 4)")
    command("config", "which API this command talks to, and whether it is ready")
    return parser


def _waiting(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wait", action="store_true", help="follow the job until it ends; exit 0 only if it succeeded")
    parser.add_argument("--timeout", type=float, help="with --wait: give up after this many seconds (exit status 4)")
