"""The query tree: the nodes a parsed query is made of, which evaluate.py evaluates.

The nodes are Whoosh's query classes, so that a tree searchkit builds also runs on Whoosh's own
Searcher (tests/test_engine_format.py); FieldsTerm (one word in several fields, evaluate.py) and
Boosted (a subtree's scores scaled) are searchkit's. Modules outside the engine build and walk
trees through these names and never import Whoosh themselves.
"""

from __future__ import annotations

from whoosh.query import (And, AndNot, BinaryQuery, CompoundQuery, DateRange, Every, FuzzyTerm, MultiTerm,
                          Not, NullQuery, Or, Phrase, Prefix, Query, Term, Wildcard)
from whoosh.query.spans import SpanNear2
from whoosh.query.wrappers import WrappingQuery

from .evaluate import FieldsTerm


class Boosted(WrappingQuery):
    """A query whose scores are multiplied by `boost` (Whoosh's span queries have no boost)."""

    def __init__(self, child: Query, boost: float = 1.0) -> None:
        self.child = child
        self.boost = boost

    def _rewrap(self, child: Query) -> "Boosted":
        return self.__class__(child, self.boost)

    def with_boost(self, boost: float) -> "Boosted":
        return self.__class__(self.child, boost)


# Every node that has children (walk these to visit a whole tree).
PARENTS = (CompoundQuery, BinaryQuery, Not, WrappingQuery)

__all__ = ["And", "AndNot", "BinaryQuery", "Boosted", "CompoundQuery", "DateRange", "Every", "FieldsTerm",
           "FuzzyTerm", "MultiTerm", "Not", "NullQuery", "Or", "PARENTS", "Phrase", "Prefix", "Query",
           "SpanNear2", "Term", "Wildcard", "WrappingQuery"]
