"""Every article a search matches, for export: no page size and no collapsing of copies.

The CLI's `searchkit export` and the web's /api/export both write these, as JSON lines or
CSV, one article at a time, so an export of a whole archive never sits in memory as text.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from .article import Article
from .engine import tree as wq
from .engine.scoring import CorpusStats
from .query import ParsedQuery, parse
from .search import SORTS, _combine, _sources_filter, filter_query, rank_with_arrays
from .store import Index, doc_to_article

EXPORT_FORMATS = ("jsonl", "csv")
EXPORT_FIELDS = ("id", "url", "title", "body", "source", "author", "published", "language", "tags",
                 "license", "imported", "origin", "cluster")


def matching_articles(index: Index, text: str | None = None, *, since: str | datetime | None = None,
                      until: str | datetime | None = None, source: str | Sequence[str] | None = None,
                      sort: str | None = None, now: datetime | None = None) -> Iterator[Article]:
    """Every stored article that matches `text` (all of them without one) and the filters, as
    search() reads them, in `sort` order (default: relevance for a query, newest without; with
    no query, filter or sort at all: every article in index order).

    Near-duplicates are all there: an export is the data, not a page to read. Raises what
    search() raises for a bad query, date or sort.
    """
    if not (text or since or until or source or sort):
        yield from index.articles()  # everything, in index order: no search needed
        return
    sort = sort or ("relevance" if text else "newest")
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}: use one of {', '.join(SORTS)}")
    if getattr(index, "sharded", False):  # a shards.ShardedIndex merges its shards' matches
        yield from index.matching_articles(text, since=since, until=until, source=source, sort=sort, now=now)
        return
    with index.searcher() as searcher:
        for docnum, _ in ranked_matches(index, searcher, text, since=since, until=until, source=source,
                                        sort=sort, now=now):
            yield doc_to_article(searcher.stored_fields(docnum))


def ranked_matches(index: Index, searcher, text: str | None, *, since: str | datetime | None = None,
                   until: str | datetime | None = None, source: str | Sequence[str] | None = None,
                   sort: str = "relevance", now: datetime | None = None, stats: CorpusStats | None = None,
                   feedback: bool | dict[str, float] = True) -> list[tuple[int, float]]:
    """(docnum, score) of every article matching `text` (all without one) and the filters, in
    `sort` order, as matching_articles lists them; `stats` and `feedback` as search() takes
    them (a shard of a sharded index scores as the whole collection)."""
    dates = filter_query(since, until, None, now)
    if text:
        parsed = parse(text, searcher.schema, now=now, reader=index.arrays.words(searcher))
    else:
        parsed = ParsedQuery(text="", query=wq.Every())
    source_flt, _ = _sources_filter(searcher, source)
    flt = _combine([dates, source_flt, *parsed.filters])
    ranked = rank_with_arrays(index, searcher, parsed, flt, sort, max(1, searcher.doc_count_all()),
                              collapse=False, facets=False, stats=stats, feedback=feedback)
    return ranked.docs


def jsonl_lines(articles: Iterable[Article]) -> Iterator[str]:
    """One JSON object a line, every field (as `searchkit extract` prints them)."""
    for article in articles:
        yield json.dumps(article.to_dict(), ensure_ascii=False) + "\n"


def csv_lines(articles: Iterable[Article]) -> Iterator[str]:
    """A header and a row an article: EXPORT_FIELDS, tags comma-separated, origin as JSON."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, EXPORT_FIELDS)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writeheader()
    yield flush()
    for article in articles:
        data = article.to_dict()
        data["tags"] = ", ".join(data["tags"])
        data["origin"] = json.dumps(data["origin"], ensure_ascii=False)
        writer.writerow(data)
        yield flush()


def export_lines(articles: Iterable[Article], fmt: str) -> Iterator[str]:
    """The articles as `fmt` ("jsonl" or "csv") text, a line (or CSV record) at a time."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}")
    return jsonl_lines(articles) if fmt == "jsonl" else csv_lines(articles)
