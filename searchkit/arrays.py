"""The array ranker's view of an index (ranking.py), over engine.segment.SegmentReader.

A thin shim kept while ranking.py moves to the engine's SegmentReader: SegmentCache offers
the methods ranking.py calls (postings with weights, lengths, columns, deletions) and
ArrayCache one SegmentCache per live segment of a Whoosh searcher, plus a bounded cache of
decoded posting lists and of index-wide values. Nothing here reads a file: SegmentReader does.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from .engine.evaluate import SegmentWords
from .engine.format import PositionBatch
from .engine.segment import SegmentFiles, SegmentReader

# Bytes of decoded posting lists an ArrayCache keeps (least recently used dropped first).
POSTINGS_BUDGET = 256 * 1024 * 1024


class FlatPositions:
    """A term's postings' positions: flat(rows) gives (owner, position) for every position of
    the postings `rows` (owner = index in rows), sorted; only those postings are decoded."""

    __slots__ = ("_place", "_freqs", "_index")

    def __init__(self, place: tuple | None, freqs: np.ndarray) -> None:
        """place: (the field's terms, the term's number) as SegmentReader.term_postings
        gives it, or None; freqs: the term's postings' frequencies."""
        self._place, self._freqs = place, freqs
        self._index = None  # (terms, number, each posting's first position), on first use

    def nbytes(self) -> int:
        return 0 if self._index is None else self._index[2].nbytes

    def index(self):
        """What SegmentReader.position_index gives, worked out from the frequencies the
        postings came with (no second look-up or read of them), None without the term."""
        if self._index is None and self._place is not None:
            starts = np.zeros(len(self._freqs) + 1, dtype=np.int64)
            np.cumsum(self._freqs, out=starts[1:])
            self._index = (*self._place, starts)
            self._freqs = None
        return self._index

    def flat(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return flat_together([(self, rows)])[0]

    def read(self, batch: PositionBatch, rows: np.ndarray) -> np.ndarray:
        """Add the positions of the postings `rows` (ascending) to `batch`, to be decoded with
        its other reads (PositionBatch.keys); returns how many each posting has."""
        index = self.index()
        if index is None:  # no such term: no postings, no positions
            none = np.zeros(len(rows), dtype=np.int64)
            return batch.add((none, np.zeros(0, dtype=np.uint8), none))
        terms, number, starts = index
        return batch.add(terms.position_runs(number, starts, rows))


def flat_together(wanted: list[tuple[FlatPositions, np.ndarray]]) -> list[tuple[np.ndarray, np.ndarray]]:
    """positions.flat(rows) for each (positions, rows) of `wanted`, the terms of one field of
    one segment decoded together (format positions_of_terms)."""
    empty = np.zeros(0, dtype=np.int64)
    out: list = [(empty, empty)] * len(wanted)
    groups: dict[int, list] = {}
    for k, (positions, rows) in enumerate(wanted):
        index = positions.index()
        if index is not None:
            groups.setdefault(id(index[0]), []).append((k, index, np.asarray(rows, dtype=np.int64)))
    for items in groups.values():
        found = items[0][1][0].positions_of_terms([(number, starts, rows) for _, (_, number, starts), rows in items])
        for (k, _, _), flat in zip(items, found):
            out[k] = flat
    return out


# (segment docnums int32, weights float32, positions or None), in docnum order.
Postings = tuple[np.ndarray, np.ndarray, "FlatPositions | None"]


def _weights(freqs: np.ndarray, boost: float) -> np.ndarray:
    """float32(frequency x boost) of each posting. A boost a float32 holds exactly gives the
    same bits multiplied in float32 (a frequency is an integer below 2**24: the product is
    rounded once either way), without a float64 array of every posting in between."""
    if float(np.float32(boost)) != boost or (len(freqs) and int(freqs.max()) >= 1 << 24):
        return (freqs * boost).astype(np.float32)
    weights = freqs.astype(np.float32)
    if boost != 1.0:
        weights *= np.float32(boost)
    return weights


class SegmentCache:
    """One segment's arrays for ranking.py (the `reader` arguments are not used any more)."""

    def __init__(self, key: str, segment: SegmentReader, shared: "ArrayCache") -> None:
        self.key = key
        self.segment = segment
        self.doc_count = segment.doc_count
        self._shared = shared

    def postings(self, reader, fieldname: str, text: str, values: bool = False) -> Postings:
        return self._shared.postings(self.key, self.segment, fieldname, text)

    def lengths(self, reader, fieldname: str) -> np.ndarray:
        return self.segment.field_lengths(fieldname)

    def numbers(self, reader, fieldname: str) -> tuple[np.ndarray, np.ndarray]:
        return self.segment.numbers(fieldname)

    def categories(self, reader, fieldname: str) -> tuple[np.ndarray, list[str]]:
        return self.segment.categories(fieldname)

    def hashed_at(self, reader, fieldname: str, docs: np.ndarray) -> np.ndarray:
        return self.segment.hashed_at(fieldname, docs)

    def hashed(self, reader, fieldname: str) -> tuple[np.ndarray, dict[int, str]]:
        return self.segment.hashed(fieldname)

    def deleted(self, reader) -> np.ndarray:
        return self.segment.deleted()


