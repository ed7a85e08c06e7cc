"""Write a segment's two files (format.py) from postings and documents held in memory.

FieldPostings is one field's postings as flat arrays (terms sorted, each term's run of
postings, positions in posting order); TermsBuilder turns the fields into the terms file,
DocsBuilder collects each document's stored fields, lengths and column values into the
documents file. The codec's Whoosh writers (codec.py) and searchkit's fast segment builder
(build.py) both end here, so every segment has the same bytes whoever wrote it.
"""

from __future__ import annotations

import pickle
import zlib
from array import array
from dataclasses import dataclass

import numpy as np
from whoosh.util.numeric import length_to_byte

from .format import (DOCS_MAGIC, STORED_DICTIONARY, STORED_LEVEL, STORED_SAMPLE, TERMS_MAGIC, SectionWriter,
                     encode_runs, narrowest, run_deltas)


@dataclass
class FieldPostings:
    """One field's postings: term i has postings starts[i]:starts[i + 1] of docs/freqs (docs
    ascending), and its postings' positions are the next sum(freqs) values of `positions`
    (None for a field without positions). Terms are UTF-8 bytes, sorted."""

    terms: list[bytes]
    starts: np.ndarray
    docs: np.ndarray
    freqs: np.ndarray
    positions: np.ndarray | None
    boost: float = 1.0


