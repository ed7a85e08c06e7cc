"""Read-only access to one segment's postings, lengths, columns and stored fields as arrays.

A SegmentReader is the only way above the engine to reach the bytes of an index: the
evaluator asks it for a term's postings (document numbers and frequencies), positions, a
field's lengths, a column, one document's stored fields. Its files (format.TermsFile,
format.DocsFile) are mapped into memory once per segment and shared by every reader of that
segment (SegmentFiles); a segment's deletions come from the commit (the TOC's segment
object), so a reader is cheap to make for each new commit. A Snapshot is the list of live
segments of one committed state, each with its document number offset.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import whoosh.index
from whoosh.util.numeric import byte_to_length

from .codec import EngineSegment
from .format import DOCS_EXT, TERMS_EXT, DocsFile, OldFormatError, TermsFile, hash_value

_LENGTH_OF_BYTE = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)
_NO_INTS = np.zeros(0, dtype=np.int32)
_NO_INTS.flags.writeable = False
_NO_STARTS = np.zeros(1, dtype=np.int64)
_NO_STARTS.flags.writeable = False


class SegmentFiles:
    """One segment's two files, mapped, and what is derived from them once (lengths as
    floats, column hashes): shared by every SegmentReader of the segment."""

    def __init__(self, folder: str, segment_id: str) -> None:
        self.terms = TermsFile.open(os.path.join(folder, segment_id + TERMS_EXT))
        self.docs = DocsFile.open(os.path.join(folder, segment_id + DOCS_EXT))
        self.derived: dict = {}

    def nbytes(self) -> dict[str, int]:
        """Bytes of each part of the segment (see stats)."""
        parts: dict[str, int] = {}
        for name, size in self.terms.section_sizes().items():
            kind = name.split(".", 1)[0]
            part = {"d": "postings", "f": "frequencies", "p": "positions"}.get(kind[:1], "term dictionary") \
                if kind[1:] in ("1", "2", "4") else "term dictionary"
            field_name = name.split(".", 1)[1] if "." in name else ""
            if field_name.startswith("spell_"):
                part = "spelling words"
            parts[part] = parts.get(part, 0) + size
        for name, size in self.docs.section_sizes().items():
            kind = name.split(".", 1)[0]
            part = {"l": "lengths", "cn": "columns", "ch": "columns", "cc": "columns", "cv": "columns",
                    "cve": "columns", "s": "stored fields", "so": "stored fields",
                    "sd": "stored fields"}.get(kind, "other")
            parts[part] = parts.get(part, 0) + size
        parts["headers"] = (self.terms.size - sum(self.terms.section_sizes().values())
                            + self.docs.size - sum(self.docs.section_sizes().values()))
        return parts


class SegmentReader:
    """One segment's arrays (read-only; thread-safe)."""

    def __init__(self, files: SegmentFiles, segment_id: str, deleted: frozenset[int] = frozenset()) -> None:
        self._files = files
        self.segment_id = segment_id
        self.doc_count: int = files.docs.doc_count
        self._deleted_ids = deleted
        self._deleted: np.ndarray | None = None

    def deleted(self) -> np.ndarray:
        """A mask of the deleted documents (len doc_count)."""
        if self._deleted is None:
            if not self._deleted_ids:  # one mask for every reader of the segment (a reader a query)
                mask = self._files.derived.get(("no deletions",))
                if mask is None:
                    mask = np.zeros(self.doc_count, dtype=bool)
                    mask.flags.writeable = False
                    mask = self._files.derived.setdefault(("no deletions",), mask)
            else:
                mask = np.zeros(self.doc_count, dtype=bool)
                mask[np.fromiter(self._deleted_ids, dtype=np.int64, count=len(self._deleted_ids))] = True
                mask.flags.writeable = False
            self._deleted = mask
        return self._deleted

    def deleted_count(self) -> int:
        return len(self._deleted_ids)

    def file_bytes(self) -> int:
        """The bytes of the segment's files on disk."""
        return self._files.terms.size + self._files.docs.size

    def release(self) -> None:
        """Drop the segment files' resident pages from this process (see SectionFile.release):
        after a merge has read them whole."""
        self._files.terms.release()
        self._files.docs.release()

    def fields(self) -> list[str]:
        """The indexed fields of the segment."""
        return self._files.terms.field_names

    def boost(self, field: str) -> float:
        """The field's boost: a posting's weight is float32(frequency x boost)."""
        found = self._files.terms.field(field)
        return found.boost if found is not None else 1.0

    def postings(self, field: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(document numbers int32, frequencies int32) of `term` in `field`, deleted included."""
        found = self._files.terms.field(field)
        number = found.find(term.encode("utf-8")) if found is not None else None
        if number is None:
            return _NO_INTS, _NO_INTS
        return found.postings(number)

    def postings_of(self, field: str, terms: list[str]) -> dict[str, np.ndarray]:
        """{term: document numbers int32, deleted included} for those of `terms` in `field`,
        looked up together (format._FieldTerms.postings_of)."""
        found = self._files.terms.field(field)
        if found is None:
            return {}
        encoded = [term.encode("utf-8") for term in terms]
        docs = found.postings_of(encoded)
        return {term: docs[text] for term, text in zip(terms, encoded) if text in docs}

    def term_postings(self, field: str, term: str) -> tuple[np.ndarray, np.ndarray, tuple | None]:
        """postings(field, term) and (the field's terms, the term's number) for reading its
        positions later (None when the term is not in the field): one look-up of the term
        for both."""
        found = self._files.terms.field(field)
        number = found.find(term.encode("utf-8")) if found is not None else None
        if number is None:
            return _NO_INTS, _NO_INTS, None
        docs, freqs = found.postings(number)
        return docs, freqs, (found, number)

    def positions(self, field: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(starts int64, flat int32): posting i's positions are flat[starts[i]:starts[i + 1]]."""
        found = self._files.terms.field(field)
        number = found.find(term.encode("utf-8")) if found is not None else None
        if number is None:
            return _NO_STARTS, _NO_INTS
        _, freqs = found.postings(number)
        return found.positions(number, freqs)

    def position_index(self, field: str, term: str):
        """(the field's terms, the term's number, format position_starts) for reading some
        postings' positions with positions_of; None when the term is not in the field."""
        found = self._files.terms.field(field)
        number = found.find(term.encode("utf-8")) if found is not None else None
        if number is None:
            return None
        if not found.has_positions:
            raise ValueError(f"field {field} has no positions")
        return found, number, found.position_starts(number)

    def doc_frequency(self, field: str, term: str) -> int:
        """How many documents (deleted included) contain the term."""
        found = self._files.terms.field(field)
        number = found.find(term.encode("utf-8")) if found is not None else None
        return 0 if number is None else found.doc_frequency(number)

    def field_length_total(self, field: str) -> int:
        """The sum of every document's length of the field (exact)."""
        return int(self._files.docs.lengths.get(field, {}).get("total", 0))

    def field_lengths(self, field: str) -> np.ndarray:
        """Each document's length of the field, as BM25F sees it (quantised, at least 1)."""
        key = ("lengths", field)
        found = self._files.derived.get(key)
        if found is None:
            codes = self._files.docs.length_bytes(field)
            if codes is None:
                found = np.ones(self.doc_count, dtype=np.float64)
            else:
                found = _LENGTH_OF_BYTE[codes]
                found[codes == 0] = 1.0
            found.flags.writeable = False
            self._files.derived[key] = found
        return found

    def terms(self, field: str, prefix: str = "") -> Iterator[str]:
        """The field's terms that start with `prefix`, sorted."""
        found = self._files.terms.field(field)
        if found is None:
            return
        start = prefix.encode("utf-8")
        for i in range(found.lower_bound(start), found.count):
            term = found.term(i)
            if not term.startswith(start):
                return
            yield term.decode("utf-8")

    def terms_by_length(self, field: str, prefix: str, shortest: int, longest: int,
                        letters: dict[int, int] | None = None, apart: int = 0) -> list[bytes]:
        """The field's terms (UTF-8) that start with `prefix` and are `shortest` to `longest`
        characters long, sorted (and with `letters`, near those letter counts: see
        format._FieldTerms.terms_by_length)."""
        found = self._files.terms.field(field)
        return [] if found is None else found.terms_by_length(prefix.encode("utf-8"), shortest, longest, letters, apart)

    def numbers(self, field: str) -> tuple[np.ndarray, np.ndarray]:
        """A numeric column as int64 values and a mask of documents with a value."""
        found = self._files.docs.number_column(field)
        if found is None:
            return np.zeros(self.doc_count, dtype=np.int64), np.zeros(self.doc_count, dtype=bool)
        return found

    def _bytes_column(self, field: str) -> tuple[np.ndarray, list[bytes]]:
        key = ("bytes", field)
        found = self._files.derived.get(key)
        if found is None:
            column = self._files.docs.bytes_column(field)
            if column is None:
                column = (np.zeros(self.doc_count, dtype=np.int64), [b""])
            found = self._files.derived[key] = (column[0].astype(np.int64), column[1])
        return found

    def categories(self, field: str) -> tuple[np.ndarray, list[str]]:
        """A column of few distinct values as a code per document and each code's value."""
        codes, values = self._bytes_column(field)
        return codes, [v.decode("utf-8", "replace") for v in values]

    def _value_hashes(self, field: str) -> np.ndarray | None:
        """format.hash_values of each distinct value of a bytes column (by code), or None."""
        key = ("value hashes", field)
        found = self._files.derived.get(key)
        if found is None:
            found = self._files.docs.value_hashes(field)
            if found is None:
                return None
            found.flags.writeable = False
            self._files.derived[key] = found
        return found

    def hashed(self, field: str) -> tuple[np.ndarray, dict[int, str]]:
        """A bytes column as format.hash_value(value) per document (of b"" when none), and
        each hash's value for source_key. The cluster column's (mostly distinct values) is
        worked out when asked for, not kept: rank.py keeps what it makes of it index-wide."""
        key = ("hashed", field)
        found = self._files.derived.get(key)
        if found is None:
            hashes = self._value_hashes(field)
            if hashes is None:
                found = (np.full(self.doc_count, hash_value(b""), dtype=np.int64), {hash_value(b""): ""})
            elif field == "cluster":
                docs = self._files.docs
                return hashes[docs.read(f"cc.{field}", 0, docs.doc_count)], {}
            else:
                codes, values = self._bytes_column(field)
                found = (hashes[codes], {int(h): v.decode("utf-8", "replace") for h, v in zip(hashes.tolist(), values)})
            found[0].flags.writeable = False
            self._files.derived[key] = found
        return found

    def hashed_at(self, field: str, docs: np.ndarray) -> np.ndarray:
        """hashed(field)[0][docs] without a hash per document of the whole column (a
        one-query process, `searchkit query`, reads only the matches' codes)."""
        found = self._files.derived.get(("hashed", field))
        if found is not None:
            return found[0][docs]
        docs_file = self._files.docs
        if field not in docs_file.bytes_columns:
            return np.full(len(docs), hash_value(b""), dtype=np.int64)
        hashes = self._files.derived.get(("value hashes", field))
        codes = docs_file.section(f"cc.{field}")[docs]
        return hashes[codes] if hashes is not None else docs_file.value_hashes(field, codes)

    def field_terms(self, field: str):
        """The field's terms section reader (format._FieldTerms), or None: for merging."""
        return self._files.terms.field(field)

    def docs_file(self) -> DocsFile:
        """The segment's documents file (format.DocsFile): for merging."""
        return self._files.docs

    def stored(self, docnum: int) -> dict:
        """The stored fields of one document."""
        return self._files.docs.stored(docnum)

    def nbytes(self) -> dict[str, int]:
        return self._files.nbytes()


@dataclass
class Snapshot:
    """The live segments of one committed state, each with its global document offset."""

    segments: list[tuple[SegmentReader, int]]
    generation: int = -1
    owner: object = field(default=None, repr=False)  # keeps what the segments need alive

    @property
    def doc_count(self) -> int:
        return sum(r.doc_count for r, _ in self.segments)

    @property
    def live_count(self) -> int:
        return sum(r.doc_count - r.deleted_count() for r, _ in self.segments)

    @property
    def key(self) -> tuple:
        return tuple((r.segment_id, r.deleted_count()) for r, _ in self.segments)


class SegmentCache:
    """Each live segment's files, opened once, by segment id (thread-safe; one per Index)."""

    def __init__(self) -> None:
        self._files: dict[tuple[str, str], SegmentFiles] = {}
        self._lock = threading.Lock()
        self._last: Snapshot | None = None

    def snapshot(self, ix: whoosh.index.FileIndex) -> Snapshot:
        """The latest commit of the Whoosh index `ix` as SegmentReaders. Raises OldFormatError
        when a segment was written in an older format."""
        folder = ix.storage.folder
        generation = ix.latest_generation()
        last = self._last
        if last is not None and last.generation == generation and last.owner == folder:
            return last
        toc = whoosh.index.TOC.read(ix.storage, ix.indexname, gen=generation)
        readers, offset, live = [], 0, set()
        for segment in toc.segments:
            if not isinstance(segment, EngineSegment):
                raise OldFormatError(f"segment {segment.segment_id()} is in an older format")
            key = (folder, segment.segment_id())
            live.add(key)
            with self._lock:
                files = self._files.get(key)
            if files is None:
                files = SegmentFiles(folder, segment.segment_id())
                with self._lock:
                    files = self._files.setdefault(key, files)
            reader = SegmentReader(files, segment.segment_id(), frozenset(segment.deleted_docs()))
            readers.append((reader, offset))
            offset += reader.doc_count
        with self._lock:
            for key in [k for k in self._files if k not in live]:
                del self._files[key]  # merged away or another generation: unmapped when unused
        snap = Snapshot(readers, generation, folder)
        self._last = snap
        return snap
