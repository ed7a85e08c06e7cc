"""Article metadata from an HTML page: JSON-LD, then OpenGraph, then <meta>, <time>, the URL.

Each field is taken from the most trusted place that has it, and `PageMeta.sources` says which
place that was (recorded in the article's provenance). Order of trust, per field:

    JSON-LD NewsArticle/Article  >  OpenGraph / article:*  >  other <meta> (Dublin Core,
    parsely, sailthru, twitter, itemprop)  >  <time> / <h1> / <title>  >  the URL's /YYYY/MM/DD/
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable
from urllib.parse import urlsplit

from lxml import etree
from lxml import html as lxml_html

from ..article import parse_date

ARTICLE_TYPES = {"newsarticle", "article", "reportagenewsarticle", "blogposting", "analysisnewsarticle",
                 "opinionnewsarticle", "backgroundnewsarticle", "reviewnewsarticle", "webpage", "liveblogposting",
                 "socialmediaposting", "scholarlyarticle", "techarticle", "report"}
_URL_DATE = re.compile(r"/((?:19|20)\d\d)[/-]([01]?\d)[/-]([0-3]?\d)(?:/|$|[-_])|/((?:19|20)\d\d)([01]\d)([0-3]\d)/")
_URL_MONTH_NAME = re.compile(r"/((?:19|20)\d\d)/(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*/([0-3]?\d)/",
                             re.I)
_MONTHS = "jan feb mar apr may jun jul aug sep oct nov dec".split()


@dataclass
class PageMeta:
    """Metadata found on a page; `sources` maps a field name to where its value came from."""

    title: str = ""
    author: str = ""
    published: Any = None
    modified: Any = None
    source: str = ""
    language: str = ""
    url: str = ""
    tags: list[str] = field(default_factory=list)
    article_body: str = ""
    description: str = ""
    sources: dict[str, str] = field(default_factory=dict)
    candidates: dict[str, list[tuple[str, Any]]] = field(default_factory=dict)

    def offer(self, name: str, value: Any, where: str) -> None:
        """Set `name` to `value` unless a more trusted place already did (every offer of a
        title or date is kept in `candidates`, for choices that weigh them against each other)."""
        if isinstance(value, str) and name != "article_body":  # its line breaks part paragraphs
            value = " ".join(value.split())
        if name in ("published", "modified") and value and not _parses(value):
            return  # an unreadable date must not hide a readable one further down
        if value and name in ("title", "published"):
            self.candidates.setdefault(name, []).append((where, value))
        if value and not getattr(self, name):
            setattr(self, name, value)
            self.sources[name] = where


def _text(value: Any) -> str:
    """A JSON-LD value as text: strings as they are, names of persons/organisations, lists joined."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return _text(value.get("name") or value.get("@value") or "")
    if isinstance(value, list):
        names = [_text(v) for v in value]
        return ", ".join(dict.fromkeys(n for n in names if n))
    return ""


def _jsonld_objects(scripts: Iterable[lxml_html.HtmlElement]) -> Iterable[dict]:
    """Every JSON object in the page's ld+json scripts, flattening @graph and lists."""
    for script in scripts:
        if "ld+json" not in (script.get("type") or "").lower():
            continue
        try:
            data = json.loads(script.text_content() or "null", strict=False)
        except ValueError:
            continue
        stack = [data]
        while stack:
            item = stack.pop(0)
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                if "@graph" in item:
                    stack.extend(item["@graph"] if isinstance(item["@graph"], list) else [item["@graph"]])
                yield item


def _types(item: dict) -> set[str]:
    kinds = item.get("@type") or []
    return {str(k).lower() for k in (kinds if isinstance(kinds, list) else [kinds])}


def _read_jsonld(scripts: list[lxml_html.HtmlElement], meta: PageMeta) -> None:
    articles = [o for o in _jsonld_objects(scripts) if _types(o) & ARTICLE_TYPES]
    # A NewsArticle beats a generic WebPage describing the same page.
    articles.sort(key=lambda o: ("webpage" in _types(o) and len(_types(o)) == 1, not o.get("headline")))
    for item in articles:
        meta.offer("title", _text(item.get("headline") or item.get("name")), "json-ld")
        meta.offer("author", _text(item.get("author") or item.get("creator")), "json-ld")
        meta.offer("published", _text(item.get("datePublished") or item.get("dateCreated")), "json-ld")
        meta.offer("modified", _text(item.get("dateModified")), "json-ld")
        meta.offer("source", _text(item.get("publisher")), "json-ld")
        meta.offer("language", _text(item.get("inLanguage")), "json-ld")
        main = item.get("mainEntityOfPage")
        meta.offer("url", _text(item.get("url")) or (main.get("@id", "") if isinstance(main, dict) else ""), "json-ld")
        keywords = item.get("keywords")
        if isinstance(keywords, str):
            keywords = [k for k in re.split(r"\s*[,;]\s*", keywords)]
        meta.offer("tags", [k for k in (keywords or []) if isinstance(k, str) and k.strip()], "json-ld")
        meta.offer("article_body", _text(item.get("articleBody")), "json-ld")
        meta.offer("description", _text(item.get("description")), "json-ld")


