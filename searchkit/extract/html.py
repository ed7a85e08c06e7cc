"""HTML pages: the article's paragraphs without the page around it, plus its metadata.

Each page is parsed once (lxml, with the parser settings trafilatura uses) and that one tree is
handed to every step: metadata (htmlmeta.py), JSON-LD, trafilatura, our cleanup, htmldate.

The main text comes from a fallback chain, so that a page where trafilatura finds text never
gets an empty body; the first step that gives text wins and the article's `origin["extractor"]`
names it (STEPS). trafilatura's default mode leads because it scores best of its three modes on
the development part of extraction-dev (bench/extract); its precision and recall modes follow,
then the page's JSON-LD `articleBody`, then the largest block of paragraph text.

Our own rules on top of trafilatura (RULES) each had to improve F1 on the held-out part of
extraction-dev to stay; docs/extraction.md lists what each is worth. ExtractOptions.rules
switches them off one at a time for that measurement. trafilatura and htmldate are imported
only when a page is read.
"""

from __future__ import annotations

import re
from typing import Iterator

from lxml import etree
from lxml import html as lxml_html

from ..article import Article, parse_date
from ..errors import ExtractError
from .boilerplate import normal, strip_leftovers
from .encoding import decode, repair_mojibake
from .htmlmeta import PageMeta, read_meta
from .options import ExtractOptions

MAX_HTML = 20 * 1024 * 1024
_BLOCKS = ("p", "h2", "h3", "h4", "blockquote", "li")

# trafilatura's own parser settings: it gets the tree it would have built itself. The page goes
# to lxml as UTF-8 bytes (the encoding stated, so that a <meta charset> in it cannot override
# ours): cheaper to parse than a str, and control characters lxml refuses are deleted from bytes
# in one C pass (a regex over the str cost a third of the parse).
_PARSER = lxml_html.HTMLParser(collect_ids=False, default_doctype=False, remove_comments=True, remove_pis=True,
                               encoding="utf-8")
_INVALID_XML = bytes(range(0x00, 0x09)) + b"\x0b\x0c" + bytes(range(0x0e, 0x20))  # one byte each in UTF-8

# The fallback chain: (name in origin["extractor"], trafilatura settings); None = not trafilatura.
STEPS: tuple[tuple[str, dict | None], ...] = (
    ("trafilatura", {}),
    ("trafilatura:precision", {"favor_precision": True}),
    ("trafilatura:recall", {"favor_recall": True}),
    ("json-ld:articleBody", None),
    ("searchkit:paragraphs", None),
)
# Our own rules on top of trafilatura. Each one raised F1 on the held-out part of extraction-dev; six more that did not were removed
# (pruning furniture markup before trafilatura, the JSON-LD articleBody cross-check, bylines,
# "source:" lines, link-only teasers, "read more" lists), and a seventh that did (+0.0007, our
# own densest-block extractor) cost a tenth of trafilatura's time: see docs/extraction.md.
RULES = frozenset({"leftovers", "headline", "credit", "dateline", "standfirst"})


def parse(text: str) -> lxml_html.HtmlElement:
    """An lxml tree of the page (the only parse of it); ExtractError for a page with nothing in it."""
    text = re.sub(r"^\s*<\?xml[^>]*>", "", text)  # its encoding= is not the one of our UTF-8
    data = text.encode("utf-8", "replace").translate(None, _INVALID_XML)
    try:
        return lxml_html.document_fromstring(data, parser=_PARSER)
    except (etree.ParserError, ValueError) as exc:
        raise ExtractError(f"not an HTML page ({exc})") from None


def _split_article_body(body: str) -> list[str]:
    """JSON-LD articleBody paragraphs: on blank lines or line breaks if it has them."""
    pieces = re.split(r"\n\s*\n|\r?\n", body) if "\n" in body else [body]
    return [" ".join(p.split()) for p in pieces if p.strip()]


