"""Job types the test suite defines, installed as a Django app in the test process and in the workers
(`CELERITY_EXTRA_APPS`, tests/conftest.py), the way a team adds its own: one word-count type per canvas, with a
reduce and a schema, and one whose items sleep past their time limit, on a queue of its own choosing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from django.apps import AppConfig

TEXT_SCHEMA = {
    "type": "object",
    "properties": {"text": {"type": "string"}, "fail": {"type": "boolean"}},
    "required": ["text"],
    "additionalProperties": False,
}


def words(item: dict[str, Any]) -> int:
    """How many words; an item that asks to fail raises, as a bug in user code would."""
    if item.get("fail"):
        raise ValueError(f"asked to fail: {item['text']!r}")
    return len(item["text"].split())


def total(outputs: Iterator[int]) -> int:
    return sum(outputs)


def nap(item: dict[str, Any]) -> float:
    time.sleep(item["seconds"])
    return float(item["seconds"])


def words_type(canvas: str) -> str:
    return f"test-words-{canvas}"


class TestTypesConfig(AppConfig):
    name = "tests.services.jobs.testtypes"
    label = "testtypes"

    def ready(self) -> None:
        # Imported here: an app's module is imported before the models are ready.
        from celerity.jobs.models import Workload
        from celerity.jobs.registry import job_type

        for canvas in Workload:
            job_type(words_type(canvas), canvas=canvas, chunk_size=3, reduce=total, schema=TEXT_SCHEMA)(words)
        job_type("test-nap", queue="default", time_limit=0.5, chunk_size=2)(nap)  # its own queue, not the canvas'
