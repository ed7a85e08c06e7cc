"""Counts in words a person reads: "1 result", "2 results", "1,234 articles"."""

from __future__ import annotations


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """`count` (with thousands separators) and the noun agreeing with it; `nouns` is the plural
    when it is not noun + "s" ("match", "matches")."""
    return f"{count:,} {noun if count == 1 else (nouns or noun + 's')}"
