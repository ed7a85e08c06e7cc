"""The other matching copies of a near-duplicate cluster, for a result's "N similar" list.

searchkit.search shows each cluster once (its best match) and counts its matching articles in
Hit.cluster_size; this lists the others, so "N similar" expands without a new search.
"""

from __future__ import annotations

from whoosh import query as wq

from searchkit.errors import SearchkitError
from searchkit.query import QueryError, parse
from searchkit.search import Hit, filter_query, make_hit
from searchkit.store import Index

MAX_COPIES = 20


def cluster_copies(index: Index, hits: list[Hit], text: str, since: str | None = None, until: str | None = None,
                   source: str | None = None, limit: int = MAX_COPIES) -> dict[str, list[Hit]]:
    """For each hit with copies: hit id -> the other articles of its cluster that match the
    query `text` and the since/until/source filters, newest first, highlighted. One searcher for the page, none when no hit has
    copies."""
    copies: dict[str, list[Hit]] = {}
    clustered = [h for h in hits if h.cluster_size > 1 and h.cluster]
    if not clustered:
        return copies
    if getattr(index, "sharded", False):  # a cluster's copies all live on its shard (shards.py)
        for shard, group in index.group_by_cluster_shard(clustered).items():
            try:
                copies.update(cluster_copies(index.shard(shard), group, text, since, until, source, limit))
            except SearchkitError:
                continue  # a shard this process cannot read: the hit shows without its copies
        return copies
    page_filter = [f for f in [filter_query(since, until, source)] if f is not None]
    with index.searcher() as searcher:
        try:
            parsed = parse(text, searcher.schema, reader=searcher.reader())
        except QueryError:
            return copies
        for hit in clustered:
            q = wq.And([parsed.query, wq.Term("cluster", hit.cluster), *parsed.filters, *page_filter])
            results = searcher.search(q, limit=limit + 1, sortedby="published", reverse=True)
            docs = [r.docnum for r in results if r["id"] != hit.id][:limit]
            if docs:
                copies[hit.id] = [make_hit(searcher, d, 0.0, rank, parsed) for rank, d in enumerate(docs, 1)]
    return copies
