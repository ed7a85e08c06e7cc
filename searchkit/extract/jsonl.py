"""JSON lines: one article object per line, with design.md's field names."""

from __future__ import annotations

import json
from typing import Iterator

from ..article import Article
from ..errors import ExtractError
from .encoding import decode

FIELDS = ("id", "url", "title", "body", "source", "author", "published", "language", "license")


def record_to_article(record: dict, origin: dict) -> Article:
    """An Article from a JSON object; unknown keys are ignored, `tags` may be a list or string."""
    values = {}
    for name in FIELDS:
        value = record.get(name)
        values[name] = "" if value is None else value if name == "published" else str(value)
    tags = record.get("tags") or []
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",")]
    elif not isinstance(tags, list):
        tags = [str(tags)]
    return Article(**values, tags=[str(t) for t in tags], origin=origin)


def extract(data: bytes, origin: dict) -> Iterator[Article | ExtractError]:
    text = decode(data)
    path = origin.get("path", "")
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except ValueError as exc:
            yield ExtractError(f"invalid JSON ({exc.msg} at column {exc.colno})", where)
            continue
        if not isinstance(record, dict):
            yield ExtractError("not a JSON object", where)
            continue
        yield record_to_article(record, {**origin, "line": str(number), "extractor": "searchkit.jsonl"})
