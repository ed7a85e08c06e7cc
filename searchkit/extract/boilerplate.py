"""Page leftovers in extracted text: newsletter prompts, share buttons, prev/next links, captions.

Two sources of evidence, both conservative so that a real sentence is never dropped:
a short list of patterns that only match short lines, and lines that repeat across many
files of the same corpus (learned by `learn_repeated_lines`).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterable

MAX_WORDS = 25  # a leftover is a short line; a longer one is kept whatever it says

_PATTERNS = re.compile(
    r"""^(?:
      (?:\w+\s+){0,2}(?:sign\s+up|subscribe|register)\b.{0,120}
        \b(?:newsletter|inbox|updates|e-?mails?|alerts|briefing)\b.*
    | .{0,160}\b(?:free\s+)?(?:sign\s*up|subscribe)(?:\s+(?:now|here|today|for\s+free))?\s*[!»›>]?
    | get\s+.{0,80}\bby\s+e-?mail\b.*
    | hier\s+geht(?:'s|\s+es)\s+zu(?:m|r)?\b.{0,100}
    | (?:subscribe|sign\s+up)\s+(?:now|today|here)\b.*
    | get\s+(?:our|the)\s+.{0,40}\bnewsletter\b.*
    | (?:add|leave|post|view|show|read)\s+(?:your\s+|a\s+|all\s+)?comments?\b.{0,40}
    | \d+\s+comments?
    | (?:previous|next|older|newer)\s+(?:article|post|story|entry).*
    | (?:share|tweet|pin|email|e-mail|print)\s+(?:this|on|via|the)\b.{0,60}
    | (?:share|tweet|email|print|facebook|twitter|whatsapp|linkedin|reddit|messenger|copy\s+link)
      (?:\s*[|,/·•]\s*(?:share|tweet|email|print|facebook|twitter|whatsapp|linkedin|reddit|messenger|copy\s+link))*
    | follow\s+us\s+on\b.*
    | click\s+here\s+to\b.{0,80}
    | (?:read|see)\s+(?:more|also)\s*:?.{0,100}
    | (?:related|recommended)\s*(?:articles?|stories|coverage|content|reading|posts?|topics?)?\s*:?
    | more\s+on\s+this\s+story\b.*
    | (?:previously|also)\s+on\s+.{1,40}:
    | you\s+(?:may|might)\s+also\s+(?:like|be\s+interested\s+in)\b.*
    | advertisement|sponsored(?:\s+content)?|skip\s+to\s+(?:main\s+)?content|back\s+to\s+top
    | (?:we|this\s+(?:site|website))\s+uses?\s+cookies\b.*
    | (?:all\s+rights\s+reserved|copyright\s+©|©\s*\d{4}).{0,100}
    )$""",
    re.I | re.X,
)
_NORMAL = re.compile(r"[\W_]+")


def normal(line: str) -> str:
    """A line reduced to lower-case words, for comparing lines that differ in punctuation."""
    return _NORMAL.sub(" ", line.lower()).strip()


def is_leftover(line: str, title: str = "", repeated: frozenset[str] = frozenset()) -> bool:
    """True if `line` is page furniture rather than article text."""
    return _leftover(line, normal(title) if title else None, repeated)


def _leftover(line: str, title_key: str | None, repeated: frozenset[str]) -> bool:
    """is_leftover with the title already normal() (None: no title), for many lines of a page."""
    words = line.split(None, MAX_WORDS)  # MAX_WORDS + 1 pieces: a longer line (and no long split)
    if not words or len(words) > MAX_WORDS:
        return False
    if _PATTERNS.match(line.strip()):
        return True
    key = normal(line)
    if title_key is not None and key == title_key:
        return True  # an image caption or a repeated headline
    return key in repeated


def strip_leftovers(paragraphs: Iterable[str], title: str = "",
                    repeated: frozenset[str] = frozenset()) -> list[str]:
    """The paragraphs that are article text, in order."""
    title_key = normal(title) if title else None
    return [p for p in paragraphs if not _leftover(p, title_key, repeated)]


def learn_repeated_lines(documents: Iterable[Iterable[str]], min_files: int = 3,
                         min_share: float = 0.3) -> frozenset[str]:
    """Short lines that occur in at least `min_files` documents and `min_share` of them:
    site furniture repeated on every page of a corpus. Keys are `normal()` forms."""
    counts: Counter[str] = Counter()
    total = 0
    for lines in documents:
        total += 1
        counts.update({normal(line) for line in lines if 0 < len(line.split()) <= MAX_WORDS})
    threshold = max(min_files, int(total * min_share))
    return frozenset(key for key, count in counts.items() if key and count >= threshold)
