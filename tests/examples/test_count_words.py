"""examples/count_words.py, the client's example, counts real files' words on the real stack with the examples'
`wordcount` job type, finding the API as the `celerity` command does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.client.conftest import quiet_env
from tests.services.conftest import Gunicorn

pytestmark = [pytest.mark.workers, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("drained")]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "count_words.py"


def test_the_example_counts_the_words_of_the_files_it_is_given(
    web: Gunicorn, token: str, celery_workers: object, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text("The cat sat on the mat.")
    (tmp_path / "b.txt").write_text("The dog ran; the dog sat.")
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), "a.txt", "b.txt"],
        cwd=tmp_path,
        env=quiet_env(tmp_path / "home", CELERITY_URL=web.url, CELERITY_TOKEN=token),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("12 words, 7 distinct, in 2 files (job ")
    assert lines[1].split() == ["4", "the"]
    assert {tuple(line.split()) for line in lines[2:4]} == {("2", "sat"), ("2", "dog")}
