"""The bytes of a segment on disk: two files, each named sections of flat arrays.

A segment is written once and never changed (deletions live in the commit's TOC), as two
files beside Whoosh's TOC:

    <segment>.skt   terms: every indexed field's term dictionary, postings and positions
    <segment>.skd   documents: field lengths, columns and the stored fields

Each file is its sections end to end (each 8-byte aligned), then a JSON header (section
offsets and dtypes, per-field facts) and a trailer (the header's length and a magic
string). A reader maps the file into memory and views sections as numpy arrays: nothing is
decoded at open.

Postings of a field F (terms sorted by their UTF-8 bytes, numbered 0..n-1):

    t.F  the terms end to end; te.F where each ends
    n.F  each term's document frequency
    dW.F each term's document numbers as deltas (the first one absolute), in the narrowest
         width W of 1, 2 or 4 bytes that holds all of that term's deltas: d1.F, d2.F and
         d4.F hold the terms of each width end to end; do.F each term's offset in its
         width's section, dw.F each term's width
    fW.F each posting's frequency, likewise (width 0: every frequency is 1, nothing stored)
    pW.F each posting's positions, deltas within the posting (first absolute), likewise
         (only fields whose format has positions)

A term's postings are a slice of an array and one cumsum. Documents file sections:
l.F (each document's length of F as Whoosh's length byte), cn.F / ch.F (a numeric column:
int64 value, has-a-value byte), cc.F / cv.F / cve.F (a bytes column: a code per document
into its sorted distinct values), s / so / sd (stored fields: each document's field dict
pickled and zlib-compressed on its own, primed with a dictionary (sd) made of the segment's
first documents, and where each starts: a result reads one document in ~20 us, and the
dictionary gives back what compressing documents one by one loses). A merged segment
(merge.py) keeps its sources' compressed documents and dictionaries as they were: sd holds
the dictionaries end to end, sdo where each starts, sdn each document's.
"""

from __future__ import annotations

import json
import mmap
import os
import pickle
import struct
import threading
import weakref
import zlib
from typing import Iterable

import numpy as np

TERMS_EXT = ".skt"
DOCS_EXT = ".skd"
TERMS_MAGIC = b"SKTERM2\n"
DOCS_MAGIC = b"SKDOCS2\n"
# The magic strings of these files' earlier layouts (a layout change gets a new magic).
OLDER_MAGICS = {TERMS_MAGIC: (b"SKTERM1\n",), DOCS_MAGIC: (b"SKDOCS1\n",)}
# The header's "version": raise it when files this searchkit writes can no longer be read
# by the previous one, which then says a newer searchkit wrote them (not a damaged file).
FORMAT_VERSION = 1
_TRAILER = struct.Struct("<Q8s")  # header length, magic
STORED_LEVEL = 1  # zlib level of stored documents: 3 is 8% smaller and 1.5x the CPU, 6 12% and 3x
STORED_SAMPLE = 32  # documents the compression dictionary is made of
STORED_DICTIONARY = 32 * 1024  # bytes of it (zlib's window)
_WIDTH_DTYPE = {1: np.dtype("<u1"), 2: np.dtype("<u2"), 4: np.dtype("<u4")}


class FormatError(ValueError):
    """A segment file is damaged or of another version."""


class OldFormatError(FormatError):
    """A segment file of an older searchkit's layout: `searchkit reindex` converts the index."""


class NewFormatError(FormatError):
    """A segment file of a newer searchkit's format (a higher FORMAT_VERSION)."""


def narrowest(values: np.ndarray, allowed: Iterable[str] = ("<u1", "<u2", "<u4", "<u8")) -> np.ndarray:
    """`values` (non-negative integers) in the first dtype of `allowed` that holds them all."""
    high = int(values.max()) if len(values) else 0
    for name in allowed:
        dtype = np.dtype(name)
        if high <= np.iinfo(dtype).max:
            return values.astype(dtype, copy=False)
    raise ValueError(f"{high} does not fit in any of {allowed}")


