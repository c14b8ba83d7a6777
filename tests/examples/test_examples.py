"""The examples app (examples/celerity_examples), installed as a team installs its own (CELERITY_EXTRA_APPS), runs
its two job types on real workers; its image is the services image plus the app."""

from __future__ import annotations

import hashlib
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from celerity_examples.jobtypes import count_words, word_totals
from django.test import Client

from celerity.jobs.registry import job_type_get

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO_ROOT / "examples" / "Dockerfile"
TEXTS = ["The cat sat on the mat.", "The dog didn't sit; the dog ran!", "Cats and dogs: 2 of each."]


def test_the_app_registers_both_job_types() -> None:
    checksum, wordcount = job_type_get("checksum"), job_type_get("wordcount")
    assert (checksum.canvas, checksum.queue, checksum.reduce) == ("chunked", "bulk", None)
    assert (wordcount.canvas, wordcount.reduce) == ("chord", word_totals)


def test_words_are_counted_case_blind_without_digits_or_punctuation() -> None:
    assert count_words({"text": "The dog didn't sit; the dog ran! 2 dogs"}) == {
        "the": 2,
        "dog": 2,
        "didn't": 1,
        "sit": 1,
        "ran": 1,
        "dogs": 1,
    }
    assert word_totals(iter([{"a": 2, "b": 1}, {"a": 1, "c": 4}])) == {
        "words": 8,
        "distinct": 3,
        "top": [("c", 4), ("a", 3), ("b", 1)],
    }


@pytest.mark.workers
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("drained")
def test_checksum_and_wordcount_run_on_real_workers(
    celery_workers: dict[str, int], api_client: Client, wait_for_job: Callable[..., dict[str, Any]]
) -> None:
    def submit(payload: dict[str, Any]) -> str:
        accepted = api_client.post("/api/jobs", payload, content_type="application/json")
        assert accepted.status_code == 202, accepted.content
        return str(accepted.json()["id"])

    texts = [{"name": f"t{i}", "text": text} for i, text in enumerate(TEXTS)]
    sums = submit({"type": "checksum", "items": texts})
    words = submit({"type": "wordcount", "items": texts})

    checksums = wait_for_job(sums)
    assert checksums["status"] == "succeeded", checksums
    page = api_client.get(f"/api/jobs/{sums}/items").json()
    assert [item["output"] for item in page["items"]] == [
        {"name": f"t{i}", "sha256": hashlib.sha256(text.encode()).hexdigest(), "bytes": len(text.encode())}
        for i, text in enumerate(TEXTS)
    ]
    counted = wait_for_job(words)
    assert counted["status"] == "succeeded", counted
    assert counted["result"]["failed"] == 0
    assert counted["result"]["reduce"]["words"] == 6 + 7 + 5
    assert counted["result"]["reduce"]["top"][:2] == [["the", 4], ["dog", 2]]


def test_the_image_is_the_services_image_plus_the_app() -> None:
    hadolint = REPO_ROOT / ".venv" / "bin" / "hadolint"
    result = subprocess.run([str(hadolint), str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    text = re.sub(r"\s*\\\n\s*", " ", DOCKERFILE.read_text())
    instructions = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    app_version = re.search(r'^appVersion: "(.+)"$', (REPO_ROOT / "charts/celerity/Chart.yaml").read_text(), re.M)
    assert app_version is not None
    assert instructions[0] == f"ARG SERVICES_IMAGE=celerity/services:{app_version[1]}", "the chart's default tag"
    assert [line for line in instructions if line.startswith("FROM")] == ["FROM ${SERVICES_IMAGE}"]
    assert "COPY examples/celerity_examples/ /app/examples/celerity_examples/" in instructions
    assert "ENV PYTHONPATH=/app/examples CELERITY_EXTRA_APPS=celerity_examples" in instructions
    assert not any(line.startswith(("USER", "RUN")) for line in instructions), "the base's user and code stay"
