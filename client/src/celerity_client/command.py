"""`celerity`: submit, watch and fix jobs from a terminal or a script.

Exit status: 0 when the command did what it was asked (for `submit --wait`, `retry --wait` and `watch`: when the job
succeeded); 1 when the job ended failed or cancelled; 2 for a usage error or an input file that is not JSON; 3 when
the API refused the request or could not be reached; 4 when `--timeout` passed before the job finished; 130 on
Ctrl-C (the job keeps running). Errors are one line on stderr, never a traceback (`CELERITY_DEBUG=1` shows it).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import IO, Any, Protocol, TextIO, TypeVar

from celerity_client import config, output
from celerity_client.arguments import parser
from celerity_client.client import Celerity, Items
from celerity_client.errors import CelerityError, InvalidItem, WaitTimeout
from celerity_client.models import Job
from celerity_client.ndjson import read_items, sniff
from celerity_client.progress import Bar
from celerity_client.transport import Retrying

OK, JOB_UNSUCCESSFUL, USAGE, REFUSED, TIMED_OUT, INTERRUPTED = 0, 1, 2, 3, 4, 130


class UsageError(CelerityError):
    pass


class Raw(Protocol):
    @property
    def raw(self) -> Mapping[str, Any]: ...


T = TypeVar("T", bound=Raw)
Rows = Callable[[Iterable[T]], Iterator[list[str]]]


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out, err = stdout or sys.stdout, stderr or sys.stderr
    args = parser().parse_args(argv)
    opt: Callable[[str], Any] = lambda name: getattr(args, name, None)  # noqa: E731 - options may be absent
    bar = Bar(err, enabled=not opt("no_progress"))
    try:
        if args.command == "config":
            return _config(out, opt)
        if (job_id := opt("id")) is not None:
            _job_id(job_id)
        connection = config.resolve(url=opt("url"), token=opt("token"), profile=opt("profile"))
        with Celerity(connection.url, connection.token, on_retry=lambda r: _retrying(err, r)) as client:
            return COMMANDS[args.command](client, args, out, err, bar)
    except KeyboardInterrupt:
        bar.close()
        err.write("celerity: interrupted" + ("; the job keeps running" if args.command in FOLLOWING else "") + "\n")
        return INTERRUPTED
    except BrokenPipeError:  # `celerity items ID | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
        return OK
    except (UsageError, InvalidItem) as exc:
        bar.close()
        err.write(f"celerity: {exc}\n")
        return USAGE
    except (CelerityError, OSError) as exc:
        bar.close()
        err.write(f"celerity: {_reason(exc)}\n")
        return REFUSED
    except Exception as exc:
        if os.environ.get("CELERITY_DEBUG"):
            raise
        err.write(f"celerity: internal error: {type(exc).__name__}: {exc} (CELERITY_DEBUG=1 shows where)\n")
        return REFUSED


def _job_id(text: str) -> None:
    try:
        uuid.UUID(text)
    except ValueError:
        raise UsageError(f"{text!r} is not a job id (a UUID, as `celerity jobs` lists them)") from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and not isinstance(exc, CelerityError) and exc.filename:
        return f"{exc.filename}: {exc.strerror}"
    return " ".join(str(exc).split())


def _retrying(err: TextIO, retry: Retrying) -> None:
    err.write(f"celerity: {retry.reason}; trying again in {retry.delay:.1f} s ({retry.attempt}/{retry.attempts})\n")
    err.flush()


def _json(out: TextIO, value: Any) -> None:
    out.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def _submit(client: Celerity, args: argparse.Namespace, out: TextIO, err: TextIO, bar: Bar) -> int:
    items, stream = _items(args)
    try:
        submitted = client.submit(
            args.type,
            items,
            chunk_size=args.chunk_size,
            queue=args.queue,
            idempotency_key=args.key,
            item_cost_ms=args.item_cost_ms,
            fail_rate=args.fail_rate,
        )
    finally:
        if stream is not None and stream is not sys.stdin.buffer:
            stream.close()
    if not args.wait:
        if getattr(args, "json", False):
            _json(out, dict(submitted.raw))
        else:
            out.write(submitted.id + "\n")  # ID=$(celerity submit ...)
        return OK
    err.write(f"celerity: submitted job {submitted.id}\n")
    return _follow(client, submitted.id, args, out, err, bar)


def _items(args: argparse.Namespace) -> tuple[Items, IO[bytes] | None]:
    if (args.count is None) == (args.file is None):
        raise UsageError("give a FILE of items (NDJSON or a JSON array), - for stdin, or --count N")
    if args.count is not None:
        return args.count, None
    stream: IO[bytes] = sys.stdin.buffer if args.file == "-" else open(args.file, "rb")  # noqa: SIM115 - closed by _submit
    form = sniff(stream) if args.format == "auto" else args.format
    if args.item_cost_ms is not None or args.fail_rate is not None:
        return list(read_items(stream, form)), stream  # the demo's options go with inline items only
    if form == "json":
        return read_items(stream, "json"), stream
    return stream, stream


def _follow(client: Celerity, job_id: str, args: argparse.Namespace, out: TextIO, err: TextIO, bar: Bar) -> int:
    """Until the job ends: the bar on a terminal, then the job; the exit status says whether it succeeded."""
    try:
        job = client.wait(job_id, timeout=args.timeout, on_update=bar.update if bar.enabled else None)
    except WaitTimeout as exc:
        bar.close()
        err.write(f"celerity: {exc}\n")
        _show(out, exc.job, args)
        return TIMED_OUT
    bar.close()
    _show(out, job, args)
    return OK if job.succeeded else JOB_UNSUCCESSFUL


def _show(out: TextIO, job: Job, args: argparse.Namespace) -> None:
    if getattr(args, "json", False):
        _json(out, dict(job.raw))
    else:
        output.job_detail(out, job)


def _listing(out: TextIO, args: argparse.Namespace, things: Iterable[T], header: list[str], rows: Rows[T]) -> int:
    """A list as a table for people, or with --json as a JSON array of the API's objects; written as it comes."""
    if getattr(args, "json", False):
        output.json_array(out, (dict(thing.raw) for thing in things))
    else:
        output.table(out, header, rows(things))
    return OK


