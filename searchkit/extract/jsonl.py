"""JSON lines: one article object per line. Keys follow design.md's field names or the common
aliases of columns.py (headline, text, link, pubdate…); a JSON array of objects works too.

Read a line at a time from the stream (stream.py), so a file of any size takes the memory of
one line; a line over the record limit, a broken line or one nested too deeply to parse is
named with its line number and the lines after it still go in.
"""

from __future__ import annotations

import io
import json
from typing import Callable, Iterator

from ..errors import ExtractError
from .columns import ColumnMap, some_of
from .encoding import repair_mojibake
from .notice import ExtractNotice
from .options import ExtractOptions
from .records import Unchanged, record_key
from .stream import Input, lines, megabytes, text_encoding

# Keys of `searchkit export` and search results that are not read back: re-importing an export
# recomputes them, so they are not worth a warning.
EXPORT_ONLY = {"imported", "origin", "cluster", "score", "snippet", "rank", "qid", "cluster_size"}
_WIDE = ("utf-16", "utf-32")  # encodings whose newline is not one byte: read as text


def read(source: Input, origin: dict, options: ExtractOptions,
         known: Callable[[str], Unchanged | None] | None = None) -> Iterator:
    path = origin.get("path", "")
    encoding, errors = text_encoding(source.head)
    first = next((c for c in source.head.decode(encoding, "ignore") if not c.isspace() and c != "\ufeff"), "")
    if first == "[":
        yield from _array(io.TextIOWrapper(source.stream, encoding, errors), origin, options, known)
        return
    salt = f"jsonl\0{options.salt}".encode()
    mappings: dict[tuple, ColumnMap] = {}
    unknown: dict[str, None] = {}
    for number, raw, line in _lines(source, encoding, errors, options.max_record):
        where = f"{path}:{number}"
        if raw is None:
            yield ExtractError(f"over {megabytes(options.max_record)}, skipped", where)
            continue
        if not line.strip():
            continue
        key = record_key(salt, raw)
        if known is not None:
            seen = known(key)
            if seen is not None:
                yield seen
                continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            yield ExtractError(f"invalid JSON ({exc.msg.removesuffix(' at')} at column {exc.colno})", where, key)
            continue
        except RecursionError:
            yield ExtractError("JSON nested too deeply to read", where, key)
            continue
        if not isinstance(record, dict):
            yield ExtractError("not a JSON object", where, key)
            continue
        keys = tuple(record)
        mapping = mappings.get(keys) or mappings.setdefault(keys, ColumnMap.from_names(list(keys)))
        unknown.update(dict.fromkeys(k for k in mapping.unknown if k not in EXPORT_ONLY))
        yield mapping.article(record, {**origin, "line": str(number), "extractor": "searchkit.jsonl",
                                       "key": key})
    if unknown:
        yield ExtractNotice(f"ignored keys: {some_of(list(unknown))}", path)


def _lines(source: Input, encoding: str, errors: str, limit: int) -> Iterator[tuple[int, bytes | None, str]]:
    """(line number, its bytes or None if over `limit`, its text) for each line. Bytes are read
    as bytes (a newline is one byte in UTF-8 and single-byte charsets), UTF-16/32 as text."""
    if encoding.startswith(_WIDE):
        stream = io.TextIOWrapper(source.stream, encoding, errors)
        number = 0
        while True:
            line = stream.readline(limit + 1)
            if not line:
                return
            number += 1
            if len(line) > limit and not line.endswith("\n"):
                while line and not line.endswith("\n"):
                    line = stream.readline(1 << 20)
                yield number, None, ""
                continue
            yield number, line.encode("utf-8", "surrogatepass"), line.rstrip("\r\n")
        return
    encoding = "utf-8" if encoding == "utf-8-sig" else encoding
    for number, raw in lines(source.stream, limit):
        if raw is None:
            yield number, None, ""
            continue
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        yield number, raw, repair_mojibake(raw.decode(encoding, errors).rstrip("\r\n"))


def _array(stream: io.TextIOWrapper, origin: dict, options: ExtractOptions,
           known: Callable[[str], Unchanged | None] | None) -> Iterator:
    """The objects of one JSON array, read an item at a time: an item over the record limit or
    broken ends the array (its end cannot be found without reading it), named by its number."""
    path = origin.get("path", "")
    salt = f"jsonl\0{options.salt}".encode()
    decoder = json.JSONDecoder()
    buffer, at, done = stream.read(1 << 20).lstrip("\ufeff"), 0, False

    def more(wanted: int) -> bool:
        nonlocal buffer, at, done
        chunk = "" if done else stream.read(max(1 << 20, wanted))
        done = not chunk
        buffer, at = buffer[at:] + chunk, 0
        return bool(chunk)

    def skip_space() -> str:
        nonlocal at
        while True:
            while at < len(buffer) and buffer[at].isspace():
                at += 1
            if at < len(buffer) or not more(0):
                return buffer[at:at + 1]

    if skip_space() != "[":
        raise ExtractError("invalid JSON (not an array of objects)")
    at += 1
    number = 0
    while True:
        if skip_space() == "]":
            return
        number += 1
        where = f"{path}:item {number}"
        while True:
            try:
                record, end = decoder.raw_decode(buffer, at)
                break
            except ValueError as exc:
                if len(buffer) - at > options.max_record:
                    raise ExtractError(f"over {megabytes(options.max_record)}, the rest of the array "
                                       "skipped", where) from None
                if not more(len(buffer) - at):
                    raise ExtractError(f"invalid JSON ({exc.msg})", where) from None
            except RecursionError:
                raise ExtractError("JSON nested too deeply to read, the rest of the array skipped",
                                   where) from None
        text, at = buffer[at:end], end
        key = record_key(salt, text.encode("utf-8", "surrogatepass"))
        seen = known(key) if known is not None else None
        if seen is not None:
            yield seen
        elif not isinstance(record, dict):
            yield ExtractError("not a JSON object", where, key)
        else:
            mapping = ColumnMap.from_names(list(record))
            yield mapping.article(record, {**origin, "item": str(number), "extractor": "searchkit.jsonl",
                                           "key": key})
        following = skip_space()
        if following == ",":
            at += 1
        elif following != "]":
            raise ExtractError("invalid JSON (expected , or ] after an item)", where)
