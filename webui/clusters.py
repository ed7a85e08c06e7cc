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


def cluster_copies(index: Index, hits: list[Hit], text: str, limit: int = MAX_COPIES) -> dict[str, list[Hit]]:
    """For each hit with copies: hit id -> the other articles of its cluster that match the
    query `text`, newest first, highlighted. One searcher for the page; a hit whose cluster
    has one article costs a term lookup, no search."""
    copies: dict[str, list[Hit]] = {}
    with index.searcher() as searcher:
        clustered = [h for h in hits if h.cluster and searcher.doc_frequency("cluster", h.cluster) > 1]
        if not clustered:
            return copies
        try:
            parsed = parse(text, searcher.schema, reader=searcher.reader())
        except QueryError:
            return copies
        for hit in clustered:
            q = wq.And([parsed.query, wq.Term("cluster", hit.cluster), *parsed.filters])
            results = searcher.search(q, limit=limit + 1, sortedby="published", reverse=True)
            docs = [r.docnum for r in results if r["id"] != hit.id][:limit]
            if docs:
                copies[hit.id] = [make_hit(searcher, d, 0.0, rank, parsed) for rank, d in enumerate(docs, 1)]
    return copies