def _jobs(client: Celerity, args: argparse.Namespace, out: TextIO, err: TextIO, bar: Bar) -> int:
    jobs = client.jobs(status=args.status, type=args.type, limit=None if args.all else args.limit)
    return _listing(out, args, jobs, output.JOB_HEADER, output.job_rows)


def _job(client: Celerity, args: argparse.Namespace, out: TextIO, err: TextIO, bar: Bar) -> int:
    _show(out, client.job(args.id), args)
    return OK


def _list_items(client: Celerity, args: argparse.Namespace, out: TextIO, err: TextIO, bar: Bar) -> int:
    items = itertools.islice(client.items(args.id, state=args.state), args.limit)
    if not args.ndjson:
        return _listing(out, args, items, output.ITEM_HEADER, output.item_rows)
    for item in items:
        out.write(output.compact(item.input) + "\n")
    return OK


def _retry(client: Celerity, args: argparse.Namespace, out: TextIO, err: TextIO, bar: Bar) -> int:
    job = client.retry(args.id)
    if args.wait:
        return _follow(client, job.id, args, out, err, bar)
    _show(out, job, args)
    return OK


def _cancel(client: Celerity, args: argparse.Namespace, out: TextIO, err: TextIO, bar: Bar) -> int:
    _show(out, client.cancel(args.id), args)
    return OK


def _types(client: Celerity, args: argparse.Namespace, out: TextIO, err: TextIO, bar: Bar) -> int:
    return _listing(out, args, client.types(), output.TYPE_HEADER, output.type_rows)


def _watch(client: Celerity, args: argparse.Namespace, out: TextIO, err: TextIO, bar: Bar) -> int:
    return _follow(client, args.id, args, out, err, bar)


def _config(out: TextIO, opt: Callable[[str], Any]) -> int:
    connection = config.resolve(url=opt("url"), token=opt("token"), profile=opt("profile"))
    with Celerity(connection.url, connection.token) as client:
        ready = client.ready()
        try:
            reachable = f"yes ({len(client.types())} job types)"
        except CelerityError as exc:
            reachable = f"no: {exc}"
    answer = {"url": connection.url, "source": connection.source, "ready": ready, "token_accepted": reachable}
    if opt("json"):
        _json(out, answer)
    else:
        for name, value in answer.items():
            shown = {True: "yes", False: "no"}.get(value, value) if isinstance(value, bool) else value
            out.write(f"{name.replace('_', ' ') + ':':<16}{shown}\n")
    return OK if ready else REFUSED


FOLLOWING = ("submit", "retry", "watch")
COMMANDS: dict[str, Callable[[Celerity, argparse.Namespace, TextIO, TextIO, Bar], int]] = {
    "submit": _submit,
    "jobs": _jobs,
    "job": _job,
    "items": _list_items,
    "retry": _retry,
    "cancel": _cancel,
    "types": _types,
    "watch": _watch,
}
