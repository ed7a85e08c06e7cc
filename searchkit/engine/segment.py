"""Read-only access to one segment's postings, lengths, columns and stored fields as arrays.

A SegmentReader is the only way above the engine to reach the bytes of an index: the
evaluator asks it for a term's postings (document numbers and frequencies), positions, a
field's lengths, a column, one document's stored fields. A Snapshot is the list of live
segments of one committed state, each with its document number offset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np


class SegmentReader:
    """One segment's arrays, read through today's files (arrays.SegmentCache)."""

    def __init__(self, reader, cache) -> None:
        self._reader = reader
        self._cache = cache
        self.segment_id: str = cache.key
        self.doc_count: int = cache.doc_count

    def deleted(self) -> np.ndarray:
        """A mask of the deleted documents (len doc_count)."""
        return self._cache.deleted(self._reader)

    def boost(self, field: str) -> float:
        """The field's boost: a posting's weight is float32(frequency x boost)."""
        return float(self._reader.schema[field].format.field_boost)

    def postings(self, field: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(document numbers int32, frequencies int32) of `term` in `field`, deleted included."""
        docs, weights, _ = self._cache.postings(self._reader, field, term)
        freqs = np.rint(weights / np.float32(self.boost(field))).astype(np.int32)
        return docs, freqs

    def positions(self, field: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(starts int64, flat int32): posting i's positions are flat[starts[i]:starts[i + 1]]."""
        docs, _, values = self._cache.postings(self._reader, field, term, values=True)
        if values is None:
            raise ValueError(f"field {field} has no positions")
        owner, flat = values.flat(np.arange(len(docs)))
        starts = np.searchsorted(owner, np.arange(len(docs) + 1)).astype(np.int64)
        return starts, flat.astype(np.int32)

    def doc_frequency(self, field: str, term: str) -> int:
        """How many documents (deleted included) contain the term."""
        return len(self._cache.postings(self._reader, field, term)[0])

    def field_length_total(self, field: str) -> int:
        """The sum of every document's length of the field (exact)."""
        return int(self._reader.field_length(field))

    def field_lengths(self, field: str) -> np.ndarray:
        """Each document's length of the field, as BM25F sees it (quantised, at least 1)."""
        return self._cache.lengths(self._reader, field)

    def terms(self, field: str, prefix: str = "") -> Iterator[str]:
        """The field's terms that start with `prefix`, sorted."""
        return (t.decode("utf-8") if isinstance(t, bytes) else t
                for t in self._reader.expand_prefix(field, prefix))

    def numbers(self, field: str) -> tuple[np.ndarray, np.ndarray]:
        """A numeric column as int64 values and a mask of documents with a value."""
        return self._cache.numbers(self._reader, field)

    def categories(self, field: str) -> tuple[np.ndarray, list[str]]:
        """A column of few distinct values as a code per document and each code's value."""
        return self._cache.categories(self._reader, field)

    def hashed(self, field: str) -> tuple[np.ndarray, dict[int, str]]:
        """A bytes column as hash(value) per document (hash(b"") when none), and names."""
        return self._cache.hashed(self._reader, field)

    def stored(self, docnum: int) -> dict:
        """The stored fields of one document."""
        return self._reader.stored_fields(docnum)


@dataclass
class Snapshot:
    """The live segments of one committed state, each with its global document offset."""

    segments: list[tuple[SegmentReader, int]]
    owner: object = None  # what keeps the segments' files open (the Index) while this lives

    @property
    def doc_count(self) -> int:
        return sum(r.doc_count for r, _ in self.segments)

    @property
    def live_count(self) -> int:
        return sum(r.doc_count - int(r.deleted().sum()) for r, _ in self.segments)

    @property
    def key(self) -> tuple:
        return tuple((r.segment_id, int(r.deleted().sum())) for r, _ in self.segments)
