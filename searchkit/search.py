"""Run a query: ranking (all words first, then BM25F), filters, sort, paging, snippets."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from whoosh import query as wq
from whoosh import scoring

from .article import parse_date
from .query import QueryError, parse
from .snippets import Fragment, highlight, render_html, snippet
from .store import Index, _aware, _naive_utc

SORTS = ("relevance", "newest", "oldest")
MAX_LIMIT = 100
MAX_PAGE = 1_000


def weighting() -> scoring.WeightingModel:
    """BM25F; field weights come from the schema (title boosted)."""
    return scoring.BM25F(B=0.75, K1=1.2)


@dataclass
class Hit:
    """One ranked result."""

    rank: int
    id: str
    url: str
    title: str
    source: str
    author: str
    published: datetime | None
    score: float
    fragments: list[Fragment] = field(default_factory=list)
    title_fragments: list[Fragment] = field(default_factory=list)

    @property
    def snippet(self) -> str:
        return render_html(self.fragments)

    @property
    def title_html(self) -> str:
        return render_html(self.title_fragments or [(self.title, False)])

    def to_dict(self) -> dict:
        return {
            "rank": self.rank, "id": self.id, "url": self.url, "title": self.title,
            "source": self.source, "author": self.author,
            "published": self.published.isoformat() if self.published else None,
            "score": round(self.score, 4), "snippet": self.snippet,
        }


@dataclass
class SearchResult:
    """A page of hits for a query, with the total and any notice about how it was read."""

    query: str
    hits: list[Hit]
    total: int
    page: int
    limit: int
    elapsed_ms: float
    notice: str = ""

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.limit))

    def to_dict(self) -> dict:
        return {
            "query": self.query, "total": self.total, "page": self.page, "limit": self.limit,
            "pages": self.pages, "elapsed_ms": round(self.elapsed_ms, 1), "notice": self.notice,
            "hits": [h.to_dict() for h in self.hits],
        }


def _filters(since: str | datetime | None, until: str | datetime | None, source: str | None) -> wq.Query | None:
    parts: list[wq.Query] = []
    if since or until:
        start = _naive_utc(parse_date(since)) if since else None
        end = _naive_utc(parse_date(until)) if until else None
        if end and isinstance(until, str) and len(until.strip()) == 10:  # a bare date: the whole day
            end = end.replace(hour=23, minute=59, second=59, microsecond=999999)
        parts.append(wq.DateRange("published", start, end))
    if source:
        parts.append(wq.Term("source_key", source))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else wq.And(parts)


def search(index: Index, text: str, *, limit: int = 10, page: int = 1, sort: str = "relevance",
           since: str | datetime | None = None, until: str | datetime | None = None,
           source: str | None = None, snippet_chars: int = 300) -> SearchResult:
    """Ranked, highlighted results for `text`. Raises QueryError for an empty query and
    ValueError for a bad date or sort; any other text is a valid query."""
    started = time.perf_counter()
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}: use one of {', '.join(SORTS)}")
    limit = max(1, min(int(limit), MAX_LIMIT))
    page = max(1, min(int(page), MAX_PAGE))
    with index.searcher() as searcher:
        parsed = parse(text, searcher.schema)
        flt = _filters(since, until, source)
        wanted = page * limit
        if sort != "relevance":
            results = searcher.search(parsed.query, limit=wanted, filter=flt,
                                      sortedby="published", reverse=(sort == "newest"))
            docs = [(hit.docnum, hit.score or 0.0) for hit in results]
            total = len(results)
        elif parsed.all_words is not None:
            # Articles with every word first (by score), then the rest (by score).
            first = searcher.search(parsed.all_words, limit=wanted, filter=flt)
            docs = [(hit.docnum, hit.score) for hit in first]
            total = len(first)
            mask = parsed.all_words
            rest = searcher.search(parsed.query, limit=max(1, wanted - len(docs)), filter=flt, mask=mask)
            if len(docs) < wanted:
                docs += [(hit.docnum, hit.score) for hit in rest]
            total += len(rest)
        else:
            results = searcher.search(parsed.query, limit=wanted, filter=flt)
            docs = [(hit.docnum, hit.score) for hit in results]
            total = len(results)
        hits = []
        for rank, (docnum, score) in enumerate(docs[(page - 1) * limit:wanted], (page - 1) * limit + 1):
            fields = searcher.stored_fields(docnum)
            hits.append(Hit(
                rank=rank, id=fields["id"], url=fields.get("url") or "", title=fields.get("title") or "",
                source=fields.get("source") or "", author=fields.get("author") or "",
                published=_aware(fields.get("published")), score=float(score),
                fragments=snippet(fields.get("body") or "", parsed.stems, snippet_chars),
                title_fragments=highlight(fields.get("title") or "", parsed.stems),
            ))
    return SearchResult(text, hits, total, page, limit, (time.perf_counter() - started) * 1000, parsed.notice)


__all__ = ["Hit", "SearchResult", "search", "weighting", "QueryError", "SORTS"]
