"""A segment's text postings as flat arrays, in a file beside its W3 files (".skp").

Reading a posting list from W3's files means a term-table look-up that seeks and reads the
file several times (~0.1 ms), then unpickling (and often decompressing) one block per 128
postings and a bytes object per posting for its positions: at 100k articles that was most of
a query's time, and a query looks each word up in every segment. A segment built by build.py
also gets this file, which holds what the array ranker (ranking.py) needs from its text
fields (title, body) as arrays that are mapped into memory and used without decoding. Terms
are numbered per segment; per text FIELD:

    ids.FIELD        each posting's document number, by term number then document
                     (uint16 when they all fit, else int32)
    freqs.FIELD      each posting's frequency in its document (uint16, or uint32)
    starts.FIELD     where each term number's run of postings starts, plus the end (int64)
    positions.FIELD  each posting's positions, in the same order (uint16, or uint32): a
                     posting's are the next `freq` of its term's run
    pos_starts.FIELD where each term number's run of positions starts, plus the end (int64)
    hashes.FIELD     the CRC-32 of each of the field's terms (UTF-8), sorted (uint32)
    numbers.FIELD    the number of the term with that hash (int64)
    text.FIELD       the terms themselves, in the same order, end to end (to tell apart two
                     terms with the same CRC), and text_ends.FIELD where each ends (int64)

then a JSON header (dtypes, section offsets, each field's boost) and a trailer: the header's
length and a magic string. A look-up is one binary search and one comparison of bytes.

The writer gets each document's words as term numbers in order (one C-level look-up per word)
and sorts them into runs with numpy: collecting or decoding postings one by one in Python
would add a tenth to an import. A weight is float32(freq x field boost), exactly what W3
stores. Segments written any other way (Whoosh's writer, a merge, an older searchkit) have no
such file and are read from W3's files.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
import zlib
from array import array
from bisect import bisect_left
from itertools import repeat

import numpy as np

EXT = ".skp"
MAGIC = b"SKPOST5\n"
_TRAILER = struct.Struct("<Q8s")  # header length, MAGIC
# The typecodes each per-field section may have, narrowest first (_narrow picks one).
_WIDTHS = {"hashes": ("I",), "ids": ("H", "i"), "freqs": ("H", "I"), "positions": ("H", "I")}
_PER_FIELD = {"ids": ("<u2", "<i4"), "freqs": ("<u2", "<u4"), "starts": ("<i8",),
              "positions": ("<u2", "<u4"), "pos_starts": ("<i8",), "hashes": ("<u4",),
              "numbers": ("<i8",), "text": ("|u1",), "text_ends": ("<i8",)}


def _narrow(values: array | np.ndarray, *choices: str) -> tuple[bytes, str]:
    """The bytes of `values` (an array or a numpy array) little-endian, in the first of the
    typecodes `choices` that holds every value, and their numpy dtype."""
    if isinstance(values, np.ndarray):
        wide = values
    else:
        wide = np.frombuffer(values, dtype=values.typecode) if len(values) else np.zeros(0, values.typecode)
    low, high = (int(wide.min()), int(wide.max())) if len(wide) else (0, 0)
    for choice in choices:
        info = np.iinfo(choice)
        if info.min <= low and high <= info.max:
            dtype = np.dtype(choice).newbyteorder("<")
            return wide.astype(dtype).tobytes(), dtype.str
    raise ValueError(f"values {low}..{high} do not fit in any of {choices}")


class SidecarWriter:
    """Collects one segment's text fields, each document's words as they are indexed
    (add_words), and writes the file."""

    def __init__(self, doc_count: int) -> None:
        self.doc_count = doc_count
        self._number: dict[bytes, int] = {}  # term -> its number, given on first sight
        self._forward: dict[str, array] = {}
        self._bounds: dict[str, array] = {}
        self._sorted: dict[str, dict[str, np.ndarray]] = {}  # field -> runs(field), once asked for
        self.fields: list[str] = []  # the text fields, in the order they were first seen
        self._ranks: np.ndarray | None = None  # term number given by add_words -> its place in terms()
        self._terms: list[bytes] = []
        self.boosts: dict[str, float] = {}

    def add_words(self, fieldname: str, docnum: int, terms: list[bytes]) -> None:
        """Document `docnum`'s field as the term of each word in order (b"" for a word that is
        not indexed, such as a stop word): position n is the nth word."""
        forward = self._forward.get(fieldname)
        if forward is None:
            forward = self._forward[fieldname] = array("I")
            self.fields.append(fieldname)
            self._bounds[fieldname] = array("q", bytes(8 * (self.doc_count + 1)))
        number = self._number
        size = len(forward)
        try:
            forward.extend(map(number.get, terms, repeat(-1)))  # one look-up per word, in C
        except OverflowError:  # -1: a term not numbered yet
            del forward[size:]
            for term in set(terms).difference(number):
                number[term] = len(number)
            forward.extend(map(number.__getitem__, terms))
        self._bounds[fieldname][docnum + 1] = len(forward)

    def __len__(self) -> int:
        return len(self.fields)

    def terms(self) -> list[bytes]:
        """Every term of the segment's text fields, sorted: runs() numbers them in this order,
        so that W3's postings (sorted by term) are written front to back. Call it once every
        word has been added."""
        if self._ranks is None:
            terms = list(self._number)  # in the order add_words numbered them
            order = sorted(range(len(terms)), key=terms.__getitem__)
            self._ranks = np.empty(len(terms), dtype=np.uint16 if len(terms) <= 1 << 16 else np.uint32)
            self._ranks[order] = np.arange(len(terms), dtype=self._ranks.dtype)
            self._terms = [terms[n] for n in order]
        return self._terms

    def runs(self, fieldname: str) -> dict[str, np.ndarray]:
        """The field's postings as the sections ids, freqs, starts, positions and pos_starts
        (see the module docstring), terms numbered in terms() order; sorted once: build.py
        writes W3's postings from them too. The words added for the field are let go of."""
        found = self._sorted.get(fieldname)
        if found is None:
            terms = self.terms()
            words = self._forward.pop(fieldname)
            ranked = self._ranks[np.frombuffer(words, dtype=words.typecode)]
            del words
            stop = self._number.get(b"")
            found = self._sorted[fieldname] = _runs(ranked,
                                                    np.frombuffer(self._bounds.pop(fieldname), dtype=np.int64),
                                                    len(terms), None if stop is None else int(self._ranks[stop]))
        return found

    def write(self, dbfile) -> None:
        """Write the file to `dbfile` (a Whoosh StructFile or any binary file) and close it."""
        sections = {}
        terms = self.terms()
        for name in self.fields:
            runs = self.runs(name)
            del self._sorted[name]
            runs.update(_term_table(terms, np.flatnonzero(np.diff(runs["starts"]))))
            for kind, values in runs.items():
                if kind == "text":
                    sections[f"{kind}.{name}"] = (values, "|u1")
                else:
                    sections[f"{kind}.{name}"] = _narrow(values, *_WIDTHS.get(kind, ("q",)))
        header = {"version": 5, "docs": self.doc_count, "boosts": self.boosts,
                  "fields": sorted(self.fields), "sections": {}}
        at = 0
        parts = []
        for name, (data, dtype) in sections.items():
            pad = -at % 8  # every section starts 8-byte aligned
            parts.append(b"\0" * pad)
            at += pad
            header["sections"][name] = [at, len(data), dtype]
            parts.append(data)
            at += len(data)
        encoded = json.dumps(header, sort_keys=True).encode("utf-8")
        parts.append(encoded)
        parts.append(_TRAILER.pack(len(encoded), MAGIC))
        try:
            dbfile.write(b"".join(parts))
        finally:
            dbfile.close()


