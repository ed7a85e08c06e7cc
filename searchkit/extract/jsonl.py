"""JSON lines: one article object per line. Keys follow design.md's field names or the common
aliases of columns.py (headline, text, link, pubdate…); a JSON array of objects works too."""

from __future__ import annotations

import json
from itertools import chain
from typing import Iterator

from ..errors import ExtractError
from .columns import ColumnMap
from .encoding import decode_pieces
from .notice import ExtractNotice
from .options import ExtractOptions

# Keys of `searchkit export` and search results that are not read back: re-importing an export
# recomputes them, so they are not worth a warning.
EXPORT_ONLY = {"imported", "origin", "cluster", "score", "snippet", "rank", "qid", "cluster_size"}


def extract(data: bytes, origin: dict, options: ExtractOptions) -> Iterator:
    pieces = decode_pieces(data)  # a big file is held as its bytes and a megabyte of text
    del data  # the caller let go of it too (extract_bytes)
    path = origin.get("path", "")
    head, first = [], ""  # the pieces up to the first character that is not a space
    for piece in pieces:
        head.append(piece)
        first = next((c for c in piece if not c.isspace()), "")  # not lstrip(): a copy
        if first:
            break
    pieces = chain(head, pieces)
    if first == "[":
        yield from _array("".join(pieces), origin)
        return
    mappings: dict[tuple, ColumnMap] = {}
    unknown: dict[str, None] = {}
    for number, line in enumerate((line for piece in pieces for line in _lines(piece)), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except ValueError as exc:
            yield ExtractError(f"invalid JSON ({exc.msg.removesuffix(' at')} at column {exc.colno})", where)
            continue
        if not isinstance(record, dict):
            yield ExtractError("not a JSON object", where)
            continue
        keys = tuple(record)
        mapping = mappings.get(keys) or mappings.setdefault(keys, ColumnMap.from_names(list(keys)))
        unknown.update(dict.fromkeys(k for k in mapping.unknown if k not in EXPORT_ONLY))
        yield mapping.article(record, {**origin, "line": str(number), "extractor": "searchkit.jsonl"})
    if unknown:
        yield ExtractNotice(f"ignored keys: {', '.join(unknown)}", path)


def _lines(text: str, chunk: int = 1 << 20) -> Iterator[str]:
    """text.splitlines(), a megabyte at a time: a list of every line of a big file would be a
    second copy of it. Each piece ends just after a "\n", where splitlines always breaks."""
    start, end = 0, len(text)
    while start < end:
        cut = text.find("\n", start + chunk)
        cut = end if cut < 0 else cut + 1
        yield from text[start:cut].splitlines()
        start = cut


def _array(text: str, origin: dict) -> Iterator:
    try:
        records = json.loads(text)
    except ValueError as exc:
        raise ExtractError(f"invalid JSON (line {exc.lineno}: {exc.msg})") from None
    for number, record in enumerate(records if isinstance(records, list) else [records], 1):
        if not isinstance(record, dict):
            yield ExtractError(f"item {number} is not a JSON object", origin.get("path", ""))
            continue
        mapping = ColumnMap.from_names(list(record))
        yield mapping.article(record, {**origin, "item": str(number), "extractor": "searchkit.jsonl"})
