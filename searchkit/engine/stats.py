"""Collection statistics of one index for a query's terms (the DFS step of a sharded search).

    shards = [collect_stats(index, text) for index in shard_indexes]   # on each shard
    total = CorpusStats.merge(shards)                                    # summed
    search(index, text, stats=total)                                     # on each shard

A term a shard's lexicon lacks (a wildcard expanded differently there) has frequency 0
in that shard, so the sum of every shard's own collection is the whole collection's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterable

from .scoring import CorpusStats


def snapshot_stats(snapshot, terms: Iterable[tuple[str, str]], fields: Iterable[str] = ()) -> CorpusStats:
    """The document count, the total length of `fields` and of the terms' fields, and the
    terms' document frequencies (deleted documents counted, as the postings hold them),
    read from a Snapshot's segments."""
    terms = set(terms)
    names = set(fields) | {name for name, _ in terms}
    segments = [reader for reader, _ in snapshot.segments]
    lengths = {name: sum(r.field_length_total(name) for r in segments) for name in sorted(names)}
    df = {(name, text): sum(r.doc_frequency(name, text) for r in segments) for name, text in terms}
    return CorpusStats(sum(r.doc_count for r in segments), lengths, df)


def stats_for_terms(searcher, terms: Iterable[tuple[str, str]]) -> CorpusStats:
    """The document count, every scorable field's total length and the given (field,
    term)s' document frequencies in the index a Whoosh searcher reads."""
    schema = searcher.schema
    lengths = {name: int(searcher.field_length(name)) for name in schema.names() if schema[name].scorable}
    df = {}
    for name, text in set(terms):
        if name in schema:
            df[(name, text)] = int(searcher.doc_frequency(name, text))
    return CorpusStats(int(searcher.doc_count_all()), lengths, df)


def collect_stats(index, text: str, now: datetime | None = None) -> CorpusStats:
    """The statistics of `index` that scoring `text` (the query language) there reads.

    An empty or unreadable query gives the statistics with no terms (still summable).
    """
    from ..query import QueryError, parse
    from .evaluate import query_terms

    with index.searcher() as searcher:
        try:
            words = index.arrays.words(searcher)
            parsed = parse(text, searcher.schema, now=now, reader=words)
        except QueryError:
            return stats_for_terms(searcher, [])
        return stats_for_terms(searcher, query_terms(parsed.query, searcher.reader(), words))
