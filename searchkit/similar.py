"""More like this: articles similar to a given one, its own near-duplicate cluster left out.

An article's key terms are the words that are frequent in it and rare in the index
(Whoosh's Bo1 model over its title and body); the similar articles are the best BM25F
matches for those terms, one per near-duplicate cluster, never the article's own cluster
(a syndicated copy is not "similar", it is the same story).
"""

from __future__ import annotations

from whoosh import query as wq

from .engine import rank as ranking
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
    limit = max(1, min(int(limit), 100))
    with index.searcher() as searcher:
        docnum = searcher.document_number(id=article_id)
        if docnum is None:
            raise ArticleNotFoundError(f"no article with id {article_id!r}: check the id with `searchkit query`")
        fields = searcher.stored_fields(docnum)
        text = "\n".join([fields.get("title") or ""] * TITLE_WEIGHT + [fields.get("body") or ""])
        terms = searcher.key_terms_from_text("body", text, numterms=KEY_TERMS)
        if not terms:
            return []
        q = wq.Or([wq.Term(name, term, boost=weight) for term, weight in terms for name in ("title", "body")])
        own = wq.Or([wq.Term("cluster", fields.get("cluster") or article_id), wq.Term("id", article_id)])
        ranked = ranking.rank(searcher, index.arrays, None, ranking.Boosts(0.0, 0, 0.0, 0, 0, False),
                              flt=wq.Not(own), sort="relevance", start=0, stop=limit, collapse=True,
                              facets=False, tree=q)
        return [make_hit(searcher, docnum, score, rank, None, cluster_size=ranked.cluster_sizes.get(docnum, 1))
                for rank, (docnum, score) in enumerate(ranked.docs, 1)]
