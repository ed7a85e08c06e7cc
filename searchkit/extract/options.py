"""Settings that shape one extraction run (passed in, never global)."""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_RECORD = 64 * 1024 * 1024  # bytes: a record (a line, a row, a page) past this is skipped


@dataclass(frozen=True)
class ExtractOptions:
    """`repeated_lines`: normalised lines seen across many files of this import (boilerplate.py);
    `url`/`charset`/`published`: what a container (a WARC record, a feed entry) knows of a page;
    `max_record`: bytes one record (a line, a row, a page) may have, or it is skipped and named;
    `salt`: what else shapes a record's articles (the import's --source), mixed into its key;
    `rules`: which of html.RULES to apply (None: all; the benchmark switches them off one at a time)."""

    repeated_lines: frozenset[str] = field(default_factory=frozenset)
    url: str = ""
    charset: str = ""
    published: str = ""
    max_record: int = MAX_RECORD
    salt: str = ""
    rules: frozenset[str] | None = None
