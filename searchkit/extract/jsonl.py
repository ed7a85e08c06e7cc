"""JSON lines: one article object per line. Keys follow design.md's field names or the common
aliases of columns.py (headline, text, link, pubdate…); a JSON array of objects works too."""

from __future__ import annotations

import json
from typing import Iterator

from ..errors import ExtractError
from .columns import ColumnMap
from .encoding import decode
from .options import ExtractOptions


def extract(data: bytes, origin: dict, options: ExtractOptions) -> Iterator:
    text = decode(data)
    path = origin.get("path", "")
    if text.lstrip().startswith("["):
        yield from _array(text, origin)
        return
    mappings: dict[tuple, ColumnMap] = {}
    for number, line in enumerate(text.splitlines(), 1):
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
        yield mapping.article(record, {**origin, "line": str(number), "extractor": "searchkit.jsonl"})


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
