"""Every `celerity` command against the real stack, run as the installed console script: what it prints for people
and for scripts (`--json`), its exit status, its one-line errors, and the round trip of a failed item's input out of
one job and into the next."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import asdict
from pathlib import Path

import pytest

from celerity_client import Celerity
from devstack.stack import StackInfo
from tests.client.conftest import Cli, Run, quiet_env
from tests.services.conftest import Gunicorn
from tests.services.jobs.testtypes import words_type

pytestmark = [pytest.mark.workers, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("drained")]

WORDS = words_type("chunked")
TEXTS = [{"text": "one"}, {"text": "two words"}, {"text": "no", "fail": True}, {"text": "three more words"}]


def squares(indices: list[int]) -> int:
    return sum(i * i for i in indices)


def ndjson(path: Path, items: list[object]) -> Path:
    path.write_text("".join(json.dumps(item) + "\n" for item in items))
    return path


def one_line(stderr: str) -> str:
    """The command's error: exactly one line, starting `celerity: `, and no traceback."""
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("celerity: ")
    assert "Traceback" not in stderr
    return lines[0]


def test_submit_prints_the_id_and_with_wait_the_job_exiting_0_only_on_success(
    run: Run, celerity: Celerity, celery_workers: object, tmp_path: Path
) -> None:
    plain = run("submit", WORDS, str(ndjson(tmp_path / "ok.ndjson", TEXTS[:2])))
    assert plain.returncode == 0, plain.stderr
    job_id = plain.stdout.strip()
    assert plain.stdout == f"{uuid.UUID(job_id)}\n"  # only the id: ID=$(celerity submit ...)
    waited = run("submit", WORDS, str(ndjson(tmp_path / "mixed.ndjson", TEXTS)), "--wait")
    assert waited.returncode == 1, waited.stderr  # an item failed: the job failed
    assert "status:     failed" in waited.stdout
    assert "error:      1 of 4 items failed" in waited.stdout
    assert '"reduce":6' in waited.stdout
    succeeded = run("submit", WORDS, "-", "--wait", "--json", stdin=json.dumps(TEXTS[:2]))  # a JSON array on stdin
    assert succeeded.returncode == 0, succeeded.stderr
    body = json.loads(succeeded.stdout)
    assert (body["status"], body["result"]) == ("succeeded", {"reduce": 3, "count": 2, "failed": 0})
    assert celerity.wait(job_id, timeout=60).status == "succeeded"


def test_submit_takes_ndjson_on_stdin_a_json_array_file_or_a_count(
    run: Run, celerity: Celerity, celery_workers: object, tmp_path: Path
) -> None:
    array = tmp_path / "texts.json"
    array.write_text(json.dumps(TEXTS[:2], indent=2))  # a pretty-printed array: one item spans lines
    submitted = {
        "stdin": run("submit", WORDS, "-", stdin="".join(json.dumps(t) + "\n" for t in TEXTS[:2])),
        "array": run("submit", WORDS, str(array), "--chunk-size", "1"),
        "count": run("submit", "chunked", "--count", "300", "--chunk-size", "100"),
    }
    assert {kind: done.returncode for kind, done in submitted.items()} == dict.fromkeys(submitted, 0)
    jobs = {kind: celerity.wait(done.stdout.strip(), timeout=60) for kind, done in submitted.items()}
    assert jobs["stdin"].result == jobs["array"].result == {"reduce": 3, "count": 2, "failed": 0}
    assert jobs["array"].chunk_size == 1
    assert jobs["count"].result == {"sum": squares(list(range(300))), "count": 300}