def _meta_values(metas: list[lxml_html.HtmlElement]) -> dict[str, list[str]]:
    """<meta> contents by lower-cased property/name/itemprop, in page order."""
    values: dict[str, list[str]] = {}
    for tag in metas:
        content = (tag.get("content") or "").strip()
        if not content:
            continue
        for attr in ("property", "name", "itemprop", "http-equiv"):
            key = (tag.get(attr) or "").strip().lower()
            if key:
                values.setdefault(key, []).append(content)
    return values


def _first(values: dict[str, list[str]], *keys: str) -> tuple[str, str]:
    for key in keys:
        if values.get(key):
            return values[key][0], key
    return "", ""


def _read_meta(metas: list[lxml_html.HtmlElement], meta: PageMeta) -> None:
    values = _meta_values(metas)
    fields = {
        "title": ("og:title", "twitter:title", "dc.title", "parsely-title", "sailthru.title", "headline"),
        "author": ("article:author", "author", "dc.creator", "parsely-author", "sailthru.author", "byl",
                   "byline", "twitter:creator"),
        "published": ("article:published_time", "og:published_time", "article:published", "datepublished",
                      "dc.date.issued", "dcterms.date", "dc.date", "date", "pubdate", "publishdate",
                      "publish-date", "parsely-pub-date", "sailthru.date", "article.published", "ptime",
                      "dcsext.articlefirstpublished", "og:article:published_time"),
        "modified": ("article:modified_time", "og:updated_time", "datemodified", "dcterms.modified", "last-modified"),
        "source": ("og:site_name", "application-name", "publisher", "dc.publisher", "twitter:site"),
        "url": ("og:url", "twitter:url", "parsely-link"),
        "language": ("og:locale", "content-language", "dc.language", "language"),
        "description": ("og:description", "description", "twitter:description", "dc.description"),
    }
    for name, keys in fields.items():
        value, key = _first(values, *keys)
        if name == "author" and value.startswith(("http://", "https://")):
            continue  # article:author is often a profile URL, not a name
        if name == "source" and value.startswith("@"):
            value = value[1:]
        meta.offer(name, value, f"meta:{key}")
    tags = values.get("article:tag") or values.get("news_keywords") or values.get("keywords") or []
    if len(tags) == 1:
        tags = re.split(r"\s*[,;]\s*", tags[0])
    meta.offer("tags", [t for t in tags if t], "meta")


# Every element read_meta looks at, in page order, with one XPath (each `//` is a walk over the
# whole page; the attribute axis finds itemprop="datePublished" in a third of the time of
# `//*[@itemprop=...]`, which tests every element).
_MARKS = etree.XPath('//meta | //script | //link | //time | //title | //h1 | //@itemprop[. = "datePublished"]/..')


def _read_page(marks: list[lxml_html.HtmlElement], tree: lxml_html.HtmlElement, meta: PageMeta) -> None:
    canonical, stamps, titles, headings = [], [], [], []
    for element in marks:
        tag = element.tag
        if tag == "link":
            if (element.get("rel") or "").lower() == "canonical" and element.get("href") is not None:
                canonical.append(element.get("href"))
        elif tag == "title":
            titles.append(element)
        elif tag == "h1":
            headings.append(element)
        if tag == "time" or element.get("itemprop") == "datePublished":
            # its datetime, or the content of an itemprop="datePublished" element, in page order
            stamps += [value for name, value in element.items() if name == "datetime"
                       or (name == "content" and element.get("itemprop") == "datePublished")]
    meta.offer("url", canonical[0] if canonical else "", "link:canonical")
    for stamp in stamps:
        meta.offer("published", stamp, "time")
    title = [t for t in titles if t.getparent() is not None and t.getparent().tag == "head"] \
        or [t for t in titles if next(t.iterancestors("svg"), None) is None]
    meta.offer("title", title[0].text_content() if title else "", "title")
    for heading in headings[:20]:
        meta.offer("title", heading.text_content(), "h1")
    meta.offer("language", tree.get("lang") or tree.get("xml:lang") or "", "html:lang")


