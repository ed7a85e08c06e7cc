"""Plain text: the title is the first non-empty line, the body is the rest (paragraphs kept).

Page leftovers a scraper left in ("Sign up for regular updates…", "Previous article…",
captions that repeat the headline, lines repeated across the corpus) are dropped; see
boilerplate.py for what counts as one.
"""

from __future__ import annotations

import re
from typing import Iterator

from ..article import Article
from ..errors import ExtractError
from .boilerplate import is_leftover, strip_leftovers
from .encoding import decode
from .options import ExtractOptions

_PARAGRAPHS = re.compile(r"\n\s*\n+")


def split_text(data: bytes) -> tuple[str, list[str]]:
    """The title line and the body's paragraphs: blank lines separate paragraphs; in a text with
    no blank lines at all, each line is a paragraph."""
    text = decode(data).replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise ExtractError("empty file")
    title, _, body = text.partition("\n")
    body = body.strip()
    pieces = _PARAGRAPHS.split(body) if _PARAGRAPHS.search(body) else body.split("\n")
    lines = [line.strip() for piece in pieces for line in _split_glued(piece)]
    return title.strip(), [line for line in lines if line]


def _split_glued(piece: str) -> list[str]:
    """Lines inside a paragraph are one (hard-wrapped) paragraph, unless a capitalised line of
    it is a leftover ("Previous article…" / "Next article…" glued under the last paragraph)."""
    lines = [line.strip() for line in piece.split("\n") if line.strip()]
    if len(lines) > 1 and any(line[:1].isupper() and is_leftover(line) for line in lines):
        return lines
    return [" ".join(lines)]


def extract(data: bytes, origin: dict, options: ExtractOptions) -> Iterator[Article | ExtractError]:
    title, paragraphs = split_text(data)
    body = strip_leftovers(paragraphs, title, options.repeated_lines)
    yield Article(title=title, body="\n\n".join(body), origin={**origin, "extractor": "searchkit.text"})
