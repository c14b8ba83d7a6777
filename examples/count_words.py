"""Count the words of text files with the examples' `wordcount` job type, through the Python client.

    PYTHONPATH=$PWD/examples CELERITY_EXTRA_APPS=celerity_examples make run     # in one terminal
    .venv/bin/python examples/count_words.py README.md docs/*.md                # in another

Each file is one item (`{"name": ..., "text": ...}`), streamed to the API as NDJSON, so any number of files works in
flat memory. The API is found as the `celerity` command finds it (CELERITY_URL and CELERITY_TOKEN, a profile, or the
running `make run`). It prints the most frequent words; a file the job type could not count is named with its error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from celerity_client import Celerity, CelerityError
from celerity_client.config import resolve


def texts(paths: list[Path]) -> Iterator[dict[str, str]]:
    for path in paths:
        yield {"name": str(path), "text": path.read_text(errors="replace")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args(argv)
    try:
        connection = resolve()
        with Celerity(connection.url, connection.token) as celerity:
            submitted = celerity.submit("wordcount", texts(args.files))
            job = celerity.wait(submitted.id, timeout=args.timeout)
            for item in celerity.items(job.id, state="failed"):
                print(f"{item.input['name']}: {item.error}", file=sys.stderr)
    except CelerityError as exc:
        print(f"count_words: {exc}", file=sys.stderr)
        return 2
    reduced: dict[str, Any] = job.result["reduce"] if job.result else {"words": 0, "distinct": 0, "top": []}
    print(f"{reduced['words']} words, {reduced['distinct']} distinct, in {job.progress.done} files (job {job.id})")
    for word, count in reduced["top"]:
        print(f"{count:>8}  {word}")
    return 0 if job.succeeded else 1


if __name__ == "__main__":
    sys.exit(main())