def _parses(value: str) -> bool:
    try:
        return parse_date(value) is not None
    except (ValueError, TypeError, OverflowError):
        return False


def date_from_url(url: str) -> str:
    """A YYYY-MM-DD date from a URL like /2020/01/19/ or /20200119/ or /2020/jan/20/, else ""."""
    match = _URL_DATE.search(url)
    if match:
        year, month, day = [g for g in match.groups() if g][:3]
    else:
        match = _URL_MONTH_NAME.search(url)
        if not match:
            return ""
        year, name, day = match.groups()
        month = str(_MONTHS.index(name.lower()[:3]) + 1)
    candidate = f"{year}-{int(month):02d}-{int(day):02d}"
    return candidate if _parses(candidate) else ""


def read_meta(tree: lxml_html.HtmlElement, url: str = "") -> PageMeta:
    """All metadata of a parsed page, each field from its most trusted source."""
    meta = PageMeta()
    marks = _MARKS(tree)
    _read_jsonld([e for e in marks if e.tag == "script"], meta)
    _read_meta([e for e in marks if e.tag == "meta"], meta)
    _read_page(marks, tree, meta)
    meta.offer("url", url, "given")
    host = urlsplit(meta.url).hostname or ""
    meta.offer("source", host.removeprefix("www."), "url")
    meta.offer("published", date_from_url(meta.url), "url")
    meta.language = meta.language.replace("_", "-").split("-")[0].lower()[:3]
    _choose_title(meta)
    _choose_published(meta)
    return meta


_SEPARATORS = re.compile(r"\s+[|\-–—:·»/]\s+|\s*[|｜]\s*|(?<=[^\x00-\x7f])[-_–—](?=[^\x00-\x7f\s]{1,8}$)")


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[\W_]+", " ", text.lower()).split())


def title_segments(title: str) -> list[str]:
    """A <title> cut at its separators: "Headline - Section - Site" -> three parts."""
    return [part.strip() for part in _SEPARATORS.split(title) if part and part.strip()]


def _without_site(title: str, site: str, loose: bool) -> str:
    """`title` without a site name before or after it; with `loose`, also without a short last
    part after a long headline (what a <title> usually appends)."""
    parts = title_segments(title)
    if len(parts) < 2:
        return title
    site_key = _normal(site)
    keys = {site_key, site_key.replace(" ", ""), site_key.split(" ")[0]} - {""} if site_key else set()
    kept = [p for p in parts if _normal(p) not in keys and _normal(p).replace(" ", "") not in keys]
    if kept and len(kept) < len(parts) and len(kept) == 1:
        return kept[0]
    if loose:
        return max(parts, key=len)  # the headline is the longest part of "Site - Headline - Section"
    return title


def _choose_title(meta: PageMeta) -> None:
    """The visible headline (<h1>) when the page's <title> or metadata confirm it, else the
    most trusted metadata title, else the longest part of <title>, else the first <h1>."""
    found = meta.candidates.get("title", [])
    headings = [v for where, v in found if where == "h1"]
    others = [(where, v) for where, v in found if where != "h1"]
    confirmed = {_normal(v) for _, v in others}
    for where, value in others:
        confirmed.update(_normal(part) for part in title_segments(value))
        if where == "title":
            confirmed.add(_normal(_without_site(value, meta.source, loose=False)))
    for heading in headings:
        key = _normal(heading)
        if key and key in confirmed:
            meta.title, meta.sources["title"] = heading, "h1"
            return
    for where, value in others:
        meta.title, meta.sources["title"] = _without_site(value, meta.source, loose=where == "title"), where
        return
    if headings:
        meta.title, meta.sources["title"] = headings[0], "h1"


def _choose_published(meta: PageMeta) -> None:
    """The most trusted date that another source confirms (same day); else the most trusted.
    Pages sometimes carry one wrong stamp (a zone applied twice); two agreeing ones rarely are."""
    found = [(where, parse_date(value)) for where, value in meta.candidates.get("published", [])]
    for i, (where, moment) in enumerate(found):
        if any(j != i and other.date() == moment.date() for j, (_, other) in enumerate(found)):
            meta.published, meta.sources["published"] = moment.isoformat(), where
            return