def _term_table(terms: list[bytes], numbers: np.ndarray) -> dict[str, object]:
    """The look-up sections of a field whose terms have these numbers (see the docstring)."""
    chosen = [terms[n] for n in numbers.tolist()]
    hashes = np.fromiter(map(zlib.crc32, chosen), dtype=np.uint32, count=len(chosen))
    order = np.argsort(hashes, kind="stable")
    ordered = [chosen[i] for i in order.tolist()]
    return {"hashes": hashes[order], "numbers": numbers[order], "text": b"".join(ordered),
            "text_ends": np.cumsum(np.fromiter(map(len, ordered), dtype=np.int64, count=len(ordered)))}


def _starts(keys: np.ndarray, count: int) -> np.ndarray:
    """Where each number's run starts in `keys` (sorted numbers below `count`), plus the end."""
    return np.concatenate([np.zeros(1, dtype=np.int64), np.cumsum(np.bincount(keys, minlength=count))])


def _runs(forward: np.ndarray, bounds: np.ndarray, terms: int, stop: int | None) -> dict[str, np.ndarray]:
    """A field's postings sections (see the module docstring) from its documents' words as
    term numbers (`forward`) and where each document's start in it (`bounds`, shifted by one:
    bounds[d + 1] is where document d ends, 0 for a document without the field). A worker
    builds this for 10,000 articles (~4M words) at once: the words are sorted first and each
    one's document and position found after, with arrays as narrow as their values allow."""
    bounds = np.maximum.accumulate(bounds)
    if terms <= 1 << 16:
        forward = forward.astype(np.uint16, copy=False)  # numpy sorts 16-bit numbers by radix
    order = np.argsort(forward, kind="stable")  # by number; each run stays in word order
    forward = forward[order]
    if stop is not None:  # stop words have no postings: their run goes
        low, high = np.searchsorted(forward, stop, "left"), np.searchsorted(forward, stop, "right")
        if low == 0:  # b"" sorts first: the usual case, where views do
            forward, order = forward[high:], order[high:]
        else:
            forward, order = np.delete(forward, np.s_[low:high]), np.delete(order, np.s_[low:high])
    lengths = np.diff(bounds)
    doc_of = np.repeat(np.arange(len(lengths), dtype=np.uint16 if len(lengths) <= 1 << 16 else np.int32),
                       lengths)  # each word's document
    docs = doc_of[order]
    del doc_of
    width = np.int32 if len(lengths) and bounds[-1] < 1 << 31 else np.int64
    position = order.astype(width)
    del order
    position -= bounds[:-1].astype(width)[docs]
    first = np.ones(len(forward), dtype=bool)  # where a posting (a term in a document) starts
    first[1:] = (forward[1:] != forward[:-1]) | (docs[1:] != docs[:-1])
    at = np.flatnonzero(first)
    del first
    return {"ids": docs[at], "freqs": np.diff(np.append(at, len(forward))),
            "starts": _starts(forward[at], terms), "positions": position,
            "pos_starts": _starts(forward, terms)}


