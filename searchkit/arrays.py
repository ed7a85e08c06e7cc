"""Whole posting lists and columns of a Whoosh segment as numpy arrays, kept per segment.

Whoosh hands out one posting and one column value at a time, in Python: ranking a plain-word
query over 100k articles that way scores every matching article in the interpreter
(ranking.py does it for all of them at once with numpy instead). This module reads what that
needs straight from the segment files:

- a title or body posting list, from the segment's postings sidecar (sidecar.py) when it has
  one: slices of arrays mapped into memory, positions included, nothing to decode;
- otherwise from W3's own format: a chain of blocks, each a pickled (delta-coded ids,
  weights, values) tuple, zlib-compressed when it is big enough, after a small pickled info
  tuple; ids and weights become arrays, and the values (encoded positions) are kept, as one
  bytes object, only where a query needs positions (proximity, phrases: see ranking.py);
- a field's lengths are one byte per document (Whoosh's length_to_byte), a numeric column
  is a packed array, a bytes column is the values end to end with a lengths array.

A segment never changes once written (a deletion only adds to its deleted set), so what is
read from one is cached for as long as it is live: SegmentCache holds one segment's arrays,
ArrayCache one cache per live segment, and forgets segments that are merged away.
"""

from __future__ import annotations

import io
import logging
import mmap
import os
import struct
import threading
import zlib
from collections import OrderedDict
from pickle import load, loads

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, WHOOSH3_HEADER_MAGIC, _lenfield
from whoosh.reading import TermNotFound
from whoosh.util.numeric import byte_to_length

from .sidecar import EXT as SIDECAR_EXT, FlatPositions, Sidecar

log = logging.getLogger(__name__)

_INT = 4  # bytes of a block's length prefix (a signed big-endian int)
_INT_STRUCT = struct.Struct("!i")
# Bytes of decoded posting lists an ArrayCache keeps (least recently used dropped first):
# 8 per posting (id, weight), about 14 more where positions are kept (Values).
POSTINGS_BUDGET = 384 * 1024 * 1024
# byte_to_length for every byte value: a length column turns into lengths with one take().
_LENGTH_OF_BYTE = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)

