"""Map the column names people use (headline, text, link, pubdate, byline…) to Article fields.

Shared by CSV and JSON lines, so both accept the same exports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..article import Article

ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "article_id", "doc_id", "docid", "guid", "uuid"),
    "title": ("title", "headline", "head", "name", "subject"),
    "body": ("body", "text", "content", "article", "article_text", "full_text", "fulltext", "story",
             "description", "summary"),
    "url": ("url", "link", "href", "permalink", "canonical_url", "web_url", "article_url"),
    "published": ("published", "date", "pubdate", "pub_date", "published_at", "publish_date", "publishdate",
                  "datetime", "timestamp", "time", "created_at", "date_published", "publication_date"),
    "source": ("source", "publication", "publisher", "site", "site_name", "outlet", "newspaper", "domain"),
    "author": ("author", "authors", "byline", "writer", "creator", "by"),
    "language": ("language", "lang", "locale"),
    "tags": ("tags", "keywords", "categories", "category", "topics", "section"),
    "license": ("license", "licence", "rights"),
}


NAMED_COLUMNS = 8  # a notice about ignored columns names this many and counts the rest


def some_of(names: list[str]) -> str:
    """`a, b, c` for a few names; the first NAMED_COLUMNS `and 99,992 more` for many (a table
    with 100,000 columns once made a 789 KB warning line)."""
    more = len(names) - NAMED_COLUMNS
    return ", ".join(str(n)[:80] for n in names[:NAMED_COLUMNS]) + (f" and {more:,} more" if more > 0 else "")


def _key(name: str) -> str:
    return "_".join(str(name).strip().lower().replace("-", " ").split())


@dataclass
class ColumnMap:
    """Which input column feeds each Article field, and the columns nothing claimed."""

    fields: dict[str, str] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)

    @classmethod
    def from_names(cls, names: list[str]) -> "ColumnMap":
        """Claim each field's best column: an exact field name first, then its aliases in order."""
        by_key = {}
        for name in names:
            by_key.setdefault(_key(name), name)
        mapping = cls()
        for target, aliases in ALIASES.items():
            for alias in aliases:
                if alias in by_key and by_key[alias] not in mapping.fields.values():
                    mapping.fields[target] = by_key[alias]
                    break
        claimed = set(mapping.fields.values())
        mapping.unknown = [n for n in names if n not in claimed and str(n).strip()]
        return mapping

    def article(self, record: dict[str, Any], origin: dict, extra_as_tags: bool = False) -> Article:
        """An Article from one record; unknown columns become `column:value` tags if asked."""
        values: dict[str, Any] = {}
        for target, column in self.fields.items():
            value = record.get(column)
            if target == "published":
                values[target] = value if value not in (None, "") else None
            elif target == "tags":
                values[target] = _tags(value)
            else:
                values[target] = "" if value is None else _text(value)
        if extra_as_tags:
            values.setdefault("tags", [])
            values["tags"] += [f"{c}:{_text(record[c])}" for c in self.unknown
                               if record.get(c) not in (None, "") and len(_text(record[c])) <= 100]
        return Article(**values, origin=origin)


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return str(value.get("name") or value.get("value") or "")
    return str(value)


def _tags(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, list):
        return [_text(v) for v in value]
    return [t.strip() for t in str(value).replace(";", ",").split(",") if t.strip()]