class ArrayCache:
    """One SegmentCache per live segment, by segment id (thread-safe; owned by an Index)."""

    def __init__(self, budget: int = POSTINGS_BUDGET) -> None:
        self._files: dict[str, SegmentFiles] = {}
        self._lock = threading.Lock()
        self._budget = budget
        self._postings: OrderedDict[tuple[str, str, str], tuple[Postings, int]] = OrderedDict()
        self._size = 0
        self._wide: dict[str, tuple[tuple, object]] = {}  # index_wide: name -> (key, value)
        self._wide_asked: dict[str, tuple] = {}  # name -> the key asked once

    def postings(self, key: str, segment: SegmentReader, fieldname: str, text: str) -> Postings:
        def read() -> Postings:
            docs, freqs, place = segment.term_postings(fieldname, text)
            return docs, _weights(freqs, segment.boost(fieldname)), FlatPositions(place, freqs)

        # docs and weights (8 bytes a posting), the frequencies (4) until FlatPositions
        # turns them into where each posting's positions start (8) once a query asks
        return self.memo((key, fieldname, text), read, lambda found: len(found[0]) * 16 + 200)

    def memo(self, key: tuple, compute, size=lambda found: sum(v.nbytes for v in found if v is not None) + 200):
        """compute() (a tuple of arrays, None entries allowed), kept under `key` in one
        least-recently-used budget (`size` says what the value weighs)."""
        with self._lock:
            found = self._postings.get(key)
            if found is not None:
                self._postings.move_to_end(key)
                return found[0]
        value = compute()
        weight = size(value)
        with self._lock:
            old = self._postings.pop(key, None)
            if old is not None:
                self._size -= old[1]
            self._postings[key] = (value, weight)
            self._size += weight
            while self._size > self._budget and len(self._postings) > 1:
                _, (_, dropped) = self._postings.popitem(last=False)
                self._size -= dropped
        return value

    def peek(self, key: tuple):
        """What memo keeps under `key` (used: it moves to the end of the queue), or None."""
        with self._lock:
            found = self._postings.get(key)
            if found is None:
                return None
            self._postings.move_to_end(key)
            return found[0]

    def index_wide(self, name: str, key: tuple, compute, first: bool = True):
        """compute(), kept under `name` for as long as `key` (the live segments) is the same.
        With first=False the first ask for a key returns None instead (and counts)."""
        with self._lock:
            found = self._wide.get(name)
            if found is not None and found[0] == key:
                return found[1]
            if not first and self._wide_asked.get(name) != key:
                self._wide_asked[name] = key
                return None
        value = compute()
        with self._lock:
            self._wide[name] = (key, value)
        return value

    def words(self, searcher):
        """What looks up the words within some edits of a word (word~, did-you-mean) in the
        searcher's index: its Whoosh reader for a single segment (an automaton), else a
        SegmentWords over the term dictionaries (Whoosh's reader of several segments would
        compare every word of the letter in Python)."""
        reader = searcher.reader()
        if reader.is_atomic():
            return reader
        return SegmentWords([cache.segment for _, _, cache in self.segments(searcher)])

    def docnums(self, searcher, fieldname: str, values: list[str]) -> dict[str, int]:
        """{value: the first live document holding it} of a field that identifies a document
        (an article's id), for the values found: each looked up in the segments' term
        dictionaries, as searcher.document(id=...) finds it without a Whoosh query a value."""
        return {value: docnums[0] for value, docnums in self.holders(searcher, fieldname, values, True).items()}

    def holders(self, searcher, fieldname: str, values: list[str], first: bool = False) -> dict[str, list[int]]:
        """{value: every live document holding it} (with `first`, the first one only), for the
        values found, all looked up together in each segment's term dictionary
        (SegmentReader.postings_of): what a delete by id removes, without the searcher and
        Whoosh query a value of delete_by_term."""
        found: dict[str, list[int]] = {}
        for _, offset, cache in self.segments(searcher):
            deleted = cache.segment.deleted()
            wanted = [value for value in values if value not in found] if first else values
            for value, docs in cache.segment.postings_of(fieldname, wanted).items():
                live = docs[~deleted[docs]]
                if len(live):
                    found.setdefault(value, []).extend((offset + live[:1 if first else None]).tolist())
        return found

    def segments(self, searcher) -> list[tuple[object, int, SegmentCache]]:
        """(segment reader, docnum offset, its cache) for every segment the searcher reads."""
        out = []
        live = set()
        for reader, offset in searcher.reader().leaf_readers():
            segment = reader.segment()
            if segment is None:  # an index with nothing committed yet: Whoosh's EmptyReader
                continue
            key = segment.segment_id()
            live.add(key)
            with self._lock:
                files = self._files.get(key)
            if files is None:
                files = SegmentFiles(reader.storage().folder, key)
                with self._lock:
                    files = self._files.setdefault(key, files)
            view = SegmentReader(files, key, frozenset(segment.deleted_docs()))
            out.append((reader, offset, SegmentCache(key, view, self)))
        if len(live) != len(self._files) or any(k not in live for k in self._files):
            with self._lock:  # segments were merged away: forget what was read from them
                for key in [k for k in self._files if k not in live]:
                    del self._files[key]
                for key in [k for k in self._postings if k[0] not in live]:
                    self._size -= self._postings.pop(key)[1]
        return out