class Values:
    """Each posting's encoded value (positions), end to end in one bytes object: a tenth of
    the memory of a list of bytes objects, so the cache holds that many more posting lists.
    `decode` turns one value into its positions (the field format's decode_positions)."""

    __slots__ = ("_data", "_ends", "_decode")

    def __init__(self, values: list[bytes], decode=None) -> None:
        self._data = b"".join(values)
        self._ends = np.cumsum(np.fromiter(map(len, values), dtype=np.int64, count=len(values)))
        self._decode = decode

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, i: int) -> bytes:
        if not 0 <= i < len(self._ends):
            raise IndexError(i)
        return self._data[(self._ends[i - 1] if i else 0):self._ends[i]]

    def nbytes(self) -> int:
        return len(self._data) + self._ends.nbytes

    def flat(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(owner, position) for every position of the postings `rows`, as
        sidecar.FlatPositions.flat gives them (decoded one posting at a time here)."""
        owner: list[int] = []
        positions: list[int] = []
        for n, row in enumerate(rows.tolist()):
            found = self._decode(self[row])
            owner.extend([n] * len(found))
            positions.extend(found)
        return np.array(owner, dtype=np.int64), np.array(positions, dtype=np.int64)


# (segment docnums int32, weights float32, positions or None), in docnum order: positions
# are Values (W3's encoded ones) or sidecar.FlatPositions, both with flat(rows). Whoosh keeps
# weights as 32-bit floats too, so nothing is lost.
Postings = tuple[np.ndarray, np.ndarray, "Values | FlatPositions | None"]


def _empty(values: bool) -> Postings:
    return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32), Values([]) if values else None


def _decoder(reader, fieldname: str):
    return reader.schema[fieldname].format.decode_positions


def read_postings(reader, fieldname: str, text: str, values: bool = False, source=None,
                  sidecar: Sidecar | None = None) -> Postings:
    """Every (docnum, weight) of a term in one segment reader, and with values=True each
    posting's positions.

    They come from the segment's `sidecar` when it has the field, as arrays over the mapped
    file (positions too, whatever `values` says: they cost nothing until used), else from
    W3's blocks, decoded one by one. `source` is the segment's postings file as bytes-like
    (an mmap: SegmentCache passes one), read by slicing instead of a seek and a read per block.
    """
    if sidecar is not None and sidecar.has(fieldname):
        try:
            return sidecar.postings(fieldname, text.encode("utf-8"))
        except (ValueError, IndexError) as exc:
            log.warning("postings sidecar of %s not used: %s", reader.segment().segment_id(), exc)
    terms = getattr(reader, "_terms", None)
    if terms is None or not hasattr(terms, "_postfile"):  # another codec: Whoosh's matcher
        return _read_with_matcher(reader, fieldname, text, values)
    try:
        info = terms.term_info(fieldname, text.encode("utf-8"))
    except (KeyError, TermNotFound):
        return _empty(values)
    if info.is_inlined():
        ids, weights, raw = info.inlined_postings()
        return (np.array(ids, dtype=np.int32), np.array(weights, dtype=np.float32),
                Values(list(raw), _decoder(reader, fieldname)) if values else None)
    position, _ = info.extent()
    get = (lambda at, n: source[at:at + n]) if source is not None else terms._postfile.get
    if get(position, 4) != WHOOSH3_HEADER_MAGIC:
        raise ValueError(f"posting list of {fieldname}:{text} does not start with a block header")
    position += 4
    deltas: list[int] = []
    weights: list[float] = []
    raw_values: list[bytes] = []
    previous_max = 0
    unpack_int = _INT_STRUCT.unpack
    while True:
        (length,) = unpack_int(get(position, _INT))
        last = length < 0
        length = abs(length)
        block = io.BytesIO(get(position + _INT, length))
        count, max_id, _maxweight, compression, _, _ = load(block)
        data = block.read()
        if compression:
            data = zlib.decompress(data)
        ids, block_weights, block_values = loads(data)
        if values:
            raw_values.extend(block_values if block_values is not None else [b""] * count)
        start = len(deltas)
        deltas.extend(ids)
        deltas[start] -= previous_max  # the first id of a block is absolute: make it a delta
        if block_weights is None:
            weights.extend([1.0] * count)
        elif isinstance(block_weights, float):
            weights.extend([block_weights] * count)
        else:
            weights.extend(block_weights)
        previous_max = max_id
        if last:
            break
        position += _INT + length
    ids_out = np.cumsum(np.array(deltas, dtype=np.int64)).astype(np.int32)
    return (ids_out, np.array(weights, dtype=np.float32),
            Values(raw_values, _decoder(reader, fieldname)) if values else None)


def _read_with_matcher(reader, fieldname: str, text: str, values: bool) -> Postings:
    if (fieldname, text) not in reader:
        return _empty(values)
    matcher = reader.postings(fieldname, text)
    ids, weights, raw = [], [], []
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        if values:
            raw.append(matcher.value())
        matcher.next()
    return (np.array(ids, dtype=np.int32), np.array(weights, dtype=np.float32),
            Values(raw, _decoder(reader, fieldname)) if values else None)


def _open_sidecar(reader) -> Sidecar | None:
    """The segment's postings sidecar (sidecar.py), or None: a segment written by Whoosh has
    none, and a damaged one is left unread (with a warning in the log): W3's postings hold
    the same."""
    folder = getattr(getattr(reader, "_storage", None), "folder", None)
    if folder is None:
        return None
    path = os.path.join(folder, reader.segment().make_filename(SIDECAR_EXT))
    try:
        return Sidecar(path)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("postings sidecar %s not used: %s", path, exc)
        return None


def _map_postings(reader):
    """The segment's postings file mapped into memory, or None (e.g. inside a compound file)."""
    try:
        handle = reader._terms._postfile.file
        return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None


class SegmentCache:
    """The arrays of one segment: field lengths, columns, and recently used posting lists."""

    def __init__(self, key: str, doc_count: int, shared: "ArrayCache") -> None:
        self.key = key
        self.doc_count = doc_count
        self._shared = shared
        self._lengths: dict[str, np.ndarray] = {}
        self._columns: dict[str, object] = {}
        self._deleted: tuple[int, np.ndarray] | None = None
        self._source: object = False  # the mapped postings file; None when it cannot be mapped
        self._sidecar: object = False  # the segment's Sidecar; None when it has none
        self._asked: dict[str, int] = {}  # how often hashed_at was asked for each column

    def postings(self, reader, fieldname: str, text: str, values: bool = False) -> Postings:
        """A term's posting list (read_postings), from the cache when it was read lately."""
        if self._source is False:
            self._source = _map_postings(reader)
            self._sidecar = _open_sidecar(reader)
        return self._shared.postings(self.key, reader, fieldname, text, values, self._source, self._sidecar)

    def lengths(self, reader, fieldname: str) -> np.ndarray:
        """Each document's length of the field as Whoosh stores it (at least 1), float64."""
        found = self._lengths.get(fieldname)
        if found is None:
            column = reader._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
            if column is None:
                codes = np.zeros(self.doc_count, dtype=np.uint8)
            else:
                codes = np.frombuffer(_fixed_column_bytes(column, self.doc_count), dtype=np.uint8)
            found = _LENGTH_OF_BYTE[codes]
            found[codes == 0] = 1.0
            self._lengths[fieldname] = found
        return found

    def numbers(self, reader, fieldname: str) -> tuple[np.ndarray, np.ndarray]:
        """A numeric column (e.g. published) as int64 values and a mask of documents with one."""
        found = self._columns.get(fieldname)
        if found is None:
            column = reader.column_reader(fieldname, translate=False)
            if not hasattr(column, "_fixedlen"):  # no document of the segment has a value
                found = self._columns[fieldname] = (np.zeros(self.doc_count, dtype=np.int64),
                                                    np.zeros(self.doc_count, dtype=bool))
                return found  # type: ignore[return-value]
            raw = _fixed_column_bytes(column, self.doc_count)
            stored = np.frombuffer(raw, dtype=">" + column._typecode)
            has = stored != column._default
            values = np.where(has, stored, 0).astype(np.int64)
            found = self._columns[fieldname] = (values, has)
        return found  # type: ignore[return-value]

    def categories(self, reader, fieldname: str) -> tuple[np.ndarray, list[str]]:
        """A bytes column with few distinct values (source_key) as a small code per document
        and the value of each code, for counting with bincount."""
        key = ("codes", fieldname)
        found = self._columns.get(key)
        if found is None:
            hashes, names = self.hashed(reader, fieldname)
            known = {h: i for i, h in enumerate(names)}
            ordered = list(names.values())
            missing = hash(b"")
            if missing not in known:
                known[missing] = len(ordered)
                ordered.append("")
            codes = np.array([known[h] for h in hashes.tolist()], dtype=np.int64) if len(known) > 1 \
                else np.zeros(self.doc_count, dtype=np.int64)
            found = self._columns[key] = (codes, ordered)
        return found  # type: ignore[return-value]

    def hashed_at(self, reader, fieldname: str, docs: np.ndarray) -> np.ndarray:
        """hashed(...)[0][docs], hashing only those documents the first time a column is
        asked for (a one-query process, `searchkit query`, then never reads all of it);
        from the second time on the whole column is hashed once and kept."""
        found = self._columns.get(fieldname)
        self._asked[fieldname] = asked = self._asked.get(fieldname, 0) + 1
        if found is not None or asked > 1 or 2 * len(docs) > self.doc_count:
            return self.hashed(reader, fieldname)[0][docs]
        column = reader.column_reader(fieldname, translate=False)
        if not hasattr(column, "_offsets"):
            return np.full(len(docs), hash(b""), dtype=np.int64)
        offsets, lengths = column._offsets, column._lengths
        count = len(offsets)
        data = column._dbfile.get(column._basepos, (offsets[-1] + lengths[-1]) if count else 0)
        return np.fromiter((hash(data[offsets[d]:offsets[d] + lengths[d]] if d < count else b"")
                            for d in docs.tolist()), dtype=np.int64, count=len(docs))

    def hashed(self, reader, fieldname: str) -> tuple[np.ndarray, dict[int, str]]:
        """A bytes column (source_key, cluster) as a 64-bit hash per document, and the value
        of each hash. Hashes group and compare equal values across segments within one
        process (Python's hash of bytes; a collision among 2^64 values is not a concern)."""
        found = self._columns.get(fieldname)
        if found is None:
            column = reader.column_reader(fieldname, translate=False)
            if not hasattr(column, "_offsets"):  # no document of the segment has a value
                found = self._columns[fieldname] = (np.full(self.doc_count, hash(b""), dtype=np.int64), {})
                return found  # type: ignore[return-value]
            offsets, lengths = column._offsets, column._lengths
            size = (offsets[-1] + lengths[-1]) if len(offsets) else 0
            data = bytes(column._dbfile.get(column._basepos, size))
            values = [data[o:o + n] for o, n in zip(offsets, lengths)]
            hashes = np.fromiter(map(hash, values), dtype=np.int64, count=len(values))
            if len(values) < self.doc_count:  # documents after the last one with a value
                hashes = np.concatenate([hashes, np.full(self.doc_count - len(values), hash(b""))])
            names = {}
            if fieldname != "cluster":  # only few distinct sources: keep their names
                names = {hash(v): v.decode("utf-8", "replace") for v in set(values)}
            found = self._columns[fieldname] = (hashes, names)
        return found  # type: ignore[return-value]

    def deleted(self, reader) -> np.ndarray:
        """A mask of this segment's deleted documents (re-read when more are deleted)."""
        count = reader.segment().deleted_count() if reader.has_deletions() else 0
        cached = self._deleted
        if cached is None or cached[0] != count:
            mask = np.zeros(self.doc_count, dtype=bool)
            if count:
                mask[np.fromiter(reader._perdoc.deleted_docs(), dtype=np.int64)] = True
            cached = self._deleted = (count, mask)
        return cached[1]


def _fixed_column_bytes(column, doc_count: int) -> bytes:
    """The raw bytes of a fixed-width column reader, one value per document.

    Whoosh stops writing a column after the last document with a non-default value: the
    rest are the default's bytes.
    """
    count = min(column._count, doc_count)
    raw = bytes(column._dbfile.get(column._basepos, count * column._fixedlen))
    return raw + column._defaultbytes * (doc_count - count)


class ArrayCache:
    """One SegmentCache per live segment, by segment id (thread-safe; owned by an Index)."""

    def __init__(self, budget: int = POSTINGS_BUDGET) -> None:
        self._segments: dict[str, SegmentCache] = {}
        self._lock = threading.Lock()
        self._budget = budget
        self._postings: OrderedDict[tuple[str, str, str], tuple[Postings, int]] = OrderedDict()
        self._size = 0
        self._wide: dict[str, tuple[tuple, object]] = {}  # index_wide: name -> (key, value)
        self._wide_asked: dict[str, tuple] = {}  # name -> the key asked once

    def postings(self, segment: str, reader, fieldname: str, text: str, values: bool, source=None,
                 sidecar: Sidecar | None = None) -> Postings:
        key = (segment, fieldname, text)
        with self._lock:
            found = self._postings.get(key)
            if found is not None and (found[0][2] is not None or not values):
                self._postings.move_to_end(key)
                return found[0]
        postings = read_postings(reader, fieldname, text, values, source, sidecar)
        size = len(postings[0]) * 8 + (postings[2].nbytes() if postings[2] is not None else 0) + 200
        with self._lock:
            old = self._postings.pop(key, None)
            if old is not None:
                self._size -= old[1]
            self._postings[key] = (postings, size)
            self._size += size
            while self._size > self._budget and len(self._postings) > 1:
                _, (_, dropped) = self._postings.popitem(last=False)
                self._size -= dropped
        return postings

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

    def segments(self, searcher) -> list[tuple[object, int, SegmentCache]]:
        """(segment reader, docnum offset, its cache) for every segment the searcher reads."""
        out = []
        live = set()
        for reader, offset in searcher.reader().leaf_readers():
            key = reader.segment().segment_id()
            live.add(key)
            with self._lock:
                cache = self._segments.get(key)
                if cache is None:
                    cache = self._segments[key] = SegmentCache(key, reader.doc_count_all(), self)
            out.append((reader, offset, cache))
        if len(live) != len(self._segments) or any(k not in live for k in self._segments):
            with self._lock:  # segments were merged away: forget what was read from them
                for key in [k for k in self._segments if k not in live]:
                    del self._segments[key]
                for key in [k for k in self._postings if k[0] not in live]:
                    self._size -= self._postings.pop(key)[1]
        return out