def postings_from_lists(items: dict[bytes, list[tuple[int, int, list[int] | None]]], boost: float,
                        has_positions: bool) -> FieldPostings:
    """FieldPostings from term -> [(docnum, freq, positions or None), ...] (any order of terms;
    each term's postings in document order)."""
    terms = sorted(items)
    counts = np.fromiter((len(items[t]) for t in terms), dtype=np.int64, count=len(terms))
    starts = np.zeros(len(terms) + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    flat = [p for t in terms for p in items[t]]
    docs = np.fromiter((p[0] for p in flat), dtype=np.int64, count=len(flat))
    freqs = np.fromiter((p[1] for p in flat), dtype=np.int64, count=len(flat))
    positions = None
    if has_positions:
        positions = np.fromiter((x for p in flat for x in (p[2] or ())), dtype=np.int64)
    return FieldPostings(terms, starts, docs, freqs, positions, boost)


class WordRuns:
    """One segment's text fields as each document's tokens in order (add_tokens), sorted into
    postings for each field at the end (runs): a C-level look-up per word while indexing, one
    numpy sort per field after, instead of collecting postings one by one in Python.

    Tokens are numbered by a vocabulary (analysis.Vocabulary: `numbers`, a dict from raw
    token to number, `terms` and `words`, lists by number, and add(tokens) to number new
    ones) that outlives the segment, so a token is analysed once per process."""

    def __init__(self, doc_count: int, vocabulary) -> None:
        self.doc_count = doc_count
        if len(vocabulary) >= vocabulary.limit:
            vocabulary.clear()
        self.vocabulary = vocabulary
        self._forward: dict[str, array] = {}
        self._bounds: dict[str, array] = {}
        self._sorted: dict[str, dict[str, np.ndarray]] = {}  # field -> runs(field), once asked for
        self.fields: list[str] = []  # the text fields, in the order they were first seen
        self._ranks: np.ndarray | None = None  # token number -> its term's place in terms()
        self._terms: list[bytes] = []

    def add_tokens(self, fieldname: str, docnum: int, tokens: list[str]) -> None:
        """Document `docnum`'s field as its raw tokens in order (position n is the nth)."""
        forward = self._forward.get(fieldname)
        if forward is None:
            forward = self._forward[fieldname] = array("I")
            self.fields.append(fieldname)
            self._bounds[fieldname] = array("q", bytes(8 * (self.doc_count + 1)))
        # One look-up per word, in C; a token not numbered yet is numbered there and then.
        forward.extend(map(self.vocabulary.numbers.__getitem__, tokens))
        self._bounds[fieldname][docnum + 1] = len(forward)

    def __len__(self) -> int:
        return len(self.fields)

    def _present(self, fieldname: str | None = None) -> np.ndarray:
        """The token numbers used in the field (any text field by default), ascending."""
        seen = np.zeros(len(self.vocabulary), dtype=bool)
        for name, words in self._forward.items():
            if fieldname is None or name == fieldname:
                seen[np.frombuffer(words, dtype=np.uint32)] = True
        return np.flatnonzero(seen)

    def words(self, fieldname: str) -> set[str]:
        """The distinct words (unstemmed, stop words out) of the field in this segment: its
        did-you-mean words. Call it before runs(fieldname)."""
        words = self.vocabulary.words
        found = {words[n] for n in self._present(fieldname).tolist()}
        found.discard("")
        return found

    def terms(self) -> list[bytes]:
        """Every term of the segment's text fields, sorted (b"" first where a stop word was
        seen): runs() numbers them in this order, so that a field's terms come out sorted.
        Call it once every word has been added."""
        if self._ranks is None:
            present = self._present().tolist()
            all_terms = self.vocabulary.terms
            self._terms = sorted({all_terms[n] for n in present})
            rank = {term: place for place, term in enumerate(self._terms)}
            self._ranks = np.zeros(len(self.vocabulary),
                                   dtype=np.uint16 if len(self._terms) <= 1 << 16 else np.uint32)
            self._ranks[present] = [rank[all_terms[n]] for n in present]
        return self._terms

    def _stop(self) -> int | None:
        """The place of b"" (a stop word's term) in terms(), if there is one."""
        terms = self.terms()
        return 0 if terms and terms[0] == b"" else None

    def lengths(self, fieldname: str) -> np.ndarray:
        """Each document's count of indexed words in the field (stop words left out). Call it
        before runs(fieldname)."""
        bounds = np.maximum.accumulate(np.frombuffer(self._bounds[fieldname], dtype=np.int64))
        lengths = np.diff(bounds)
        stop = self._stop()
        if stop is not None:
            ranked = self._ranks[np.frombuffer(self._forward[fieldname], dtype=np.uint32)]
            # The stop words before each document's end, from where they are (not a running
            # count over every word: 8 bytes a word, ~60 MB at a build's peak of memory).
            lengths -= np.diff(np.searchsorted(np.flatnonzero(ranked == stop), bounds))
        return lengths

    def runs(self, fieldname: str) -> dict[str, np.ndarray]:
        """The field's postings as arrays: ids and freqs of each posting by term number then
        document, starts (each term number's first posting, plus the end), positions (each
        posting's, in posting order) and pos_starts, terms numbered in terms() order. The
        words added for the field are let go of."""
        found = self._sorted.get(fieldname)
        if found is None:
            terms = self.terms()
            words = self._forward.pop(fieldname)
            ranked = self._ranks[np.frombuffer(words, dtype=np.uint32)]
            del words
            found = self._sorted[fieldname] = _runs(ranked,
                                                    np.frombuffer(self._bounds.pop(fieldname), dtype=np.int64),
                                                    len(terms), self._stop())
        return found


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
    # Postings (~2.6M a batch) indexed in 32 bits where they fit: their int64 index and
    # frequencies were the largest arrays of a build, at its peak of memory.
    at = np.flatnonzero(first).astype(width)
    del first
    return {"ids": docs[at], "freqs": np.diff(at, append=width(len(forward))),
            "starts": _starts(forward[at], terms), "positions": position,
            "pos_starts": _starts(forward, terms)}


class TermsBuilder:
    """The terms file of one segment: add() each indexed field, then write()."""

    def __init__(self) -> None:
        self._out = SectionWriter(TERMS_MAGIC)
        self._fields: dict[str, dict] = {}

    def add(self, name: str, field: FieldPostings) -> None:
        out = self._out
        count = len(field.terms)
        text = b"".join(field.terms)
        ends = np.fromiter(map(len, field.terms), dtype=np.int64, count=count).cumsum()
        out.add(f"t.{name}", text)
        out.add(f"te.{name}", narrowest(ends, ("<u4", "<u8")))
        starts = np.asarray(field.starts, dtype=np.int64)
        docs = _compact(field.docs)
        freqs = _compact(field.freqs)
        out.add(f"n.{name}", narrowest(np.diff(starts), ("<u1", "<u2", "<u4")))
        kinds = [("d", run_deltas(docs, starts), starts, False), ("f", freqs, starts, True)]
        has_positions = field.positions is not None
        if has_positions:
            # A term's run of positions is all its postings' positions, deltas per posting.
            # Each posting's start in 32 bits where they fit: this is a build's peak of memory.
            post_starts = np.zeros(len(freqs) + 1, dtype=np.int32 if len(field.positions) < 1 << 31 else np.int64)
            np.cumsum(freqs, out=post_starts[1:])
            positions = run_deltas(_compact(field.positions), post_starts)
            kinds.append(("p", positions, post_starts[starts], False))
            del post_starts
        for key, values, runs, ones_free in kinds:
            parts, offsets, widths = encode_runs(values, runs, ones_free)
            for width, part in parts.items():
                out.add(f"{key}{width}.{name}", part)
            out.add(f"{key}o.{name}", narrowest(offsets, ("<u4", "<u8")))
            out.add(f"{key}w.{name}", widths)
        self._fields[name] = {"terms": count, "positions": has_positions, "boost": float(field.boost),
                              "postings": int(len(field.docs))}

    def write(self, handle) -> int:
        """Write the file to the binary file `handle` (not closed); returns its size."""
        self._out.header["fields"] = self._fields
        return self._out.write(handle)


def _compact(values) -> np.ndarray:
    """Non-negative integers as int32 when they fit (they do, short of 2**31 documents or
    words in an article): half the memory of int64 while a field's postings are encoded."""
    values = np.asarray(values)
    if len(values) and int(values.max()) >= 1 << 31:
        return values.astype(np.int64, copy=False)
    return values.astype(np.int32, copy=False)


def length_bytes(lengths: np.ndarray) -> np.ndarray:
    """Whoosh's length byte (util.numeric.length_to_byte) of every length, as uint8."""
    unique, inverse = np.unique(lengths, return_inverse=True)
    table = np.array([length_to_byte(int(v)) if v else 0 for v in unique.tolist()], dtype=np.uint8)
    return table[inverse]


class DocsBuilder:
    """The documents file of one segment, a document at a time (docnums 0, 1, 2, ...)."""

    def __init__(self) -> None:
        self._sample: list[bytes] = []  # the first documents, pickled, until the dictionary is made
        self._zdict: bytes | None = None
        self._primed = None  # a compressor primed with the dictionary: each document's is a copy
        self._stored: list[bytes] = []  # each document's stored fields, compressed
        self._lengths: dict[str, array] = {}
        self._numbers: dict[str, dict[int, int]] = {}
        self._bytes: dict[str, dict[int, bytes]] = {}
        self.doc_count = 0
        self._current: dict | None = None

    def start_doc(self, docnum: int) -> None:
        if docnum != self.doc_count:
            raise ValueError(f"documents must come in order: got {docnum}, expected {self.doc_count}")
        self._current = {}

    def add_stored(self, name: str, value) -> None:
        self._current[name] = value

    def add_length(self, name: str, length: int) -> None:
        column = self._lengths.get(name)
        if column is None:
            column = self._lengths[name] = array("I")
        missing = self.doc_count + 1 - len(column)
        if missing > 0:
            column.frombytes(bytes(column.itemsize * missing))
        column[self.doc_count] = length

    def set_lengths(self, name: str, lengths: np.ndarray) -> None:
        """The field's length in every document so far (0: none); as add_length for each."""
        if lengths.any():
            self._lengths[name] = array("I", np.asarray(lengths, dtype=np.uint32).tobytes())

    def add_column(self, name: str, value) -> None:
        if isinstance(value, (bytes, bytearray)):
            self._bytes.setdefault(name, {})[self.doc_count] = bytes(value)
        elif value is not None:
            self._numbers.setdefault(name, {})[self.doc_count] = int(value)

    def finish_doc(self) -> None:
        pickled = pickle.dumps(self._current or {}, pickle.HIGHEST_PROTOCOL)
        self._current = None
        self.doc_count += 1
        if self._zdict is not None:
            self._stored.append(self._compress(pickled))
        else:
            self._sample.append(pickled)
            if len(self._sample) == STORED_SAMPLE:
                self._start_dictionary()

    def _start_dictionary(self) -> None:
        """The compression dictionary: the end of the first documents, end to end. Each
        document is compressed on its own (one is read per result), primed with it."""
        self._zdict = b"".join(self._sample)[-STORED_DICTIONARY:]
        self._primed = zlib.compressobj(STORED_LEVEL, zdict=self._zdict)
        self._stored.extend(map(self._compress, self._sample))
        self._sample = []

    def _compress(self, pickled: bytes) -> bytes:
        compressor = self._primed.copy()  # a third cheaper than priming a new one
        return compressor.compress(pickled) + compressor.flush()

    def write(self, handle) -> int:
        """Write the file to the binary file `handle` (not closed); returns its size."""
        if self._zdict is None:
            self._start_dictionary()
        n = self.doc_count
        out = SectionWriter(DOCS_MAGIC)
        fields = {}
        for name, column in sorted(self._lengths.items()):
            lengths = np.zeros(n, dtype=np.int64)
            lengths[:len(column)] = np.frombuffer(column, dtype=np.uint32)
            out.add(f"l.{name}", length_bytes(lengths))
            present = lengths[lengths > 0]
            fields[name] = {"total": int(lengths.sum()),
                            "min": int(present.min()) if len(present) else 0,
                            "max": int(present.max()) if len(present) else 0}
        numbers = {}
        for name, values in self._numbers.items():
            column = np.zeros(n, dtype=np.int64)
            has = np.zeros(n, dtype=np.uint8)
            at = np.fromiter(values, dtype=np.int64, count=len(values))
            column[at] = np.fromiter(values.values(), dtype=np.int64, count=len(values))
            has[at] = 1
            out.add(f"cn.{name}", column)
            out.add(f"ch.{name}", has)
            numbers[name] = True
        for name, values in self._bytes.items():
            distinct = sorted(set(values.values()) | ({b""} if len(values) < n else set()))
            code_of = {v: i for i, v in enumerate(distinct)}
            missing = code_of.get(b"", 0)
            codes = np.full(n, missing, dtype=np.int64)
            at = np.fromiter(values, dtype=np.int64, count=len(values))
            codes[at] = np.fromiter(map(code_of.__getitem__, values.values()), dtype=np.int64, count=len(values))
            out.add(f"cc.{name}", narrowest(codes, ("<u1", "<u2", "<u4")))
            out.add(f"cv.{name}", b"".join(distinct))
            out.add(f"cve.{name}", narrowest(np.cumsum([len(v) for v in distinct], dtype=np.int64),
                                             ("<u4", "<u8")))
        offsets = np.zeros(len(self._stored) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in self._stored], out=offsets[1:])
        out.add("s", b"".join(self._stored))
        out.add("sd", self._zdict)
        out.add("so", narrowest(offsets, ("<u4", "<u8")))
        self._stored = []
        out.header.update(docs=n, lengths=fields, numbers=sorted(numbers), bytes=sorted(self._bytes))
        return out.write(handle)
