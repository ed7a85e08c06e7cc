"""RSS 2.0 / Atom / RDF feeds read from files (feedparser): each entry becomes an article.

Full content (`content:encoded`, Atom `content`) is preferred over the summary; HTML in it is
turned into paragraphs; entities are decoded; dates go through article.parse_date.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

from ..article import Article, parse_date
from ..errors import ExtractError
from .boilerplate import strip_leftovers
from .options import ExtractOptions


def _date(entry: Any) -> datetime | None:
    for key in ("published", "updated", "created"):
        raw = entry.get(key)
        try:
            moment = parse_date(raw)
        except (ValueError, TypeError, OverflowError):
            moment = None
        if moment:
            return moment
        parsed = entry.get(f"{key}_parsed")
        if parsed:
            return datetime(*parsed[:6], tzinfo=timezone.utc)  # feedparser's *_parsed are UTC
    return None


def _content(entry: Any) -> str:
    contents = [c.get("value", "") for c in entry.get("content", []) if c.get("value")]
    best = max(contents, key=len) if contents else ""
    summary = entry.get("summary", "")
    return best if len(best) >= len(summary) else summary


def unwrap_link(url: str) -> str:
    """The article URL inside a redirect link (Google Alerts: google.com/url?...&url=REAL)."""
    parts = urlsplit(url)
    if (parts.hostname or "").endswith("google.com") and parts.path == "/url":
        target = parse_qs(parts.query).get("url") or parse_qs(parts.query).get("q")
        if target and target[0].startswith(("http://", "https://")):
            return target[0]
    return url


def _plain(markup: str) -> str:
    from .html import fragment_paragraphs

    return " ".join(fragment_paragraphs(markup))


def extract(data: bytes, origin: dict, options: ExtractOptions) -> Iterator[Article | ExtractError]:
    import feedparser  # only when a feed is read

    parsed = feedparser.parse(data)
    if not parsed.entries:
        reason = getattr(parsed.get("bozo_exception"), "args", [""])[0] if parsed.get("bozo") else ""
        raise ExtractError(f"no feed entries found{f' ({reason})' if reason else ''}")
    from .html import fragment_paragraphs

    source = _plain(parsed.feed.get("title", ""))
    for number, entry in enumerate(parsed.entries, 1):
        title = _plain(entry.get("title", ""))
        body = strip_leftovers(fragment_paragraphs(_content(entry)), title)
        tags = [_plain(t.get("term") or t.get("label") or "") for t in entry.get("tags", [])]
        yield Article(
            title=title,
            body="\n\n".join(body),
            url=unwrap_link(entry.get("link", "")),
            source=source,
            author=_plain(entry.get("author", "")),
            published=_date(entry),
            language=(entry.get("language") or parsed.feed.get("language") or "").split("-")[0][:3].lower(),
            tags=[t for t in tags if t],
            origin={**origin, "entry": str(number), "extractor": "feedparser",
                    "metadata": "feed"},
        )
