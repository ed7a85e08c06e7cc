"""Merging segments: fewer, larger segments, so that a query's per-segment steps are few.

An import writes one segment per batch (10,000 articles), so an index of N articles has
N / 10,000 segments, and every query pays its per-segment steps (term look-ups, positions)
that many times (at 100k, ~0.2 ms of a lean query per segment). merge_plan() merges runs of
neighbouring segments, as many at once as its three limits allow, and only balanced runs:
- no segment of a run holds more than half of its articles (segments under FLOOR_DOCS count
  as FLOOR_DOCS), so that each article's segment at least doubles whenever it is rewritten:
  an article is rewritten at most log2(MAX_MERGED_DOCS / batch) times, the bound of a log
  merge policy (Lucene's LogMergePolicy), with the balanced merges that Lucene's
  TieredMergePolicy prefers (its skew score, its floor segment size);
- a merged segment holds at most MAX_MERGED_DOCS articles (this bounds the rewrites);
- a merge's sources hold at most MERGE_ROOM (40%) of the index folder's bytes (segments
  and the import's side files): the merged copy, no bigger than its sources, is written
  beside them, so the disk holds at most 1.4x the index a merge starts from; the final
  index is up to ~6% smaller than that (a merged segment has one term dictionary where its
  sources had one each), so the peak stays within the 1.5x of the final index that an
  import may take. (A field's temporary file, below, is gone before the documents file is
  written: the terms file so far and the largest field's runs, ~0.9x the merged copy at
  100k, stay below the whole copy.)
Of the runs that may merge, the longest goes first (fewest segments left), the one of fewest
articles of equal length (cheapest), then the first. A 100k import (10 batches) ends with 2
segments (50k, 50k; the log policy of factor 4 and a third of the index per merge that this
replaces left 4: 30k x3 + 10k), a 1M import with 4 of 250k (was 7: 160k x6 + 40k), each
article rewritten once (was up to twice).
Only neighbours merge and each keeps its documents' order, so document numbers keep their
order (ties in a ranking break the same way before and after).

merge_segments() writes the merged segment through the same format (format.SectionWriter)
from the sources' arrays with numpy, a slice of about SLICE_POSTINGS postings at a time:
deleted documents and the postings, terms and stored fields that were only theirs are
dropped; stored fields are copied still compressed, each with its source's zlib
dictionary. Each section goes to the file as it is made (a field's encoded runs through a
temporary file in the index folder), and the sources' pages are let go of after each
slice, so a merge's memory is about one slice plus a few bytes per term and per document,
whatever the merged size (a 100k-article merge peaked at 221 MB of RSS, down from 615 MB
when the output was held whole; how many sources it reads changes little: see
docs/performance.md). The caller commits the
merge (store.Index.merge): readers that already opened the old segments keep them mapped
until they let go.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass

import numpy as np
from whoosh.util.numeric import byte_to_length

from .codec import EngineCodec, EngineSegment
from .format import (DOCS_EXT, DOCS_MAGIC, TERMS_EXT, TERMS_MAGIC, SectionWriter, encode_runs, little_endian, narrowest,
                     run_deltas)
from .segment import SegmentReader

MAX_MERGED_DOCS = 250_000  # no merge makes a segment of more articles (see the module docstring)
FLOOR_DOCS = 1_000  # articles: smaller segments count as this many in a run's balance
MERGE_ROOM = 0.4  # of the index's bytes, at most, in a merge's sources (peak disk 1.4x: see above)
SLICE_POSTINGS = 1 << 20  # postings merged at a time (memory: ~100 bytes each)
_COPY_BYTES = 8 << 20  # bytes copied at a time from a temporary file or a source segment
_LENGTH_OF_BYTE = np.array([byte_to_length(b) for b in range(256)], dtype=np.int64)


def merge_plan(sizes: list[int], everything: bool = False, nbytes: list[int] | None = None,
               room: int | None = None) -> tuple[int, int] | None:
    """The next merge for segments of these live sizes (in order): (first, end) of a run of
    neighbours to merge into one, or None when the index is merged enough (see the module
    docstring). `nbytes`: each segment's bytes on disk, `room`: the most bytes a merge's
    sources may hold (MERGE_ROOM of the index folder's bytes); without them, the articles
    stand for the bytes and the room is MERGE_ROOM of the segments'. Sizes count live articles,
    so a segment that lost many to deletions merges sooner, its deletions dropped. With
    `everything` (an explicit optimize, which may double the disk for a while): all of them
    into one."""
    if everything:
        return (0, len(sizes)) if sizes else None
    if nbytes is None:
        nbytes, room = sizes, int(sum(sizes) * MERGE_ROOM)
    counted = [max(n, FLOOR_DOCS) for n in sizes]
    best: tuple | None = None
    for first in range(len(sizes) - 1):
        docs = held = largest = weight = 0
        for end in range(first, len(sizes)):
            docs += sizes[end]
            held += nbytes[end]
            weight += counted[end]
            largest = max(largest, counted[end])
            if docs > MAX_MERGED_DOCS or (room is not None and held > room):
                break
            if end > first and 2 * largest <= weight:  # balanced: every source at least doubles
                key = (first - end, docs, first)  # longest, then fewest articles, then first
                if best is None or key < best[0]:
                    best = (key, (first, end + 1))
    return None if best is None else best[1]


@dataclass
class _Source:
    reader: SegmentReader
    new_of: np.ndarray  # each document's number in the merged segment, -1 if deleted
    base: int


def merge_segments(storage, indexname: str, readers: list[SegmentReader]) -> EngineSegment:
    """Write `readers`' live documents, in order, as one new segment in `storage` (a Whoosh
    FileStorage of the index); returns it, not yet in any TOC."""
    sources, base = [], 0
    for reader in readers:
        live = ~reader.deleted()
        new_of = np.full(reader.doc_count, -1, dtype=np.int64)
        new_of[live] = base + np.arange(int(live.sum()))
        sources.append(_Source(reader, new_of, base))
        base += int(live.sum())
    segment = EngineCodec().new_segment(storage, indexname)
    segment.set_doc_count(base)
    names: list[str] = []
    for reader in readers:
        names.extend(n for n in reader.fields() if n not in names)
    handle = segment.create_file(storage, TERMS_EXT)
    try:
        terms = SectionWriter(TERMS_MAGIC, handle)
        facts: dict[str, dict] = {}
        for name in names:
            found = _merge_field(name, sources, terms, storage.folder)
            if found is not None:
                facts[name] = found
            for reader in readers:
                reader.release()  # each field's pages were read whole: only one field's stay resident
        terms.header["fields"] = facts
        terms.write()
    finally:
        handle.close()
    handle = segment.create_file(storage, DOCS_EXT)
    try:
        _write_docs(sources, base, handle)
    finally:
        handle.close()
    for reader in readers:
        reader.release()
    return segment


class _Encoded:
    """One kind of a field's runs (doc deltas, frequencies or positions) encoded a slice of
    terms at a time, each width's runs end to end, as format.encode_runs lays them out.
    Each width's encoded runs go to a temporary file in `spill_dir` as they are made and
    are copied into the section at the end, so that memory holds one slice, not the field."""

    def __init__(self, ones_free: bool, spill_dir: str) -> None:
        self.ones_free = ones_free
        self.spill_dir = spill_dir
        self.spills: dict[int, tuple[object, str]] = {}  # width -> (temporary file, dtype)
        self.sizes: dict[int, int] = {}
        self.offsets: list[np.ndarray] = []
        self.widths: list[np.ndarray] = []

    def add(self, values: np.ndarray, runs: np.ndarray) -> None:
        parts, offsets, widths = encode_runs(values, runs, self.ones_free)
        offsets = offsets.copy()
        for width, part in parts.items():
            offsets[widths == width] += self.sizes.get(width, 0)
            data, dtype = little_endian(part)
            if width not in self.spills:
                self.spills[width] = (tempfile.TemporaryFile(dir=self.spill_dir), dtype)
            self.spills[width][0].write(data.data)
            self.sizes[width] = self.sizes.get(width, 0) + len(part)
        self.offsets.append(offsets)
        self.widths.append(widths)

    def write(self, out: SectionWriter, key: str, name: str) -> None:
        for width, (spill, dtype) in self.spills.items():
            spill.seek(0)
            out.add_chunks(f"{key}{width}.{name}", dtype, iter(lambda spill=spill: spill.read(_COPY_BYTES), b""))
            spill.close()
        self.spills.clear()
        out.add(f"{key}o.{name}", narrowest(np.concatenate(self.offsets) if self.offsets
                                            else np.zeros(0, dtype=np.int64), ("<u4", "<u8")))
        out.add(f"{key}w.{name}", np.concatenate(self.widths) if self.widths else np.zeros(0, dtype=np.uint8))

    def close(self) -> None:
        for spill, _ in self.spills.values():
            spill.close()
        self.spills.clear()


def _merge_field(name: str, sources: list[_Source], out: SectionWriter, spill_dir: str) -> dict | None:
    """Add one field's sections over every source, renumbered and without deleted documents,
    to the terms file `out`; returns the field's header facts (None: no source has it). The
    field goes a slice of terms (about SLICE_POSTINGS postings) at a time, so that memory
    stays near the size of the slice, not of the merged field."""
    parts = []
    for source in sources:
        found = source.reader.field_terms(name)
        if found is not None and found.count:
            parts.append((source, found, found.all_terms()))
    if not parts:
        return None
    terms = sorted(set().union(*(p[2] for p in parts)))
    number = {t: i for i, t in enumerate(terms)}
    mappings = [np.fromiter(map(number.__getitem__, local), dtype=np.int64, count=len(local))
                for _, _, local in parts]
    del number
    per_term = np.zeros(len(terms), dtype=np.int64)  # postings per merged term, deleted included
    for (_, found, _), mapping in zip(parts, mappings):
        per_term[mapping] += found.doc_frequencies()
    has_positions = all(found.has_positions for _, found, _ in parts)
    kinds = {"d": _Encoded(False, spill_dir), "f": _Encoded(True, spill_dir)}
    if has_positions:
        kinds["p"] = _Encoded(False, spill_dir)
    try:
        return _merge_slices(name, parts, mappings, terms, per_term, has_positions, kinds, out)
    finally:
        for encoded in kinds.values():
            encoded.close()


def _merge_slices(name: str, parts: list, mappings: list[np.ndarray], terms: list[bytes], per_term: np.ndarray,
                  has_positions: bool, kinds: dict[str, _Encoded], out: SectionWriter) -> dict:
    """_merge_field's work once the merged terms are known: the postings a slice of terms
    at a time (about SLICE_POSTINGS postings), then the field's sections."""
    kept_terms: list[bytes] = []
    counts_out: list[np.ndarray] = []
    total = 0
    bounds = np.searchsorted(np.cumsum(per_term), np.arange(SLICE_POSTINGS, int(per_term.sum()), SLICE_POSTINGS),
                             side="right")
    for t0, t1 in zip([0, *bounds.tolist()], [*bounds.tolist(), len(terms)]):
        if t1 <= t0:
            continue
        keys, docs, freqs, positions = [], [], [], []
        for (source, found, _), mapping in zip(parts, mappings):
            l0, l1 = np.searchsorted(mapping, [t0, t1]).tolist()
            if l1 <= l0:
                continue
            starts, ids, fq, pos = found.postings_range(l0, l1)
            new = source.new_of[ids]
            keep = new >= 0
            keys.append(np.repeat(mapping[l0:l1] - t0, np.diff(starts))[keep])
            docs.append(new[keep])
            freqs.append(fq[keep])
            if has_positions:
                positions.append(pos[np.repeat(keep, fq)])
            source.reader.release()  # the slice's pages: resident memory stays near one slice
        key = np.concatenate(keys)
        order = np.argsort(key, kind="stable")  # by term; sources and documents keep their order
        counts = np.bincount(key, minlength=t1 - t0)
        used = np.flatnonzero(counts)  # terms only deleted documents had go
        starts = np.zeros(len(used) + 1, dtype=np.int64)
        np.cumsum(counts[used], out=starts[1:])
        freq = np.concatenate(freqs)
        kinds["d"].add(run_deltas(np.concatenate(docs)[order], starts), starts)
        if has_positions:
            flat = np.concatenate(positions)
            first = np.zeros(len(freq) + 1, dtype=np.int64)
            np.cumsum(freq, out=first[1:])
            sizes = freq[order].astype(np.int64)
            post = np.zeros(len(sizes) + 1, dtype=np.int64)
            np.cumsum(sizes, out=post[1:])
            at = np.repeat(first[:-1][order] - post[:-1], sizes) + np.arange(int(post[-1]))
            kinds["p"].add(run_deltas(flat[at], post), post[starts])
            del flat, at
        kinds["f"].add(freq[order], starts)
        kept_terms.extend(terms[t0 + i] for i in used.tolist())
        counts_out.append(counts[used])
        total += len(key)
    counts = np.concatenate(counts_out) if counts_out else np.zeros(0, dtype=np.int64)
    out.add(f"t.{name}", b"".join(kept_terms))
    out.add(f"te.{name}", narrowest(np.cumsum([len(t) for t in kept_terms], dtype=np.int64), ("<u4", "<u8")))
    out.add(f"n.{name}", narrowest(counts, ("<u1", "<u2", "<u4")))
    for key, encoded in kinds.items():
        encoded.write(out, key, name)
    return {"terms": len(kept_terms), "positions": has_positions, "boost": parts[0][1].boost, "postings": total}


