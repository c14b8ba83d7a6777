"""Items as NDJSON, in flat memory: encoded from any iterable into a spool (a temporary file past its first
SPOOL_MEMORY bytes), so that the upload can say its length (the API reads a body of known length) and be sent again
if it must be; and read back from NDJSON or a JSON array, one item at a time.

A streamed upload costs disk the size of the encoded items, never memory."""

from __future__ import annotations

import codecs
import io
import json
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO, Any, Literal

from celerity_client.errors import InvalidItem
from celerity_client.models import Json

SPOOL_MEMORY = 256 * 1024  # bytes a spool keeps in memory before it moves to disk
BATCH = 64 * 1024  # bytes of encoded lines written at a time
READ = 64 * 1024  # bytes read at a time
Format = Literal["auto", "ndjson", "json"]
DELIMITERS = " \t\r\n,]"  # what may follow an element of an array


def dumps(item: Json, index: int) -> bytes:
    """One item as the API stores it (jsonb): strict JSON, valid UTF-8."""
    try:
        return json.dumps(item, allow_nan=False, ensure_ascii=False, separators=(",", ":")).encode()
    except (TypeError, ValueError) as exc:  # NaN, a set, a lone surrogate...
        raise InvalidItem(index, f"not JSON: {exc}") from None


def spooled(items: Iterable[Json]) -> tuple[IO[bytes], int]:
    """The items encoded one per line into a rewound spool, and how many there were."""
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY, mode="w+b")  # noqa: SIM115 - returned
    batch: list[bytes] = []
    size = count = 0
    try:
        for count, item in enumerate(items, start=1):  # count is the total after the loop
            line = dumps(item, count - 1)
            batch.append(line)
            size += len(line) + 1
            if size >= BATCH:
                spool.write(b"\n".join(batch) + b"\n")
                batch.clear()
                size = 0
        if batch:
            spool.write(b"\n".join(batch) + b"\n")
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool, count


def copied(stream: IO[bytes] | IO[str]) -> IO[bytes]:
    """A stream that cannot be sent as it is (a pipe, a text file) copied into a rewound spool, as bytes."""
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY, mode="w+b")  # noqa: SIM115 - returned
    while chunk := stream.read(READ):
        spool.write(chunk.encode() if isinstance(chunk, str) else chunk)
    spool.seek(0)
    return spool


def sendable(stream: IO[Any]) -> bool:
    """A binary stream whose length is known from here to its end (a regular file, bytes in memory), so that it
    can go as the body itself; anything else is copied first."""
    if isinstance(stream, io.BytesIO):
        return True
    if isinstance(stream, io.TextIOBase):
        return False
    try:
        return stream.seekable() and stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is an OSError and a ValueError
        return False


def sniff(stream: IO[bytes]) -> Format:
    """`json` when the first non-blank character is `[`, else `ndjson`, without consuming anything: a file whose
    items are arrays, one per line, needs `ndjson` said explicitly."""
    head = _peek(stream)
    stripped = head.lstrip(b" \t\r\n\xef\xbb\xbf")
    return "json" if stripped.startswith(b"[") else "ndjson"


def _peek(stream: IO[bytes]) -> bytes:
    peek = getattr(stream, "peek", None)
    if peek is not None:
        return bytes(peek(READ))[:READ]
    if stream.seekable():
        at = stream.tell()
        head = stream.read(READ)
        stream.seek(at)
        return head
    return b""


def read_items(stream: IO[bytes], format: Format = "auto") -> Iterator[Json]:
    """The items of an NDJSON stream (blank lines skipped) or of one JSON array, one at a time."""
    if format == "auto":
        format = sniff(stream)
    return _array_items(stream) if format == "json" else _lines(stream)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def _lines(stream: IO[bytes]) -> Iterator[Json]:
    index = 0
    for line in stream:
        if not line.strip():
            continue
        try:
            yield _DECODER.decode(line.decode("utf-8-sig" if index == 0 else "utf-8"))
        except ValueError as exc:
            raise InvalidItem(index, f"not JSON: {exc}") from None
        index += 1


def _array_items(stream: IO[bytes]) -> Iterator[Json]:
    """One JSON array, element by element: each is decoded once the text after it shows that it is complete (a
    number at the end of what was read so far might go on)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    text, pos, eof, index = "", 0, False, 0

    def more(size: int = READ) -> bool:
        nonlocal text, pos, eof
        if eof:
            return False
        chunk = stream.read(size)
        eof = not chunk
        text = text[pos:] + decoder.decode(chunk, final=eof)
        pos = 0
        return not eof or bool(text)

    def skip_blank() -> str:
        nonlocal pos
        while True:
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
            if pos < len(text) or not more():
                return text[pos] if pos < len(text) else ""

    if skip_blank() != "[":
        raise InvalidItem(0, "not a JSON array (it does not start with '[')")
    pos += 1
    if skip_blank() == "]":
        pos += 1
    else:
        while True:
            if skip_blank() == "":
                raise InvalidItem(index, "the array is cut short")
            size = READ
            while True:
                try:
                    item, end = _DECODER.raw_decode(text, pos)
                except ValueError as exc:
                    if more(size):
                        size *= 2  # one big item: read ever more at once, not the same text over and over
                        continue
                    raise InvalidItem(index, f"not JSON: {exc}") from None
                if not eof and (end == len(text) or text[end] not in DELIMITERS) and more(size):
                    continue  # a number cut by the read ("1." of "1.5") may go on in the next: decode it again
                break
            pos = end
            yield item
            index += 1
            following = skip_blank()
            pos += 1
            if following == "]":
                break
            if following == "":
                raise InvalidItem(index, "the array is cut short")
            if following != ",":
                raise InvalidItem(index, f"expected ',' or ']' after item {index - 1}, found {following!r}")
    if skip_blank() != "":
        raise InvalidItem(index, "text after the array's closing ']'")
