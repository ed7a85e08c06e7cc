"""An Atom feed (RFC 4287) of a search, so a saved search can be followed in a feed reader.

Built with ElementTree, so every title, name and snippet is escaped and the feed is always
well-formed XML; characters XML cannot carry (control characters) are dropped.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timezone

ATOM = "http://www.w3.org/2005/Atom"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass
class Entry:
    """One article in a feed. `summary_html` is HTML (the highlighted snippet)."""

    id: str
    title: str
    link: str
    original: str
    author: str
    source: str
    published: datetime | None
    summary_html: str


def _text(value: str) -> str:
    return _NOT_XML.sub("", value)


def _stamp(moment: datetime | None) -> str:
    return (moment or _EPOCH).astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _add(parent: ET.Element, tag: str, text: str = "", **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", {k: _text(v) for k, v in attrs.items()})
    if text:
        element.text = _text(text)
    return element


def render_feed(*, title: str, feed_url: str, page_url: str, entries: list[Entry]) -> bytes:
    """The Atom document (UTF-8 bytes). The feed's id is its own URL, so each saved search
    is a feed of its own; `updated` is the newest entry's date (the epoch when empty)."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _add(feed, "title", title)
    _add(feed, "id", feed_url)
    _add(feed, "link", rel="self", type="application/atom+xml", href=feed_url)
    _add(feed, "link", rel="alternate", type="text/html", href=page_url)
    dated = [e.published for e in entries if e.published]
    _add(feed, "updated", _stamp(max(dated) if dated else None))
    _add(feed, "generator", "searchkit")
    for entry in entries:
        item = _add(feed, "entry")
        _add(item, "title", entry.title or "(untitled)")
        _add(item, "id", entry.id)
        _add(item, "link", rel="alternate", type="text/html", href=entry.link)
        if entry.original:
            _add(item, "link", rel="related", type="text/html", href=entry.original)
        _add(item, "updated", _stamp(entry.published))
        if entry.published:
            _add(item, "published", _stamp(entry.published))
        author = _add(item, "author")
        _add(author, "name", entry.author or entry.source or "unknown")
        if entry.source:
            _add(item, "category", term=entry.source)
        _add(item, "summary", entry.summary_html, type="html")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
