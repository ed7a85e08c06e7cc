"""searchkit's search engine: scoring, evaluation of queries over posting arrays, top-k.

The only package that imports Whoosh (the index container and the query parser's trees).
"""

from .scoring import CorpusStats
from .stats import collect_stats

__all__ = ["CorpusStats", "collect_stats"]