def run_deltas(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Each value minus the one before it within its run (runs start at `starts`, which ends
    with len(values)); a run's first value is kept as it is. Same dtype as `values`."""
    deltas = np.empty_like(values)
    if len(values):
        deltas[0] = values[0]
        np.subtract(values[1:], values[:-1], out=deltas[1:])
        firsts = starts[:-1][starts[1:] > starts[:-1]]  # no temporary as wide as `starts`
        deltas[firsts] = values[firsts]
    return deltas


def encode_runs(values: np.ndarray, starts: np.ndarray, ones_free: bool = False
                ) -> tuple[dict[int, np.ndarray], np.ndarray, np.ndarray]:
    """Runs of non-negative integers (run i is values[starts[i]:starts[i + 1]]), each in the
    narrowest width of 1, 2 or 4 bytes that holds it (0 when `ones_free` and the run is all
    ones: nothing stored). Returns ({width: the runs of that width end to end, as uint8,
    uint16 or uint32}, each run's offset in its width's array, each run's width); vectorised
    (a segment has ~10^5 runs) and with no temporary wider than `values`."""
    counts = np.diff(starts)
    runs = len(counts)
    present = counts > 0
    highs = np.zeros(runs, dtype=np.int64)
    if len(values):
        highs[present] = np.maximum.reduceat(values, starts[:-1][present])
    widths = np.where(highs < 1 << 8, 1, np.where(highs < 1 << 16, 2, 4)).astype(np.uint8)
    if ones_free:
        lows = np.ones(runs, dtype=np.int64)
        if len(values):
            lows[present] = np.minimum.reduceat(values, starts[:-1][present])
        widths[(highs <= 1) & (lows == 1)] = 0
    offsets = np.zeros(runs, dtype=np.int64)
    parts = {}
    for width, dtype in _WIDTH_DTYPE.items():
        chosen = widths == width
        sizes = np.where(chosen, counts, 0)
        ends = np.cumsum(sizes)
        offsets[chosen] = (ends - sizes)[chosen]
        parts[width] = values[np.repeat(chosen, counts)].astype(dtype) if chosen.any() \
            else np.zeros(0, dtype=dtype)
    return parts, offsets, widths


def decode_run(parts: dict[int, np.ndarray], offsets: np.ndarray, widths: np.ndarray, i: int,
               count: int) -> np.ndarray:
    """Run i of encode_runs' output as int64 values (`count` of them; ones for width 0)."""
    width = int(widths[i])
    if width == 0:
        return np.ones(count, dtype=np.int64)
    start = int(offsets[i])
    return parts[width][start:start + count].astype(np.int64)


def little_endian(values: np.ndarray) -> tuple[np.ndarray, str]:
    """(`values` contiguous and little-endian, the dtype string a section header records)."""
    values = np.ascontiguousarray(values)
    if values.dtype.byteorder == ">" or (values.dtype.byteorder == "=" and not _LITTLE):
        values = values.astype(values.dtype.newbyteorder("<"))
    return values, (values.dtype.newbyteorder("<").str if values.dtype.itemsize > 1 else values.dtype.str)


class SectionWriter:
    """Named sections (numpy arrays or bytes) written end to end with a JSON header.

    Given a binary file `handle`, each section goes to it as it is added (a merge's output
    is never held whole in memory; write() then adds the header); without one, sections
    are kept until write(handle)."""

    def __init__(self, magic: bytes, handle=None) -> None:
        self.magic = magic
        self.sections: dict[str, tuple[bytes | np.ndarray, str]] = {}
        self.header: dict = {"version": FORMAT_VERSION}
        self._handle = handle
        self._at = 0
        self._where: dict[str, list] = {}

    def add(self, name: str, values: np.ndarray | bytes) -> None:
        if isinstance(values, (bytes, bytearray, memoryview)):
            data, dtype = bytes(values), "|u1"
        else:
            data, dtype = little_endian(values)
        if self._handle is None:
            self.sections[name] = (data, dtype)
        else:
            self.add_chunks(name, dtype, [data])

    def add_chunks(self, name: str, dtype: str, chunks) -> None:
        """Write one section made of `chunks` (bytes or little-endian arrays of `dtype`, in
        order) straight to the handle (streaming writers only)."""
        if self._handle is None:
            raise ValueError("add_chunks needs a SectionWriter given its file")
        pad = -self._at % 8
        if pad:
            self._handle.write(b"\0" * pad)
            self._at += pad
        start = self._at
        for chunk in chunks:
            view = chunk.data if isinstance(chunk, np.ndarray) else chunk
            self._handle.write(view)
            self._at += chunk.nbytes if isinstance(chunk, np.ndarray) else len(chunk)
        self._where[name] = [start, self._at - start, dtype]

    def write(self, handle=None) -> int:
        """Write everything (a streaming writer: the header) to the binary file `handle`
        (a streaming writer's own); returns the bytes written in all."""
        if self._handle is None:
            self._handle = handle
            for name, (data, dtype) in self.sections.items():
                self.add_chunks(name, dtype, [data])
            self.sections.clear()
        handle = self._handle
        encoded = json.dumps({**self.header, "sections": self._where}, sort_keys=True).encode("utf-8")
        handle.write(encoded)
        handle.write(_TRAILER.pack(len(encoded), self.magic))
        return self._at + len(encoded) + _TRAILER.size


_LITTLE = np.little_endian


class SectionFile:
    """A file of SectionWriter's: section(name) views a section as an array over the file
    mapped into memory (for the small per-term and per-document arrays a query indexes
    into), read(name, ...) reads part of one into memory (for the large sections a query
    reads a slice of: postings, positions, stored documents). What is read is not mapped, so
    it does not stay in the process's resident memory after the query: a million-article
    index's postings and stored fields (2 GB) would otherwise become resident as queries
    touch them, and the kernel maps 64 KB around every page a read touches.

    Open files with open() (one object per file per process, shared by searchkit's reader and
    Whoosh's codec), not the constructor."""

    _opened: "weakref.WeakValueDictionary[tuple, SectionFile]" = weakref.WeakValueDictionary()
    _opening = threading.Lock()

    @classmethod
    def open(cls, path: str | os.PathLike):
        """The file at `path`, opened once per process while anything uses it (a file is
        never changed once written; one rewritten under the same name is opened anew)."""
        info = os.stat(path)
        key = (cls, str(path), info.st_ino, info.st_size, info.st_mtime_ns)
        with cls._opening:
            found = cls._opened.get(key)
        if found is None:
            found = cls(path)
            with cls._opening:
                found = cls._opened.setdefault(key, found)
        return found

    def __init__(self, path: str | os.PathLike, magic: bytes) -> None:
        self.path = str(path)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        self._fd = fd
        self._closer = weakref.finalize(self, os.close, fd)
        size = os.fstat(fd).st_size
        if size < _TRAILER.size:
            raise FormatError(f"{path}: too short for a searchkit segment file")
        self._map = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
        length, found = _TRAILER.unpack_from(self._map, size - _TRAILER.size)
        if found in OLDER_MAGICS.get(magic, ()):
            raise OldFormatError(f"{path}: a segment file of an older searchkit")
        if found != magic or length > size - _TRAILER.size:
            raise FormatError(f"{path}: not a searchkit segment file of this version")
        try:
            self.header = json.loads(bytes(self._map[size - _TRAILER.size - length:size - _TRAILER.size]))
        except ValueError as exc:
            raise FormatError(f"{path}: damaged header ({exc})") from None
        version = self.header.get("version") if isinstance(self.header, dict) else None
        if version != FORMAT_VERSION:
            if isinstance(version, int) and version < FORMAT_VERSION:
                raise OldFormatError(f"{path}: segment format {version}, this searchkit reads {FORMAT_VERSION}")
            raise NewFormatError(f"{path}: segment format {version!r}, this searchkit reads {FORMAT_VERSION}")
        self.size = size
        self._where: dict[str, list] = self.header["sections"]
        self._arrays: dict[str, np.ndarray] = {}
        self._places: dict[str, tuple[int, int, np.dtype]] = {}

    def has(self, name: str) -> bool:
        return name in self._where

    def _place(self, name: str) -> tuple[int, int, np.dtype]:
        """(offset, bytes, dtype) of a section, checked against the file's size."""
        found = self._places.get(name)
        if found is None:
            try:
                at, nbytes, dtype = self._where[name]
            except KeyError:
                raise FormatError(f"{self.path}: no section {name}") from None
            dtype = np.dtype(dtype)
            if at + nbytes > self.size or nbytes % dtype.itemsize:
                raise FormatError(f"{self.path}: damaged section {name}")
            found = self._places[name] = (int(at), int(nbytes), dtype)
        return found

    def section(self, name: str) -> np.ndarray:
        """The named section as a read-only array over the mapped file."""
        found = self._arrays.get(name)
        if found is None:
            at, nbytes, dtype = self._place(name)
            found = np.frombuffer(self._map, dtype=dtype, count=nbytes // dtype.itemsize, offset=at)
            self._arrays[name] = found
        return found

    def read(self, name: str, start: int, stop: int) -> np.ndarray:
        """Items start..stop-1 of the named section, read into a new array (not mapped)."""
        # read_into's work written out: a query makes tens of these small reads, and their
        # calls and checks cost about what the system call does
        at, nbytes, dtype = self._place(name)
        if not 0 <= start <= stop <= nbytes // dtype.itemsize:
            raise FormatError(f"{self.path}: damaged section {name} (items {start}..{stop})")
        out = np.empty(stop - start, dtype=dtype)
        if stop > start and os.preadv(self._fd, [out], at + start * dtype.itemsize) != out.nbytes:
            raise FormatError(f"{self.path}: section {name} cut short")
        return out

    def read_into(self, name: str, start: int, out: np.ndarray) -> np.ndarray:
        """Items start..start + len(out) - 1 of the named section, read into `out` (a
        contiguous array of the section's dtype); returns it."""
        at, nbytes, dtype = self._place(name)
        if out.dtype != dtype or not 0 <= start <= start + len(out) <= nbytes // dtype.itemsize:
            raise FormatError(f"{self.path}: damaged section {name} (items {start}..{start + len(out)})")
        if len(out) and os.preadv(self._fd, [out], at + start * dtype.itemsize) != out.nbytes:
            raise FormatError(f"{self.path}: section {name} cut short")
        return out

    def read_bytes(self, name: str, start: int, stop: int) -> bytes:
        """Bytes start..stop-1 of a section of single bytes, read from the file (not mapped)."""
        at, nbytes, _ = self._place(name)
        if not 0 <= start <= stop <= nbytes:
            raise FormatError(f"{self.path}: damaged section {name} (bytes {start}..{stop})")
        found = os.pread(self._fd, stop - start, at + start)
        if len(found) != stop - start:
            raise FormatError(f"{self.path}: section {name} cut short")
        return found

    def gather(self, name: str, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Items starts[i]..starts[i] + counts[i] - 1 of the named section for every i, end to
        end, read from the file: in one piece when the runs lie close together, else each
        run straight into its place in the result (a page of articles' positions: a few
        system calls, no copy of a common word's whole list)."""
        if len(starts) == 1:
            return self.read(name, int(starts[0]), int(starts[0]) + int(counts[0]))
        at, nbytes, dtype = self._place(name)
        size = dtype.itemsize
        starts = np.asarray(starts, dtype=np.int64)
        counts = np.asarray(counts, dtype=np.int64)
        total = int(counts.sum()) if len(counts) else 0
        out = np.empty(total, dtype=dtype)
        if not total:
            return out
        ends = starts + counts
        low, high = int(starts.min()), int(ends.max())
        if low < 0 or high > nbytes // size:
            raise FormatError(f"{self.path}: damaged section {name} (items {low}..{high})")
        # One read costs ~3.5 us, copying 32 KB about as much: read the whole span when
        # that copies less than the runs' reads would cost (and at most _GATHER_MAX).
        if (high - low) * size <= min(_GATHER_SPAN + 32 * 1024 * len(starts), _GATHER_MAX):
            span = self.read(name, low, high)
            index = np.repeat(starts - low - (np.cumsum(counts) - counts), counts) + np.arange(total, dtype=np.int64)
            return span[index]
        view = memoryview(out).cast("B")
        fd, place = self._fd, 0
        for first, count in zip(starts.tolist(), counts.tolist()):
            if count:
                length = count * size
                if os.preadv(fd, [view[place:place + length]], at + first * size) != length:
                    raise FormatError(f"{self.path}: section {name} cut short")
                place += length
        return out

    def span(self, name: str, starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """gather() without the copy out: (an array holding runs starts[i]..starts[i] +
        counts[i] - 1 of the named section, where each run begins in it), for runs in
        ascending order. Close runs come as the one piece of the section around them (one
        read, no index work: PositionBatch gathers many reads' runs in one pass), far ones
        as gather() puts them end to end."""
        if not len(starts):
            return np.zeros(0, dtype=self._place(name)[2]), np.zeros(0, dtype=np.int64)
        low, high = int(starts[0]), int(starts[-1] + counts[-1])
        if (high - low) * self._place(name)[2].itemsize <= min(_GATHER_SPAN + 32 * 1024 * len(starts), _GATHER_MAX):
            return self.read(name, low, high), starts - low
        return self.gather(name, starts, counts), np.cumsum(counts) - counts

    def section_sizes(self) -> dict[str, int]:
        """Bytes of each section."""
        return {name: where[1] for name, where in self._where.items()}

    def release(self) -> None:
        """Let go of this process's resident pages of the mapped file. They stay in the page
        cache, and a later look-up faults back in what it touches. A merge reads whole
        segments through the map: without this, every page it read would count in the
        importing process's memory for as long as the file stays open (at 1M articles, the
        end-of-import merges left ~2 GB of segment pages resident)."""
        self._map.madvise(mmap.MADV_DONTNEED)

    def close(self) -> None:
        """Nothing to do: the file is shared (open()); it is closed and unmapped when no
        reader and no array uses it any more."""


_GATHER_SPAN = 64 * 1024  # bytes gather() reads in one piece, wanted or not, rather than run by run
_GATHER_MAX = 8 * 1024 * 1024


_TOP_STEPS = 10  # the first steps of a term look-up, whose terms _FieldTerms keeps
MANY_TERMS_PER = 8  # postings_of decodes a whole field for 1 asked term in 8 of the field's or more
_EMPTY_INT32 = np.zeros(0, dtype=np.int32)
_EMPTY_INT32.flags.writeable = False


class _FieldTerms:
    """One field's sections of a terms file, and its term look-ups. The per-term arrays are
    mapped; a term's postings and positions are read from the file when asked for."""

    __slots__ = ("name", "count", "has_positions", "boost", "_file", "_map", "_at", "_ends", "_s", "_top")

    def __init__(self, terms: "TermsFile", name: str, facts: dict) -> None:
        self.name = name
        self.count = int(facts["terms"])
        self.has_positions = bool(facts["positions"])
        self.boost = float(facts["boost"])
        self._file = terms
        kinds = ("d", "f", "p") if self.has_positions else ("d", "f")
        s = {key: terms.section(f"{key}.{name}") for key in ("t", "te", "n")}
        for kind in kinds:
            for width in (1, 2, 4):
                terms._place(f"{kind}{width}.{name}")  # present and within the file
            s[kind + "o"] = terms.section(f"{kind}o.{name}")
            s[kind + "w"] = terms.section(f"{kind}w.{name}")
            if not len(s[kind + "o"]) == len(s[kind + "w"]) == self.count:
                raise FormatError(f"{terms.path}: damaged terms of field {name}")
        if not len(s["te"]) == len(s["n"]) == self.count:
            raise FormatError(f"{terms.path}: damaged terms of field {name}")
        self._s = s
        self._map = terms._map  # term(i) is a slice of it: bytes at once, no view in between
        self._at = terms._place(f"t.{name}")[0]
        self._top: dict[int, bytes] = {}  # the terms every look-up compares with first (lower_bound)
        ends = s["te"]
        self._ends = memoryview(ends.astype(ends.dtype.newbyteorder("="), copy=False)).cast("B").cast(
            "I" if ends.dtype.itemsize == 4 else "Q")

    def _parts(self, kind: str) -> dict[int, np.ndarray]:
        """The runs of one kind (d, f or p) of every width, mapped (for merging: whole fields)."""
        return {width: self._file.section(f"{kind}{width}.{self.name}") for width in (1, 2, 4)}

    def _run(self, kind: str, i: int, count: int) -> np.ndarray:
        """Term i's run of `kind` (count values, as int64), read from the file."""
        return self._stored_run(kind, i, count).astype(np.int64)

    def _stored_run(self, kind: str, i: int, count: int) -> np.ndarray:
        """Term i's run of `kind` (count values) as stored: unsigned ints of its width."""
        width = int(self._s[kind + "w"][i])
        if width == 0:
            return np.ones(count, dtype=np.uint8)
        start = int(self._s[kind + "o"][i])
        return self._file.read(f"{kind}{width}.{self.name}", start, start + count)

    def term(self, i: int) -> bytes:
        ends, at = self._ends, self._at
        return self._map[at + (ends[i - 1] if i else 0):at + ends[i]]

    def lower_bound(self, text: bytes) -> int:
        """The number of the first term >= text (count when there is none). A binary search:
        its first _TOP_STEPS steps compare with the same few terms whatever the text, so those
        are kept once read (at most 2**_TOP_STEPS of them), halving a look-up's cost."""
        low, high = 0, self.count
        term, top = self.term, self._top
        steps = 0
        while low < high:
            mid = (low + high) // 2
            if steps < _TOP_STEPS:
                steps += 1
                found = top.get(mid)
                if found is None:
                    found = top[mid] = term(mid)
            else:
                found = term(mid)
            if found < text:
                low = mid + 1
            else:
                high = mid
        return low

    def find(self, text: bytes) -> int | None:
        i = self.lower_bound(text)
        return i if i < self.count and self.term(i) == text else None

    def doc_frequency(self, i: int) -> int:
        return int(self._s["n"][i])

    def terms_by_length(self, prefix: bytes, shortest: int, longest: int, letters: dict[int, int] | None = None,
                        apart: int = 0) -> list[bytes]:
        """The terms that start with `prefix` and are `shortest` to `longest` characters long
        (UTF-8), in order; with `letters` ({ASCII byte: count}) only those whose letter counts
        are at most `apart` from them (the sum over letters of |count - wanted|, any other
        character counting one). Counted over the mapped text at once: only those terms are
        read (what a fuzzy look-up compares, not every term of a letter)."""
        first, end = self.lower_bound(prefix), self.lower_bound(prefix + b"\xff")  # (0xff is never in UTF-8)
        if first >= end:
            return []
        ends = self._s["te"]
        stops = ends[first:end].astype(np.int64) - (int(ends[first - 1]) if first else 0)
        starts = np.concatenate([[0], stops[:-1]])
        low = int(ends[first - 1]) if first else 0
        text = self._s["t"][low:low + int(stops[-1])]

        def per_term(flags: np.ndarray) -> np.ndarray:  # how many flagged bytes each term has
            running = np.zeros(len(flags) + 1, dtype=np.int64)
            np.cumsum(flags, out=running[1:])
            return running[stops] - running[starts]

        chars = per_term((text & 0xC0) != 0x80)  # a character's first byte
        keep = (chars >= shortest) & (chars <= longest)
        if letters:
            counts = [per_term(text == letter) for letter in letters]
            apart_of = chars - sum(counts) + sum(np.abs(c - wanted) for c, wanted in zip(counts, letters.values()))
            keep &= apart_of <= apart
        kept = np.flatnonzero(keep)
        text = text.tobytes()
        return [text[a:b] for a, b in zip(starts[kept].tolist(), stops[kept].tolist())]

    def postings_of(self, texts: list[bytes]) -> dict[bytes, np.ndarray]:
        """{text: its docs (int32)} for those of `texts` that are terms of the field. A few are
        looked up one by one; when they are many next to the field's terms (a sharded move asks
        a shard about every id of a batch) the whole term list and postings are decoded once
        instead (a look-up is ~4.5 us of Python, a term of the whole list well under 1 us)."""
        if len(texts) * MANY_TERMS_PER < self.count:
            numbers = ((text, self.find(text)) for text in texts)
            return {text: self.postings(i)[0] for text, i in numbers if i is not None}
        number = {term: i for i, term in enumerate(self.all_terms())}
        starts, docs, _, _ = self.postings_range(0, self.count)
        return {text: docs[starts[i]:starts[i + 1]] for text in texts if (i := number.get(text)) is not None}

    def postings(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(docs, freqs) int32 of term i, decoded from the stored widths straight to int32
        (document numbers fit; no int64 copies of a common word's list)."""
        count = self.doc_frequency(i)
        return (np.cumsum(self._stored_run("d", i, count), dtype=np.int32),
                self._stored_run("f", i, count).astype(np.int32))

    def position_starts(self, i: int) -> np.ndarray:
        """Where each posting of term i starts in its run of positions, plus the end (int64)."""
        freqs = self._run("f", i, self.doc_frequency(i))
        starts = np.zeros(len(freqs) + 1, dtype=np.int64)
        np.cumsum(freqs, out=starts[1:])
        return starts

    def positions_of(self, i: int, starts: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(owner, position) int64 of every position of term i's postings `rows` (owner: the
        index in rows), in that order: only those postings' positions are read and decoded
        (a few articles' worth, not a common word's whole list). `starts` as position_starts
        gives."""
        return self.positions_of_terms([(i, starts, rows)])[0]

    def positions_of_terms(self, wanted: list[tuple[int, np.ndarray, np.ndarray]]
                           ) -> list[tuple[np.ndarray, np.ndarray]]:
        """positions_of(i, starts, rows) for each (i, starts, rows) of `wanted`, decoded
        together: a query's words in one segment cost one pass, not one each (the per-call
        work, not the positions, is most of a page's cost)."""
        if not wanted:
            return []
        if not self.has_positions:
            raise ValueError(f"field {self.name} has no positions")
        runs = []
        for i, starts, rows in wanted:
            first_of = starts[rows]
            counts = starts[rows + 1] - first_of
            width = int(self._s["pw"][i])
            if width == 0:  # (never written: a positions run of ones)
                runs.append((counts, np.ones(int(counts.sum()), dtype=np.int64)))
            else:
                runs.append((counts, self._file.gather(f"p{width}.{self.name}", int(self._s["po"][i]) + first_of, counts)))
        counts = [c for c, _ in runs]
        positions = decode_positions(np.concatenate(counts) if len(runs) > 1 else counts[0],
                                     np.concatenate([d for _, d in runs]) if len(runs) > 1 else runs[0][1])
        out, at = [], 0
        for term_counts, term_deltas in runs:
            owner = np.repeat(np.arange(len(term_counts), dtype=np.int64), term_counts)
            out.append((owner, positions[at:at + len(term_deltas)]))
            at += len(term_deltas)
        return out

    def position_runs(self, i: int, starts: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(how many positions each of term i's postings `rows` (ascending) has, an array of
        position deltas holding theirs, where each posting's deltas begin in it): read, not
        decoded (PositionBatch). `starts` as position_starts gives."""
        if not self.has_positions:
            raise ValueError(f"field {self.name} has no positions")
        first_of = starts[rows]
        counts = starts[rows + 1] - first_of
        width = int(self._s["pw"][i])
        if width == 0:  # (never written: a positions run of ones)
            return counts, np.ones(int(counts.sum()), dtype=np.uint8), np.cumsum(counts) - counts
        name, base = f"p{width}.{self.name}", int(self._s["po"][i])
        if len(rows):
            # close runs (the usual case): span()'s one piece read here straight, without its
            # copies of the places (a bonus call makes ~10-20 of these reads)
            low, high = int(first_of[0]), int(first_of[-1]) + int(counts[-1])
            if (high - low) * width <= min(_GATHER_SPAN + 32 * 1024 * len(rows), _GATHER_MAX):
                return counts, self._file.read(name, base + low, base + high), first_of - low
        return (counts, *self._file.span(name, base + first_of, counts))

    def positions(self, i: int, freqs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not self.has_positions:
            raise ValueError(f"field {self.name} has no positions")
        starts = np.zeros(len(freqs) + 1, dtype=np.int64)
        np.cumsum(freqs, out=starts[1:])
        total = int(starts[-1])
        deltas = self._run("p", i, total)
        running = np.cumsum(deltas)
        # Deltas restart at each posting: take off the running total before its first one.
        before = np.zeros(len(freqs), dtype=np.int64)
        if len(freqs) > 1:
            before[1:] = running[starts[1:-1] - 1]
        flat = (running - np.repeat(before, freqs)).astype(np.int32)
        return starts, flat

    def all_terms(self) -> list[bytes]:
        """Every term of the field, in order (term i at place i)."""
        text = self._s["t"].tobytes()
        ends = self._s["te"].tolist()
        return [text[a:b] for a, b in zip([0] + ends[:-1], ends)]

    def doc_frequencies(self) -> np.ndarray:
        """Every term's document frequency, in term order."""
        return self._s["n"]

    def postings_range(self, first: int, end: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """Terms first..end-1 decoded at once (for merging segments a slice of a field at a
        time): (starts: term first + i's postings are starts[i]:starts[i + 1], docs int32,
        freqs int32, every posting's positions in posting order int32, or None without
        positions)."""
        s = self._s
        counts = s["n"][first:end].astype(np.int64)
        starts = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=starts[1:])
        docs = _restart_cumsum(_decode_range(self._parts("d"), s["do"], s["dw"], first, counts), starts)
        freqs = _decode_range(self._parts("f"), s["fo"], s["fw"], first, counts).astype(np.int32)
        positions = None
        if self.has_positions:
            post = np.zeros(len(freqs) + 1, dtype=np.int64)
            np.cumsum(freqs, out=post[1:])
            deltas = _decode_range(self._parts("p"), s["po"], s["pw"], first, np.diff(post[starts]))
            positions = _restart_cumsum(deltas, post).astype(np.int32)
        return starts, docs.astype(np.int32), freqs, positions


_HASH_PRIME = np.uint64(0x100000001B3)  # FNV-1a's 64-bit prime, here one 8-byte word at a time
_HASH_BASIS = np.uint64(0xCBF29CE484222325)
_ALL_ONES = np.uint64(0xFFFFFFFFFFFFFFFF)


def hash_values(text: np.ndarray, ends: np.ndarray, starts: np.ndarray | None = None, *,
                 padded: bool = False) -> np.ndarray:
    """A 64-bit hash (int64) of each byte string text[starts[i]:ends[i]] (`text` uint8; by
    default the strings lie end to end, each starting where the one before ends): equal
    strings, equal hashes, in any segment and any process. Vectorised (a merged segment's
    column has ~10^5 mostly distinct cluster ids: hashing them one by one in Python took
    ~1 s per query at a million articles): a string is read as 8-byte little-endian words
    (the last one padded with zeros), its length is mixed in, its words are folded in
    FNV-1a's way and the result is finished with splitmix64's mixer. `padded`: `text` ends
    with 8 zero bytes that belong to no string (saves copying a column's values)."""
    ends = np.asarray(ends, dtype=np.int64)
    if starts is None:
        starts = np.zeros(len(ends), dtype=np.int64)
        starts[1:] = ends[:-1]
    lengths = ends - np.asarray(starts, dtype=np.int64)
    if not padded:
        text = np.concatenate([np.asarray(text, dtype=np.uint8), np.zeros(8, dtype=np.uint8)])
    text = np.ascontiguousarray(text, dtype=np.uint8)
    # the 8 bytes from every offset of the text, as one little-endian word each (no copy)
    words_at = np.ndarray((len(text) - 7,), dtype="<u8", buffer=text.data, strides=(1,))
    h = (_HASH_BASIS ^ lengths.astype(np.uint64)) * _HASH_PRIME
    for word in range((int(lengths.max()) + 7) // 8 if len(lengths) else 0):
        left = lengths - 8 * word  # the string's bytes from this word on
        more = np.flatnonzero(left > 0)
        value = words_at[starts[more] + 8 * word]
        short = left[more] < 8  # the last word: only the string's own bytes
        value[short] &= ~(_ALL_ONES << (left[more][short] * 8).astype(np.uint64))
        h[more] = (h[more] ^ value) * _HASH_PRIME
    h ^= h >> np.uint64(30)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(27)
    h *= np.uint64(0x94D049BB133111EB)
    h ^= h >> np.uint64(31)
    return h.view(np.int64)


def hash_value(value: bytes) -> int:
    """hash_values of one byte string."""
    return int(hash_values(np.frombuffer(value, dtype=np.uint8), np.array([len(value)]))[0])


def _decode_range(parts: dict[int, np.ndarray], offsets: np.ndarray, widths: np.ndarray, first: int,
                  counts: np.ndarray) -> np.ndarray:
    """Runs first..first + len(counts) - 1 of encode_runs' output, end to end, as int64: the
    runs of one width lie end to end in run order in that width's part."""
    out = np.ones(int(counts.sum()), dtype=np.int64)  # width 0: all ones
    mine = widths[first:first + len(counts)]
    for width, part in parts.items():
        chosen = mine == width
        if not chosen.any():
            continue
        at = int(offsets[first + int(np.argmax(chosen))])
        out[np.repeat(chosen, counts)] = part[at:at + int(counts[chosen].sum())]
    return out


def decode_positions(counts: np.ndarray, deltas: np.ndarray, offsets: np.ndarray | None = None) -> np.ndarray:
    """Positions (int64) from position deltas end to end that restart at each posting
    (counts[k] of them for posting k, as _FieldTerms.position_deltas reads them), each plus
    its posting's offsets[k] when given: with offsets (owner << 32) + shift a caller gets
    sortable (owner, position) keys from the same pass."""
    running = np.cumsum(deltas, dtype=np.int64)
    firsts = np.cumsum(counts) - counts
    before = np.zeros(len(counts), dtype=np.int64)
    later = firsts > 0
    before[later] = running[firsts[later] - 1]
    if offsets is not None:
        before -= offsets
    return running - np.repeat(before, counts)


class PositionBatch:
    """Many reads of postings' positions (any terms, fields and segments) decoded in one
    pass: a read costs its postings' places and one system call (_FieldTerms.position_runs),
    the gathering and decoding of all of them are a few array operations (keys()), where
    reading and decoding each term apart costs ~20 array operations per read."""

    def __init__(self) -> None:
        self._counts: list[np.ndarray] = []
        self._spans: list[np.ndarray] = []
        self._firsts: list[np.ndarray] = []  # where each posting's deltas begin, across the spans
        self._size = 0  # the spans' length so far

    def add(self, runs: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
        """Take one read's runs, as _FieldTerms.position_runs gives them; returns how many
        positions each of its postings has."""
        counts, span, firsts = runs
        self._counts.append(counts)
        self._spans.append(span)
        self._firsts.append(firsts + self._size)
        self._size += len(span)
        return counts

    def keys(self, offsets: list[np.ndarray]) -> np.ndarray:
        """Every position read, in the order read, plus its posting's offset (`offsets` end
        to end: one value per posting, in the order added; e.g. (owner << 32) + shift for
        sortable (owner, position) keys)."""
        if not self._counts:
            return np.zeros(0, dtype=np.int64)
        counts = np.concatenate(self._counts).astype(np.int64, copy=False)
        firsts = np.concatenate(self._firsts)
        offsets = np.concatenate(offsets)
        if len(counts) and not counts.all():  # postings without positions (FlatPositions.read of no term)
            firsts, offsets, counts = firsts[counts > 0], offsets[counts > 0], counts[counts > 0]
        total = int(counts.sum())
        if not total:
            return np.zeros(0, dtype=np.int64)
        # Without np.repeat (the slow part): where each posting's deltas begin in the output,
        # the gather index as a running sum of steps (1 within a run, a jump at each run's
        # start), and the positions as one running sum of the deltas in which each posting's
        # first delta also takes away the posting before's total and adds its own offset.
        begins = np.cumsum(counts) - counts
        step = np.ones(total, dtype=np.int64)
        step[begins] = firsts - np.append(0, firsts[:-1] + counts[:-1] - 1)
        # gathered in the spans' own (narrow) width, widened after: the spans hold more than is read
        deltas = np.concatenate(self._spans)[np.cumsum(step, out=step)].astype(np.int64)
        sums = np.add.reduceat(deltas, begins)  # each posting's last position
        deltas[begins] += offsets - np.append(0, offsets[:-1] + sums[:-1])
        return np.cumsum(deltas, out=deltas)


def _restart_cumsum(deltas: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The running sum of `deltas` started again at each run (runs begin at `starts`, which
    ends with len(deltas)): run_deltas undone."""
    running = np.cumsum(deltas)
    counts = np.diff(starts)
    before = np.zeros(len(counts), dtype=np.int64)
    nonempty = counts > 0
    firsts = starts[:-1][nonempty]
    before[nonempty] = np.where(firsts > 0, running[np.maximum(firsts - 1, 0)], 0)
    return running - np.repeat(before, counts)


class TermsFile(SectionFile):
    """A segment's terms file: each indexed field's terms, postings and positions."""

    def __init__(self, path: str | os.PathLike) -> None:
        super().__init__(path, TERMS_MAGIC)
        facts = self.header.get("fields")
        if not isinstance(facts, dict):
            raise FormatError(f"{path}: damaged header (no fields)")
        self._facts: dict[str, dict] = facts
        self._fields: dict[str, _FieldTerms] = {}

    @property
    def field_names(self) -> list[str]:
        """The indexed fields, in the order they were written."""
        return list(self._facts)

    def field(self, name: str) -> _FieldTerms | None:
        """The field's terms (its sections looked at on first use: a query reads a few of the
        segment's fields), or None when no document has it."""
        found = self._fields.get(name)
        if found is None:
            facts = self._facts.get(name)
            if facts is None:
                return None
            try:
                found = self._fields.setdefault(name, _FieldTerms(self, name, facts))
            except (KeyError, TypeError, ValueError) as exc:
                raise FormatError(f"{self.path}: damaged header ({exc})") from None
        return found


class DocsFile(SectionFile):
    """A segment's documents file: lengths, columns, stored fields."""

    def __init__(self, path: str | os.PathLike) -> None:
        super().__init__(path, DOCS_MAGIC)
        try:
            self.doc_count = int(self.header["docs"])
            self.lengths: dict[str, dict] = self.header["lengths"]
            self.numbers = set(self.header["numbers"])
            self.bytes_columns = set(self.header["bytes"])
        except (KeyError, TypeError, ValueError) as exc:
            raise FormatError(f"{path}: damaged header ({exc})") from None
        # The stored fields' zlib dictionaries: one per segment as written; a merged segment
        # keeps each source's (sdo: where each starts in sd, sdn: each document's).
        zdicts = self.section("sd").tobytes()
        if self.has("sdn"):
            ends = self.section("sdo").tolist()
            self._zdicts = [zdicts[a:b] for a, b in zip(ends[:-1], ends[1:])]
            self._zdict_of = self.section("sdn")
        else:
            self._zdicts, self._zdict_of = [zdicts], None

    def length_bytes(self, name: str) -> np.ndarray | None:
        """Each document's length byte of the field, or None when no document has one."""
        return self.section(f"l.{name}") if name in self.lengths else None

    def number_column(self, name: str) -> tuple[np.ndarray, np.ndarray] | None:
        if name not in self.numbers:
            return None
        return self.section(f"cn.{name}"), self.section(f"ch.{name}").view(bool)

    def bytes_column(self, name: str) -> tuple[np.ndarray, list[bytes]] | None:
        """(code per document, the sorted distinct values) of a bytes column, or None."""
        if name not in self.bytes_columns:
            return None
        text = self.section(f"cv.{name}").tobytes()
        ends = self.section(f"cve.{name}").tolist()
        values = [text[a:b] for a, b in zip([0] + ends[:-1], ends)]
        return self.section(f"cc.{name}"), values

    def value_hashes(self, name: str, codes: np.ndarray | None = None) -> np.ndarray | None:
        """hash_values of a bytes column's sorted distinct values (a code's hash is
        value_hashes[code]), or of the values with these codes; None when there is no
        such column. The values are read from the file, not through the map."""
        if name not in self.bytes_columns:
            return None
        ends = self.section(f"cve.{name}")
        size = int(ends[-1]) if len(ends) else 0
        text = np.zeros(size + 8, dtype=np.uint8)  # 8 more zero bytes: see hash_values
        self.read_into(f"cv.{name}", 0, text[:size])
        if codes is None:
            return hash_values(text, ends, padded=True)
        codes = np.asarray(codes, dtype=np.int64)
        stops = ends[codes].astype(np.int64)
        starts = np.where(codes > 0, ends[np.maximum(codes - 1, 0)].astype(np.int64), 0)
        return hash_values(text, stops, starts, padded=True)

    def bytes_values(self, name: str, codes: np.ndarray) -> list[bytes]:
        """The values of a bytes column with these codes (one slice each: a few documents'
        values without building the whole list)."""
        text = self.section(f"cv.{name}")
        ends = self.section(f"cve.{name}")
        out = []
        for code in codes.tolist():
            start = int(ends[code - 1]) if code else 0
            out.append(text[start:int(ends[code])].tobytes())
        return out

    def stored_parts(self) -> tuple[np.ndarray, np.ndarray, list[bytes], np.ndarray]:
        """The stored fields as written (for merging without recompressing): (every document's
        compressed bytes end to end, where each starts plus the end, the zlib dictionaries,
        each document's dictionary number)."""
        which = self._zdict_of if self._zdict_of is not None else np.zeros(self.doc_count, dtype=np.uint8)
        return self.section("s"), self.section("so"), list(self._zdicts), which

    def stored(self, docnum: int) -> dict:
        """One document's stored fields (thread-safe: nothing is shared between calls)."""
        if not 0 <= docnum < self.doc_count:
            raise IndexError(docnum)
        offsets = self.section("so")
        raw = self.read_bytes("s", int(offsets[docnum]), int(offsets[docnum + 1]))
        try:
            zdict = self._zdicts[0 if self._zdict_of is None else int(self._zdict_of[docnum])]
            return pickle.loads(_inflate(raw, zdict))
        except (zlib.error, pickle.UnpicklingError, EOFError, ValueError) as exc:
            raise FormatError(f"{self.path}: damaged stored fields ({exc})") from None


def _inflate(raw: bytes, zdict: bytes) -> bytes:
    """A zlib stream compressed with the dictionary `zdict`, decompressed. The deflate data
    is inflated raw, primed with the dictionary, and the stream's checksum is checked here:
    zlib's own path checks the dictionary's identifier by summing all of its 32 KB at every
    document (~9 us of a document's ~23). A stream without a dictionary goes zlib's way."""
    if len(raw) < 10 or raw[0] & 0x0F != 8 or (raw[0] << 8 | raw[1]) % 31 or not raw[1] & 0x20:
        decompressor = zlib.decompressobj(zdict=zdict)
        return decompressor.decompress(raw) + decompressor.flush()
    decompressor = zlib.decompressobj(-15, zdict=zdict)
    data = decompressor.decompress(raw[6:-4])
    if not decompressor.eof or decompressor.unused_data or zlib.adler32(data).to_bytes(4, "big") != raw[-4:]:
        raise zlib.error("damaged or cut short")
    return data
