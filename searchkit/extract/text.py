"""Plain text: the title is the first non-empty line, the body is the rest (paragraphs kept)."""

from __future__ import annotations

from typing import Iterator

from ..article import Article
from ..errors import ExtractError
from .encoding import decode


def extract(data: bytes, origin: dict) -> Iterator[Article | ExtractError]:
    text = decode(data).replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise ExtractError("empty file")
    title, _, body = text.partition("\n")
    yield Article(title=title, body=body, origin={**origin, "extractor": "searchkit.text"})