def largest_block(tree: lxml_html.HtmlElement) -> list[str]:
    """The paragraphs of the element holding the most paragraph text: the chain's last step,
    for pages none of trafilatura's modes finds anything on."""
    words: dict[lxml_html.HtmlElement, int] = {}
    for block in tree.iter(*_BLOCKS):
        parent = block.getparent()
        if parent is not None:
            words[parent] = words.get(parent, 0) + len(block.text_content().split())
    if not words:
        return []
    best = max(words, key=words.get)
    found = [" ".join(el.text_content().split()) for el in best.iter(*_BLOCKS)
             if not el.xpath("ancestor::p | ancestor::li | ancestor::blockquote")]
    return [p for p in found if p]


def _lines(found: str | None) -> list[str]:
    """trafilatura's text as paragraphs; a table row ("| a | b |") without its outer bars."""
    lines = (" ".join(line.split()).removeprefix("| ").removesuffix(" |") for line in (found or "").split("\n"))
    return [line for line in lines if line.strip("| ")]


def _trafilatura(tree: lxml_html.HtmlElement, url: str, settings: dict) -> list[str]:
    import trafilatura  # heavy: only when a page is extracted

    # extract() works on its own copy of the tree (no second parse); benchmark settings otherwise.
    return _lines(trafilatura.extract(tree, url=url or None, include_comments=False, with_metadata=False,
                                      deduplicate=False, **settings))


def main_text(tree: lxml_html.HtmlElement, meta: PageMeta, url: str,
              rules: frozenset[str] = RULES) -> tuple[list[str], str]:
    """The article's paragraphs and the name of the step (STEPS) or rule that produced them."""
    paragraphs, step = [], ""
    for step, settings in STEPS:
        if settings is not None:
            paragraphs = _trafilatura(tree, url, settings)
        elif step == "json-ld:articleBody":
            paragraphs = _split_article_body(meta.article_body)
        else:
            paragraphs = largest_block(tree)
        if paragraphs:
            break
    return paragraphs, step


_CREDIT = re.compile(r"(?:^|[\s.(])(?:foto|photo|photograph|bild|image|picture|credit|illustration|crédit photo)s?\s*:"
                     r"\s*[^.!?]{2,80}\)?$|(?:记者|摄影)[^。]{0,20}摄\s*$", re.I)


_YEAR = re.compile(r"\d{4}")


def _is_date_line(paragraph: str) -> bool:
    """"October 22, 2019", "10 April 2020", "October 22, 2019 report": a dateline, not text."""
    words = paragraph.split(None, 6)  # seven pieces: more than six words (and no long split)
    if len(words) > 6 or not _YEAR.search(paragraph):
        return False  # every written-out date parse_date reads has a four-digit year
    for candidate in (paragraph, " ".join(words[:-1])):
        try:
            if candidate and parse_date(candidate):
                return True
        except (ValueError, OverflowError):
            continue
    return False


def _is_furniture(paragraph: str, rules: frozenset[str]) -> bool:
    """A photo credit or a dateline standing as a paragraph of its own."""
    text = paragraph.lstrip("-•* ")
    return (("credit" in rules and len(text.split(None, 30)) <= 30 and bool(_CREDIT.search(text)))
            or ("dateline" in rules and _is_date_line(text)))


def tidy(paragraphs: list[str], tree: lxml_html.HtmlElement, meta: PageMeta,
         rules: frozenset[str] = RULES) -> list[str]:
    """Drop what an extractor kept of the page around the article (leftover lines, a repeated
    headline, photo credits, datelines) and put back a standfirst it dropped (the page's
    description, shown as a paragraph of the page)."""
    if "leftovers" in rules:
        paragraphs = strip_leftovers(paragraphs, meta.title)
    headings = {normal(h) for where, h in meta.candidates.get("title", []) if where == "h1"} \
        if "headline" in rules else set()
    # A paragraph that normalises to a heading holds that heading's longest word in its lower-cased
    # text: a test far cheaper than normal() on every paragraph.
    words = {max(h.split(" "), key=len) for h in headings}
    kept = [p for p in paragraphs if not (words and _repeats(p, words, headings)) and not _is_furniture(p, rules)]
    return _with_standfirst(kept, tree, meta.description) if "standfirst" in rules else kept


