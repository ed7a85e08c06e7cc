"""searchkit's engine: the index format, its Whoosh codec, segment reading and writing,
scoring, and the evaluation of queries over posting arrays.

Nothing above this package reads segment files: search code asks a SegmentReader
(engine.segment) for arrays. Every ranking constant and formula is in engine.scoring.
"""

from .scoring import CorpusStats
from .stats import collect_stats

__all__ = ["CorpusStats", "collect_stats"]
