"""Items as NDJSON: encoded into a spool and read back, and a JSON array read element by element, whatever the reads'
boundaries cut through; whatever is not JSON is named by its index before anything is sent."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from celerity_client import InvalidItem, ndjson, read_items

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)


@given(st.lists(JSON, max_size=30), st.integers(1, 40), st.sampled_from(["", " ", "\n  ", "\t\r\n"]))
@settings(max_examples=60, deadline=None)
def test_a_json_array_reads_as_json_loads_does_whatever_the_read_size(items: list[Any], read: int, gap: str) -> None:
    text = "[" + gap + ("," + gap).join(json.dumps(item) for item in items) + gap + "]" + gap
    original = ndjson.READ
    ndjson.READ = read  # reads that cut through numbers, strings, escapes and multi-byte characters
    try:
        assert list(read_items(io.BytesIO(text.encode()), "json")) == items
    finally:
        ndjson.READ = original


@given(st.lists(JSON, max_size=30))
@settings(max_examples=40, deadline=None)
def test_spooled_items_read_back_as_they_were(items: list[Any]) -> None:
    spool, count = ndjson.spooled(iter(items))
    with spool:
        assert count == len(items)
        assert list(read_items(spool, "ndjson")) == items


def test_a_spool_moves_to_disk_past_its_memory() -> None:
    spool, count = ndjson.spooled({"n": i, "pad": "x" * 100} for i in range(10_000))
    with spool:
        assert count == 10_000
        assert getattr(spool, "_rolled", None) is True  # SpooledTemporaryFile: on disk, not in memory
        assert ndjson.sendable(spool)


@pytest.mark.parametrize(
    ("text", "index", "words"),
    [
        ('{"a": 1}', 0, "not a JSON array"),
        ("[1, 2", 2, "cut short"),
        ("[1, 2,", 2, "cut short"),
        ("[1 2]", 1, "expected ',' or ']'"),
        ("[1, NaN]", 1, "NaN is not JSON"),
        ('[1, {"a": }]', 1, "not JSON"),
        ("[1] [2]", 1, "text after the array"),
    ],
)
def test_a_broken_array_is_named_by_the_item_where_it_breaks(text: str, index: int, words: str) -> None:
    with pytest.raises(InvalidItem) as refused:
        list(read_items(io.BytesIO(text.encode()), "json"))
    assert (refused.value.index, words in refused.value.message) == (index, True), refused.value


def test_ndjson_skips_blank_lines_and_a_byte_order_mark_and_names_a_bad_line() -> None:
    assert list(read_items(io.BytesIO(b'\xef\xbb\xbf{"a": 1}\n\n  \n[2, 3]\n"x"'), "ndjson")) == [{"a": 1}, [2, 3], "x"]
    with pytest.raises(InvalidItem) as refused:
        list(read_items(io.BytesIO(b"1\n\n2\n{oops\n"), "ndjson"))
    assert refused.value.index == 2


@pytest.mark.parametrize(
    ("head", "form"), [(b"  \n [1, 2]", "json"), (b'{"a": 1}\n', "ndjson"), (b"7\n8\n", "ndjson"), (b"", "ndjson")]
)
def test_the_format_is_told_by_the_first_character_without_consuming_it(head: bytes, form: str) -> None:
    stream = io.BufferedReader(io.BytesIO(head))
    assert ndjson.sniff(stream) == form
    assert stream.read() == head


@pytest.mark.parametrize(
    ("item", "words"), [(float("nan"), "Out of range float"), ({1, 2}, "set"), ("\ud800", "surrogate")]
)
def test_an_item_that_is_not_json_is_named_before_anything_is_sent(item: Any, words: str) -> None:
    with pytest.raises(InvalidItem) as refused:
        ndjson.spooled(iter([1, 2, item]))
    assert refused.value.index == 2
    assert words in str(refused.value)


def test_only_a_binary_stream_of_known_length_is_sent_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "items.ndjson"
    path.write_text("1\n2\n")
    read, write = os.pipe()
    with path.open("rb") as binary, path.open() as text, os.fdopen(read, "rb") as pipe:
        os.close(write)
        assert [ndjson.sendable(binary), ndjson.sendable(io.BytesIO(b"1\n"))] == [True, True]
        assert [ndjson.sendable(text), ndjson.sendable(pipe)] == [False, False]
        with ndjson.copied(text) as copy:
            assert copy.read() == b"1\n2\n"
