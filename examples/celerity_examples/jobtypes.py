"""Two job types of the kind a team brings: a checksum of uploaded texts, and a word count as a map-reduce.

- `checksum` (chunked, on `bulk`): one SHA-256 per text; no reduce, every item's output is its own answer.
- `wordcount` (a chord with a reduce): each text's word counts (map), merged into the job's totals (reduce). The
  reduce runs over the texts that succeeded even when some failed, and the job says how many did.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

from celerity.jobs.registry import job_type

TEXT = {
    "type": "object",
    "properties": {"name": {"type": "string", "maxLength": 200}, "text": {"type": "string"}},
    "required": ["text"],
    "additionalProperties": False,
}
WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")  # letters, with inner apostrophes ("don't"); no digits
TOP = 10


@job_type("checksum", queue="bulk", chunk_size=100, time_limit=10, schema=TEXT)
def checksum(item: dict[str, str]) -> dict[str, Any]:
    data = item["text"].encode()
    return {"name": item.get("name", ""), "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def word_totals(outputs: Iterator[dict[str, int]]) -> dict[str, Any]:
    """Merge the texts' counts: total words, distinct words, and the most frequent ones."""
    counts: Counter[str] = Counter()
    for counted in outputs:
        counts.update(counted)
    return {"words": sum(counts.values()), "distinct": len(counts), "top": counts.most_common(TOP)}


@job_type("wordcount", canvas="chord", chunk_size=100, reduce=word_totals, time_limit=10, schema=TEXT)
def count_words(item: dict[str, str]) -> dict[str, int]:
    return dict(Counter(word.lower() for word in WORD.findall(item["text"])))
