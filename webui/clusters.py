"""The other matching copies of a near-duplicate cluster, for a result's "N similar" list.

searchkit.search shows each cluster once (its best match); this lists the cluster's other
articles that match the query, so "N similar" expands without a new search. It counts them
itself rather than trusting Hit.cluster_size, which undercounts when the best copy is not the
first one Whoosh's collapsing met (its collapsed_counts skip a replaced document).
"""

from __future__ import annotations

from whoosh import query as wq

from searchkit.query import QueryError, parse
from searchkit.search import Hit, make_hit
from searchkit.store import Index

MAX_COPIES = 20


def cluster_copies(index: Index, hit: Hit, text: str, limit: int = MAX_COPIES) -> list[Hit]:
    """The articles of `hit`'s cluster, other than `hit`, that match the query `text`,
    newest first, with their titles and snippets highlighted."""
    with index.searcher() as searcher:
        if not hit.cluster or searcher.doc_frequency("cluster", hit.cluster) < 2:
            return []  # a cluster of one: no copies (a cheap term lookup, no search)
        try:
            parsed = parse(text, searcher.schema, reader=searcher.reader())
        except QueryError:
            return []
        q = wq.And([parsed.query, wq.Term("cluster", hit.cluster), *parsed.filters])
        results = searcher.search(q, limit=limit + 1, sortedby="published", reverse=True)
        docs = [r.docnum for r in results if r["id"] != hit.id][:limit]
        return [make_hit(searcher, docnum, 0.0, rank, parsed) for rank, docnum in enumerate(docs, 1)]