def test_a_failed_items_input_is_exported_and_resubmitted(
    run: Run, celerity: Celerity, celery_workers: object, tmp_path: Path
) -> None:
    """The demo's failures are a function of (job, item): exported and submitted as a job of their own, the same
    inputs succeed, and their squares prove that exactly the failed inputs went round."""
    first = run("submit", "chunked", "--count", "400", "--chunk-size", "50", "--fail-rate", "0.1", "--wait", "--json")
    assert first.returncode == 1, first.stderr
    job = json.loads(first.stdout)
    exported = run("items", job["id"], "--state", "failed", "--ndjson")
    assert exported.returncode == 0, exported.stderr
    inputs = [json.loads(line) for line in exported.stdout.splitlines()]
    failed = [item.index for item in celerity.items(job["id"], state="failed")]
    assert inputs == failed
    assert len(inputs) == job["progress"]["failed"] > 0
    (tmp_path / "failed.ndjson").write_text(exported.stdout)
    again = run("submit", "chunked", str(tmp_path / "failed.ndjson"), "--wait", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["result"] == {"sum": squares(inputs), "count": len(inputs)}
    # Inputs that are objects come out as they went in.
    words = celerity.wait(celerity.submit(WORDS, TEXTS).id, timeout=60)
    exported = run("items", words.id, "--state", "failed", "--ndjson")
    assert [json.loads(line) for line in exported.stdout.splitlines()] == [TEXTS[2]]


def test_jobs_job_items_types_and_config_for_people_and_for_scripts(
    cli: Cli, celerity: Celerity, celery_workers: object
) -> None:
    words = celerity.wait(celerity.submit(WORDS, TEXTS).id, timeout=60)
    squares_job = celerity.wait(celerity.submit("chunked", 10).id, timeout=60)
    table = cli("jobs", "--type", WORDS).stdout.splitlines()
    assert table[0].split() == ["ID", "TYPE", "STATUS", "DONE", "FAILED", "ITEMS", "CREATED"]
    assert [row.split()[:6] for row in table[1:]] == [[words.id, WORDS, "failed", "3", "1", "4"]]
    listed = json.loads(cli("jobs", "--json", "--limit", "1").stdout)
    assert [job["id"] for job in listed] == [squares_job.id]
    assert json.loads(cli("job", words.id, "--json").stdout) == dict(words.raw)
    detail = cli("job", words.id).stdout
    assert f"id:         {words.id}" in detail
    assert "progress:   3 done, 1 failed, of 4" in detail
    items = cli("items", words.id).stdout.splitlines()
    assert items[0].split() == ["INDEX", "STATE", "ATTEMPTS", "INPUT", "ERROR"]
    assert items[3].split()[:3] == ["2", "failed", "1"]
    assert "ValueError: asked to fail" in items[3]
    assert [item["state"] for item in json.loads(cli("items", words.id, "--json").stdout)] == [
        "done",
        "done",
        "failed",
        "done",
    ]
    types = cli("types").stdout
    assert any(line.split()[:3] == [WORDS, "chunked", "bulk"] for line in types.splitlines())
    assert {entry["name"] for entry in json.loads(cli("types", "--json").stdout)} >= {WORDS, "chunked", "chord"}
    configured = json.loads(cli("config", "--json").stdout)
    assert (configured["ready"], configured["source"]) == (True, "--url/CELERITY_URL")


def test_retry_cancel_and_watch_exit_by_the_jobs_outcome(run: Run, celerity: Celerity, celery_workers: object) -> None:
    failed = celerity.wait(celerity.submit(WORDS, TEXTS).id, timeout=60)
    retried = run("retry", failed.id, "--wait")
    assert retried.returncode == 1, retried.stderr  # the same item fails again
    assert [item.attempts for item in celerity.items(failed.id, state="failed")] == [2]
    assert run("watch", failed.id).returncode == 1
    assert run("watch", celerity.wait(celerity.submit(WORDS, TEXTS[:1]).id, timeout=60).id).returncode == 0
    slow = celerity.submit("chunked", 40, chunk_size=1, item_cost_ms=500).id
    late = run("watch", slow, "--timeout", "1")
    assert late.returncode == 4
    assert re.fullmatch(f"celerity: job {slow} still (pending|running) after 1 s", one_line(late.stderr))
    cancelled = run("cancel", slow)
    assert (cancelled.returncode, "status:     cancelled" in cancelled.stdout) == (0, True)
    again = run("cancel", slow)
    assert again.returncode == 3
    assert one_line(again.stderr) == "celerity: 409 conflict: job is already cancelled"


def test_every_error_is_one_line_with_its_own_exit_status(run: Run, cli: Cli, tmp_path: Path) -> None:
    """As the console script where the process matters (stdin, the environment, no traceback on the way out); in
    this process for the rest."""
    home = tmp_path / "home"
    cases = [
        (run("--token", "wrong", "jobs"), 3, "celerity: 401 unauthorized: missing or wrong bearer token"),
        (
            run("submit", WORDS, "-", stdin='{"text": "ok"}\n{"txt": "typo"}\n'),
            3,
            "celerity: 422 invalid_request: items.1",
        ),
        (run("submit", WORDS, "-", stdin='[{"text": "ok"}, {"text": NaN}]'), 2, "celerity: items.1: not JSON"),
        (run("jobs", env=quiet_env(home)), 3, "celerity: no Celerity API to talk to"),
        (
            run("jobs", env=quiet_env(home, CELERITY_URL="http://127.0.0.1:1", CELERITY_TOKEN="x")),
            3,
            "celerity: cannot reach",
        ),
        (cli("job", str(uuid.UUID(int=7))), 3, "celerity: 404 not_found: no job 00000000-0000-0000-0000-000000000007"),
        (cli("job", "nope"), 2, "celerity: 'nope' is not a job id"),
        (
            cli("submit", WORDS, str(tmp_path / "missing.ndjson")),
            3,
            f"celerity: {tmp_path / 'missing.ndjson'}: No such",
        ),
        (cli("submit", WORDS), 2, "celerity: give a FILE of items"),
    ]
    for done, status, start in cases:
        assert (done.returncode, done.stdout) == (status, ""), (start, done.stderr)
        lines = done.stderr.splitlines()
        assert lines[-1].startswith(start), done.stderr
        assert "Traceback" not in done.stderr
    assert all(line.startswith("celerity: ") for done, _, _ in cases for line in done.stderr.splitlines())


def test_the_local_stack_is_found_from_below_its_checkout_with_no_setup(
    run: Run, web: Gunicorn, token: str, tmp_path: Path
) -> None:
    """What `make run` leaves in .run/ while it is up is enough: no URL, no token, no profile."""
    (tmp_path / "checkout" / ".run").mkdir(parents=True)
    info = StackInfo(api_url=web.url, token=token)
    (tmp_path / "checkout" / ".run" / "stack.json").write_text(json.dumps(asdict(info)))
    deep = tmp_path / "checkout" / "services" / "celerity"
    deep.mkdir(parents=True)
    found = run("config", env=quiet_env(tmp_path / "home"), cwd=deep)
    assert found.returncode == 0, found.stderr
    assert f"source:         the local stack ({tmp_path / 'checkout' / '.run' / 'stack.json'})" in found.stdout
    assert run("jobs", env=quiet_env(tmp_path / "home"), cwd=deep).returncode == 0
