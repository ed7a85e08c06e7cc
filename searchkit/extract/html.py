"""HTML pages: the article's paragraphs without the page around it, plus its metadata.

The main text comes from trafilatura (the best open extractor we measured, see
bench/extract), cross-checked against the page's own JSON-LD `articleBody` where it has one:
paragraphs the publisher does not count as the article are dropped, and a page trafilatura
finds nothing on falls back to `articleBody`, then to the page's <article>/<main> paragraphs.
Leftovers trafilatura keeps (newsletter prompts, share lines, a repeated headline) are
stripped as in plain text. Metadata comes from htmlmeta.py; the published date falls back to
htmldate's page-wide search. trafilatura and htmldate are imported only when a page is read.
"""

from __future__ import annotations

import re
from typing import Iterator

from lxml import etree
from lxml import html as lxml_html

from ..article import Article
from ..errors import ExtractError
from .boilerplate import normal, strip_leftovers
from .encoding import decode
from .htmlmeta import PageMeta, read_meta
from .options import ExtractOptions

MAX_HTML = 20 * 1024 * 1024
_BLOCKS = ("p", "h2", "h3", "h4", "blockquote", "li")
_WORD = re.compile(r"\w+")


def parse(text: str) -> lxml_html.HtmlElement:
    """An lxml tree of the page; ExtractError for a page with nothing in it."""
    text = re.sub(r"^\s*<\?xml[^>]*>", "", text)  # lxml refuses str input with an encoding declaration
    try:
        return lxml_html.document_fromstring(text)
    except (etree.ParserError, ValueError) as exc:
        raise ExtractError(f"not an HTML page ({exc})") from None


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _tokens_inside(paragraph: str, reference: set[str]) -> float:
    words = _words(paragraph)
    return sum(w in reference for w in words) / len(words) if words else 0.0


def _split_article_body(body: str) -> list[str]:
    """JSON-LD articleBody paragraphs: on blank lines or line breaks if it has them."""
    pieces = re.split(r"\n\s*\n|\r?\n", body) if "\n" in body else [body]
    return [" ".join(p.split()) for p in pieces if p.strip()]


def _fallback_paragraphs(tree: lxml_html.HtmlElement) -> list[str]:
    """Block text inside <article> or <main>: for pages trafilatura finds nothing on."""
    for container in tree.xpath("//article | //main | //*[@itemprop='articleBody']"):
        found = [" ".join(el.text_content().split()) for el in container.iter(*_BLOCKS)]
        found = [p for p in found if len(p.split()) >= 3]
        if found:
            return found
    return []


_FURNITURE = ("//nav | //footer | //aside | //form | //noscript | //template"
              " | //*[@role='navigation' or @role='contentinfo' or @role='complementary' or @role='banner']"
              " | //*[@aria-hidden='true'] | //*[@hidden]")


def prune(tree: lxml_html.HtmlElement) -> None:
    """Remove what is page furniture by its markup: navigation, footers, asides, forms."""
    for element in tree.xpath(_FURNITURE):
        if element.getparent() is not None and element.tag not in ("html", "body"):
            element.drop_tree()


def main_text(tree: lxml_html.HtmlElement, meta: PageMeta, url: str) -> tuple[list[str], str]:
    """The article's paragraphs and the name of what produced them."""
    import trafilatura  # heavy: only when a page is extracted

    prune(tree)
    found = trafilatura.extract(tree, url=url or None, output_format="txt", include_comments=False,
                                include_tables=False, with_metadata=False, deduplicate=False)
    paragraphs = [" ".join(line.split()) for line in (found or "").split("\n") if line.strip()]
    extractor = "trafilatura"
    reference = meta.article_body
    if reference and len(_words(reference)) >= 50:
        words = set(_words(reference))
        kept = [p for p in paragraphs if _tokens_inside(p, words) >= 0.8]
        covered = set(w for p in kept for w in _words(p))
        if not kept or len(covered & words) < 0.6 * len(words):
            kept, extractor = _split_article_body(reference), "json-ld:articleBody"
        elif len(kept) < len(paragraphs):
            extractor = "trafilatura+json-ld:articleBody"
        paragraphs = kept
    if not paragraphs:
        paragraphs, extractor = _fallback_paragraphs(tree), "searchkit.html"
    return paragraphs, extractor


def _find_date(tree: lxml_html.HtmlElement, url: str) -> str:
    from htmldate import find_date  # heavy: only when the page states no date anywhere obvious

    try:
        return find_date(tree, url=url or None, original_date=True, outputformat="%Y-%m-%d") or ""
    except (ValueError, TypeError):
        return ""


def extract(data: bytes, origin: dict, options: ExtractOptions) -> Iterator[Article | ExtractError]:
    if len(data) > MAX_HTML:
        raise ExtractError(f"HTML page is {len(data) / 1e6:.0f} MB, over the {MAX_HTML // 2**20} MB limit")
    tree = parse(decode(data, options.charset or None))
    meta = read_meta(tree, options.url)
    paragraphs, extractor = main_text(tree, meta, meta.url)
    title = meta.title
    headings = [h for where, h in meta.candidates.get("title", []) if where == "h1"]
    paragraphs = [p for p in strip_leftovers(paragraphs, title)
                  if not any(normal(p) == normal(h) for h in headings)]
    if not paragraphs:
        raise ExtractError("no article text found in the page")
    published, date_source = meta.published, meta.sources.get("published", "")
    if not published:
        published = _find_date(tree, meta.url)
        date_source = "htmldate" if published else ""
    if not published and options.published:
        published, date_source = options.published, "fetched"
    sources = {**meta.sources, "published": date_source} if date_source else meta.sources
    yield Article(
        title=title,
        body="\n\n".join(paragraphs),
        url=meta.url,
        source=meta.source,
        author=meta.author,
        published=published or None,
        language=meta.language,
        tags=meta.tags,
        origin={**origin, "extractor": extractor,
                "metadata": ", ".join(f"{k}={v}" for k, v in sorted(sources.items()) if k != "article_body")},
    )


def fragment_paragraphs(markup: str) -> list[str]:
    """The paragraphs of an HTML fragment (a feed entry's content): block elements each one,
    line breaks inside them kept apart; entities decoded; scripts and styles dropped."""
    if "<" not in markup:
        return [" ".join(p.split()) for p in re.split(r"\n\s*\n", markup) if p.strip()]
    try:
        root = lxml_html.fragment_fromstring(markup, create_parent="div")
    except (etree.ParserError, ValueError):
        return [" ".join(markup.split())] if markup.strip() else []
    for bad in root.xpath("//script | //style | //noscript | //iframe | //form"):
        bad.drop_tree()
    for br in root.iter("br"):
        br.tail = "\n" + (br.tail or "")
    blocks = root.xpath(".//p | .//h1 | .//h2 | .//h3 | .//h4 | .//blockquote | .//li | .//pre")
    if not blocks:
        return [" ".join(p.split()) for p in root.text_content().split("\n") if p.strip()]
    paragraphs = []
    for block in blocks:
        if block.xpath("ancestor::p | ancestor::blockquote | ancestor::li"):
            continue  # its text is in the enclosing block already
        paragraphs += [" ".join(p.split()) for p in block.text_content().split("\n") if p.strip()]
    return paragraphs
