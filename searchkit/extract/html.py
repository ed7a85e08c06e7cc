"""HTML pages: title, visible article text and basic metadata with BeautifulSoup."""

from __future__ import annotations

import re
from typing import Iterator

from bs4 import BeautifulSoup

from ..article import Article
from ..errors import ExtractError
from .encoding import decode

_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([\w-]+)""", re.I)
_DROP = ("script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form",
         "iframe", "svg", "button", "select", "figure")
_BLOCKS = ("p", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre")
MAX_HTML = 20 * 1024 * 1024


def _meta(soup: BeautifulSoup, *names: str) -> str:
    for name in names:
        tag = soup.find("meta", attrs={"property": name}) or soup.find("meta", attrs={"name": name})
        if tag and tag.get("content", "").strip():
            return tag["content"].strip()
    return ""


def extract(data: bytes, origin: dict) -> Iterator[Article | ExtractError]:
    if len(data) > MAX_HTML:
        raise ExtractError(f"HTML page is {len(data) / 1e6:.0f} MB, over the {MAX_HTML // 2**20} MB limit")
    declared = _CHARSET.search(data[:4096])
    soup = BeautifulSoup(decode(data, declared.group(1).decode("ascii") if declared else None), "html.parser")
    title = _meta(soup, "og:title") or (soup.title.get_text(" ", strip=True) if soup.title else "")
    if not title and soup.h1:
        title = soup.h1.get_text(" ", strip=True)
    canonical = soup.find("link", rel="canonical")
    url = (canonical.get("href", "") if canonical else "") or _meta(soup, "og:url")
    for tag in soup(_DROP):
        tag.decompose()
    root = soup.find("article") or soup.find("main") or soup.body or soup
    paragraphs = [el.get_text(" ", strip=True) for el in root.find_all(_BLOCKS)]
    if not any(paragraphs):
        paragraphs = [root.get_text("\n", strip=True)]
    body = "\n\n".join(p for p in paragraphs if p)
    if not body.strip():
        raise ExtractError("no article text found in the page")
    yield Article(
        title=title,
        body=body,
        url=url,
        source=_meta(soup, "og:site_name"),
        author=_meta(soup, "author", "article:author"),
        published=_meta(soup, "article:published_time", "date", "pubdate") or None,
        language=(soup.html.get("lang", "") if soup.html else "")[:2],
        origin={**origin, "extractor": "searchkit.html"},
    )
