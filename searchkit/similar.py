"""More like this: articles similar to a given one, its own near-duplicate cluster left out.

An article's key terms are the words that are frequent in it and rare in the index
(Whoosh's Bo1 model over its title and body); the similar articles are the best BM25F
matches for those terms, one per near-duplicate cluster, never the article's own cluster
(a syndicated copy is not "similar", it is the same story).
"""

from __future__ import annotations

from .engine import rank as ranking
from .engine import tree as wq
from .errors import SearchkitError
from .search import Hit, make_hit
from .store import Index

KEY_TERMS = 15
TITLE_WEIGHT = 2  # the headline's words count twice when picking key terms


class ArticleNotFoundError(SearchkitError):
    """There is no article with the id asked for."""


def similar(index: Index, article_id: str, limit: int = 5) -> list[Hit]:
    """Up to `limit` articles most like `article_id`, best first, one per cluster.

    Raises ArticleNotFoundError if the index has no such article.
    """
    sharded = getattr(index, "similar_shards", None)  # a shards.ShardedIndex asks its shards
    if sharded is not None:
        return sharded(article_id, limit)
    with index.searcher() as searcher:
        docnum = searcher.document_number(id=article_id)
        if docnum is None:
            raise ArticleNotFoundError(f"no article with id {article_id!r}: check the id with `searchkit query`")
        fields = searcher.stored_fields(docnum)
        terms = searcher.key_terms_from_text("body", key_text(fields), numterms=KEY_TERMS)
        return similar_to(index, searcher, fields, terms, limit)


def key_text(fields: dict) -> str:
    """The text an article's key terms are picked from: its headline (TITLE_WEIGHT times) and body."""
    return "\n".join([fields.get("title") or ""] * TITLE_WEIGHT + [fields.get("body") or ""])


def similar_to(index: Index, searcher, fields: dict, terms: list[tuple[str, float]], limit: int = 5,
               stats=None) -> list[Hit]:
    """The best matches in `index` for an article's key `terms` ((term, weight), as Whoosh's
    key_terms_from_text gives them), one per cluster, never the article's own cluster;
    `fields` are the article's stored fields, which may live in another index (a shard of
    the same sharded index, scoring with the whole collection's `stats`)."""
    limit = max(1, min(int(limit), 100))
    article_id = fields["id"]
    if not terms:
        return []
    q = wq.Or([wq.Term(name, term, boost=weight) for term, weight in terms for name in ("title", "body")])
    own = wq.Or([wq.Term("cluster", fields.get("cluster") or article_id), wq.Term("id", article_id)])
    ranked = ranking.rank(searcher, index.arrays, None, ranking.Boosts(0.0, 0, False, False),
                          flt=wq.Not(own), sort="relevance", start=0, stop=limit, collapse=True,
                          facets=False, tree=q, stats=stats)
    return [make_hit(searcher, docnum, score, rank, None, cluster_size=ranked.cluster_sizes.get(docnum, 1))
            for rank, (docnum, score) in enumerate(ranked.docs, 1)]