def _write_docs(sources: list[_Source], n: int, handle) -> None:
    """Write the merged documents file to `handle`: lengths, columns and stored fields of
    the live documents (the stored fields copied a piece at a time, never held whole)."""
    out = SectionWriter(DOCS_MAGIC, handle)
    kept = [np.flatnonzero(s.new_of >= 0) for s in sources]
    files = [s.reader.docs_file() for s in sources]
    lengths = {}
    for name in sorted({k for f in files for k in f.lengths}):
        column = np.concatenate([_or_zeros(f.length_bytes(name), f.doc_count, np.uint8)[k]
                                 for f, k in zip(files, kept)]) if kept else np.zeros(0, dtype=np.uint8)
        out.add(f"l.{name}", column)
        total = 0
        for f, k, s in zip(files, kept, sources):  # the exact total, less what deleted ones had
            codes = f.length_bytes(name)
            facts = f.lengths.get(name, {})
            total += int(facts.get("total", 0))
            if codes is not None and len(k) < f.doc_count:
                total -= int(_LENGTH_OF_BYTE[codes[s.new_of < 0]].sum())
        present = _LENGTH_OF_BYTE[column[column > 0]]
        lengths[name] = {"total": max(total, 0), "min": int(present.min()) if len(present) else 0,
                         "max": int(present.max()) if len(present) else 0}
    numbers = sorted({k for f in files for k in f.numbers})
    for name in numbers:
        values, has = [], []
        for f, k in zip(files, kept):
            found = f.number_column(name)
            values.append(found[0][k] if found is not None else np.zeros(len(k), dtype=np.int64))
            has.append(found[1][k].view(np.uint8) if found is not None else np.zeros(len(k), dtype=np.uint8))
        out.add(f"cn.{name}", np.concatenate(values).astype(np.int64))
        out.add(f"ch.{name}", np.concatenate(has).astype(np.uint8))
    columns = sorted({k for f in files for k in f.bytes_columns})
    for name in columns:
        coded = []
        for f, k in zip(files, kept):
            found = f.bytes_column(name)
            coded.append((found[0][k].astype(np.int64), found[1]) if found is not None
                         else (np.zeros(len(k), dtype=np.int64), [b""]))
        distinct = sorted({v for codes, values in coded for v in (values[c] for c in np.unique(codes).tolist())})
        code_of = {v: i for i, v in enumerate(distinct)}
        # (a value only deleted documents had is not among them, and no kept code points at it)
        codes = np.concatenate([np.fromiter((code_of.get(v, 0) for v in values), dtype=np.int64,
                                            count=len(values))[codes] for codes, values in coded])
        out.add(f"cc.{name}", narrowest(codes, ("<u1", "<u2", "<u4")))
        out.add(f"cv.{name}", b"".join(distinct))
        out.add(f"cve.{name}", narrowest(np.cumsum([len(v) for v in distinct], dtype=np.int64), ("<u4", "<u8")))
    offsets, zdicts, which = [np.zeros(1, dtype=np.int64)], [], []
    at = 0
    for f, k in zip(files, kept):
        _, starts, dictionaries, dict_of = f.stored_parts()
        starts = starts.astype(np.int64)
        sizes = starts[k + 1] - starts[k]
        offsets.append(at + np.cumsum(sizes))
        at += int(sizes.sum())
        which.append(dict_of[k].astype(np.int64) + len(zdicts))
        zdicts.extend(dictionaries)
    out.add_chunks("s", "|u1", _stored_pieces(files, kept))
    out.add("sd", b"".join(zdicts))
    out.add("so", narrowest(np.concatenate(offsets), ("<u4", "<u8")))
    out.add("sdo", narrowest(np.concatenate([[0], np.cumsum([len(z) for z in zdicts], dtype=np.int64)])
                             .astype(np.int64), ("<u4", "<u8")))
    out.add("sdn", narrowest(np.concatenate(which) if which else np.zeros(0, dtype=np.int64), ("<u1", "<u2", "<u4")))
    out.header.update(docs=n, lengths=lengths, numbers=numbers, bytes=columns)
    out.write()


def _stored_pieces(files: list, kept: list[np.ndarray]):
    """The kept documents' stored bytes, still compressed, in order: a run of neighbouring
    kept documents at a time (deletions are few: so are the runs), in pieces of at most
    _COPY_BYTES, each source's mapped pages let go of after each piece."""
    for f, k in zip(files, kept):
        data, starts, _, _ = f.stored_parts()
        breaks = np.flatnonzero(np.diff(k) != 1) + 1
        for run in np.split(k, breaks) if len(k) else ():
            first, end = int(starts[run[0]]), int(starts[run[-1] + 1])
            for piece in range(first, end, _COPY_BYTES):
                yield data[piece:min(end, piece + _COPY_BYTES)].tobytes()
                f.release()


def _or_zeros(values: np.ndarray | None, n: int, dtype) -> np.ndarray:
    return values if values is not None else np.zeros(n, dtype=dtype)