class FlatPositions:
    """Each posting's positions of one term, as consecutive runs of one array."""

    __slots__ = ("_positions", "_freqs", "_starts")

    def __init__(self, positions: np.ndarray, freqs: np.ndarray) -> None:
        self._positions = positions
        self._freqs = freqs
        self._starts: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self._freqs)

    def nbytes(self) -> int:
        return 0  # views of the mapped file: its pages, not this process's memory

    def flat(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(owner, position) for every position of the postings `rows`: owner is the index in
        `rows`, and each posting's positions come in order, so (owner, position) is sorted."""
        if self._starts is None:
            self._starts = np.cumsum(self._freqs, dtype=np.int64) - self._freqs
        counts = self._freqs[rows].astype(np.int64)
        owner = np.repeat(np.arange(len(rows), dtype=np.int64), counts)
        index = np.arange(len(owner), dtype=np.int64) + np.repeat(self._starts[rows] - (np.cumsum(counts) - counts),
                                                                   counts)
        return owner, self._positions[index].astype(np.int64)


_NONE = (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32),
         FlatPositions(np.zeros(0, dtype=np.uint16), np.zeros(0, dtype=np.uint16)))
for _array in _NONE[:2]:
    _array.flags.writeable = False  # shared by every look-up of a missing term


class Sidecar:
    """One segment's .skp file, mapped into memory."""

    def __init__(self, path: str | os.PathLike) -> None:
        with open(path, "rb") as handle:
            self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        size = len(self._map)
        if size < _TRAILER.size:
            raise ValueError(f"{path}: too short for a postings sidecar")
        length, magic = _TRAILER.unpack_from(self._map, size - _TRAILER.size)
        if magic != MAGIC or length > size - _TRAILER.size:
            raise ValueError(f"{path}: not a postings sidecar of this version")
        header = json.loads(bytes(self._map[size - _TRAILER.size - length:size - _TRAILER.size]))
        self.doc_count = int(header["docs"])
        self.boosts: dict[str, float] = header["boosts"]
        wanted = {}
        for name in header["fields"]:
            wanted.update({f"{kind}.{name}": allowed for kind, allowed in _PER_FIELD.items()})
        arrays = {}
        for name, allowed in wanted.items():
            at, nbytes, dtype = header["sections"][name]
            if dtype not in allowed or at + nbytes > size:
                raise ValueError(f"{path}: damaged postings sidecar ({name})")
            dtype = np.dtype(dtype)
            arrays[name] = np.frombuffer(self._map, dtype=dtype, count=nbytes // dtype.itemsize, offset=at)
        self._arrays = arrays
        self._terms = {}  # field -> its term table as memoryviews (hashes, text ends, text, numbers)
        for name in header["fields"]:
            table = [arrays[f"{kind}.{name}"] for kind in ("hashes", "text_ends", "text", "numbers")]
            if not len(table[0]) == len(table[1]) == len(table[3]):
                raise ValueError(f"{path}: damaged postings sidecar (terms of {name})")
            self._terms[name] = tuple(memoryview(np.ascontiguousarray(t, dtype=t.dtype.newbyteorder("="))
                                                 if t.dtype.byteorder not in ("=", "|") else t) for t in table)

    def has(self, fieldname: str) -> bool:
        """Whether this file holds the field's postings (then it holds all of them)."""
        return fieldname in self.boosts

    def number(self, fieldname: str, term: bytes) -> int | None:
        """The term's number in the field, or None when no document of the segment has it."""
        hashes, ends, text, numbers = self._terms[fieldname]
        crc = zlib.crc32(term)
        i = bisect_left(hashes, crc)  # on memoryviews: numpy's searchsorted costs ~15 us a call
        while i < len(hashes) and hashes[i] == crc:
            if text[ends[i - 1] if i else 0:ends[i]] == term:
                return numbers[i]
            i += 1
        return None

    def postings(self, fieldname: str, term: bytes):
        """(ids int32, weights float32, FlatPositions) of the term in the field (all empty
        when no document has it)."""
        a = self._arrays
        starts, pos_starts = a[f"starts.{fieldname}"], a[f"pos_starts.{fieldname}"]
        number = self.number(fieldname, term)
        if number is None:
            return _NONE
        if number + 1 >= len(starts) or number + 1 >= len(pos_starts):
            raise ValueError(f"damaged postings sidecar: no term {number} in {fieldname}")
        start, end = int(starts[number]), int(starts[number + 1])
        pos_start, pos_end = int(pos_starts[number]), int(pos_starts[number + 1])
        freqs = a[f"freqs.{fieldname}"][start:end]
        positions = a[f"positions.{fieldname}"][pos_start:pos_end]
        if len(positions) != int(freqs.sum()):
            raise ValueError(f"damaged postings sidecar: positions of term {number} in {fieldname}")
        weights = (freqs * self.boosts[fieldname]).astype(np.float32)
        return a[f"ids.{fieldname}"][start:end].astype(np.int32), weights, FlatPositions(positions, freqs)