def _repeats(paragraph: str, words: set[str], keys: set[str]) -> bool:
    """normal(paragraph) is one of `keys`; `words` holds the longest word of each."""
    lower = paragraph.lower()
    return any(word in lower for word in words) and normal(paragraph) in keys


_STANDFIRST_AT = etree.XPath("(//body//h2 | //body//p | //body//div[not(*)] | //body//span[not(*)])"
                             "[string-length(.) >= $least]")


def _with_standfirst(paragraphs: list[str], tree: lxml_html.HtmlElement, description: str) -> list[str]:
    key = normal(description)
    if not paragraphs or key.count(" ") < 7 or key in normal(" ".join(paragraphs[:3])):
        return paragraphs
    words = {max(key.split(" "), key=len)}
    for element in _STANDFIRST_AT(tree, least=len(key) // 2):  # shorter text cannot normalise to key
        text = element.text_content()
        if _repeats(text, words, {key}):
            return [" ".join(text.split())] + paragraphs
    return paragraphs


def _find_date(tree: lxml_html.HtmlElement, url: str) -> str:
    """htmldate on the page's markup (extensive_search=False: its free-text search costs more than
    all of trafilatura on a page and found 4% more dates on the development part)."""
    from htmldate import find_date  # heavy: only when the page states no date anywhere obvious

    try:
        return find_date(tree, url=url or None, original_date=True, outputformat="%Y-%m-%d",
                         extensive_search=False) or ""
    except (ValueError, TypeError):
        return ""


def extract(data: bytes, origin: dict, options: ExtractOptions) -> Iterator[Article | ExtractError]:
    if len(data) > MAX_HTML:
        raise ExtractError(f"HTML page is {len(data) / 1e6:.0f} MB, over the {MAX_HTML // 2**20} MB limit")
    rules = RULES if options.rules is None else options.rules
    # Mojibake is repaired in the strings the article keeps, not over the whole page (cheaper).
    text = decode(data, options.charset or None, repair=False)
    tree = parse(text)
    meta = read_meta(tree, options.url)
    found, extractor = main_text(tree, meta, meta.url, rules)
    # Cleanup never empties a body: if it would, the extractor's paragraphs stay as they were.
    paragraphs = tidy(found, tree, meta, rules) or found
    if not paragraphs and not tree.text_content().strip():
        paragraphs, extractor = markup_text(text), "searchkit:markup"  # a tree lxml could not build
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
        title=repair_mojibake(meta.title),
        body=repair_mojibake("\n\n".join(paragraphs)),
        url=meta.url,
        source=repair_mojibake(meta.source),
        author=repair_mojibake(meta.author),
        published=published or None,
        language=meta.language,
        tags=[repair_mojibake(tag) for tag in meta.tags],
        origin={**origin, "extractor": extractor,
                **({"modified": parse_date(meta.modified).isoformat()} if meta.modified else {}),
                "metadata": ", ".join(f"{k}={v}" for k, v in sorted(sources.items())
                                      if k not in ("article_body", "description"))},
    )


_INVISIBLE = re.compile(r"<(script|style|noscript|template|head)\b.*?</\1\s*>", re.I | re.S)
_BLOCK_TAG = re.compile(r"</?(?:p|div|h[1-6]|li|br|tr|blockquote|article|section|pre)\b[^>]*>", re.I)
_ANY_TAG = re.compile(r"<[^>]*>")


def markup_text(text: str) -> list[str]:
    """Paragraphs of a page read as tagged text, for markup too deep or broken for a parser:
    block tags end a paragraph, other tags are dropped, entities decoded."""
    from html import unescape

    text = _ANY_TAG.sub(" ", _BLOCK_TAG.sub("\n", _INVISIBLE.sub(" ", text)))
    lines = (" ".join(unescape(line).split()) for line in text.split("\n"))
    return [line for line in lines if line]


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
