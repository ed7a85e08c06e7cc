"""Settings that shape one extraction run (passed in, never global)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ExtractOptions:
    """`repeated_lines`: normalised lines seen across many files of this import (boilerplate.py);
    `url`/`charset`/`published`: what a container (a WARC record, a feed entry) knows of a page;
    `rules`: which of html.RULES to apply (None: all; the benchmark switches them off one at a time)."""

    repeated_lines: frozenset[str] = field(default_factory=frozenset)
    url: str = ""
    charset: str = ""
    published: str = ""
    rules: frozenset[str] | None = None
