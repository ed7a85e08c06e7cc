"""searchkit's Whoosh codec: Whoosh reads and writes segments in searchkit's format (format.py).

Whoosh's extension point for an index format is a Codec with its per-document and field
writers and readers (whoosh.codec.base). A segment records its codec in the commit's TOC
(EngineSegment, pickled by reference to this module), so `whoosh.index.open_dir(path)` opens
a searchkit index wherever searchkit is installed and Whoosh's own Searcher, queries and
writer (deletions, merges) work on it; searchkit's own reader (segment.py) reads the same
files as arrays.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np
from whoosh.codec import base
from whoosh.columns import ColumnReader
from whoosh.matching import ListMatcher, NullMatcher
from whoosh.reading import TermInfo, TermNotFound
from whoosh.system import pack_uint
from whoosh.util.numeric import byte_to_length

from .format import DOCS_EXT, TERMS_EXT, DocsFile, FormatError, TermsFile

if TYPE_CHECKING:
    from .writer import FieldPostings

_LENGTH_OF_BYTE = np.array([byte_to_length(b) for b in range(256)], dtype=np.int64)


def segment_path(storage, segment, ext: str) -> str:
    """The path of one of the segment's files (a FileStorage: searchkit maps files)."""
    folder = getattr(storage, "folder", None)
    if folder is None:
        raise FormatError("searchkit segments are read from a directory (FileStorage)")
    return os.path.join(folder, segment.make_filename(ext))


class EngineCodec(base.Codec):
    """Segments as searchkit's terms and documents files."""

    length_stats = False  # the field writer needs no per-document reader of the new segment

    def per_document_writer(self, storage, segment):
        return DocWriter(storage, segment)

    def field_writer(self, storage, segment):
        return TermsWriter(storage, segment)

    def postings_writer(self, dbfile, byteids=False):
        raise NotImplementedError("searchkit writes a field's postings at once (TermsWriter)")

    def postings_reader(self, dbfile, terminfo, format_, term=None, scorer=None):
        raise NotImplementedError("searchkit reads postings through TermsReader.matcher")

    def terms_reader(self, storage, segment):
        return TermsReader(TermsFile.open(segment_path(storage, segment, TERMS_EXT)),
                           lambda: DocsFile.open(segment_path(storage, segment, DOCS_EXT)))

    def per_document_reader(self, storage, segment):
        return DocReader(DocsFile.open(segment_path(storage, segment, DOCS_EXT)), segment)

    def new_segment(self, storage, indexname):
        return EngineSegment(indexname)


class EngineSegment(base.Segment):
    """A segment in searchkit's format: its document count and deleted documents (kept in
    the TOC, as Whoosh keeps them)."""

    def __init__(self, indexname: str, doc_count: int = 0) -> None:
        super().__init__(indexname)
        self.doccount = doc_count
        self.deleted: set[int] | None = None

    def codec(self, **kwargs):
        return EngineCodec()

    def should_assemble(self) -> bool:
        return False  # the files are mapped in place, never copied into a compound file

    def set_doc_count(self, doc_count: int) -> None:
        self.doccount = doc_count

    def doc_count_all(self) -> int:
        return self.doccount

    def deleted_count(self) -> int:
        return len(self.deleted) if self.deleted else 0

    def deleted_docs(self):
        return iter(sorted(self.deleted)) if self.deleted else iter(())

    def delete_document(self, docnum: int, delete: bool = True) -> None:
        if delete:
            if self.deleted is None:
                self.deleted = set()
            self.deleted.add(docnum)
        elif self.deleted:
            self.deleted.discard(docnum)

    def is_deleted(self, docnum: int) -> bool:
        return bool(self.deleted) and docnum in self.deleted


# -- writing -------------------------------------------------------------------------------


class DocWriter(base.PerDocumentWriter):
    """Stored fields, lengths and column values, written to the documents file at close."""

    def __init__(self, storage, segment) -> None:
        self._storage, self._segment = storage, segment
        from .writer import DocsBuilder  # writing only: a search does not load the writer

        self.docs = DocsBuilder()
        self.is_closed = False

    def start_doc(self, docnum):
        self.docs.start_doc(docnum)

    def add_field(self, fieldname, fieldobj, value, length):
        if value is not None and fieldobj.stored:
            self.docs.add_stored(fieldname, value)
        if length:
            self.docs.add_length(fieldname, length)

    def add_column_value(self, fieldname, columnobj, value):
        self.docs.add_column(fieldname, value)

    def add_kept(self, name: str, value) -> None:
        """A value of no field stored with the document's fields (searchkit's builder, build.py)."""
        self.docs.add_stored(name, value)

    def set_lengths(self, fieldname: str, lengths) -> None:
        """Every document's length in the field at once (searchkit's builder, build.py)."""
        self.docs.set_lengths(fieldname, lengths)

    def add_vector_items(self, fieldname, fieldobj, items):
        raise NotImplementedError("searchkit's schema stores no term vectors")

    def finish_doc(self):
        self.docs.finish_doc()

    def cancel_doc(self):
        self.docs.finish_doc()  # the number is used; Whoosh deletes the document

    def close(self):
        if self.is_closed:
            return
        self.is_closed = True
        if self.docs.doc_count:
            handle = self._segment.create_file(self._storage, DOCS_EXT)
            try:
                self.docs.write(handle)
            finally:
                handle.close()


class TermsWriter(base.FieldWriter):
    """Every field's postings, written to the terms file at close. Whoosh's writer feeds it
    a posting at a time (start_field, start_term, add, ...); searchkit's segment builder
    hands over whole fields (add_field)."""

    def __init__(self, storage, segment) -> None:
        self._storage, self._segment = storage, segment
        from .writer import TermsBuilder

        self.terms = TermsBuilder()
        self._fields = 0
        self.is_closed = False
        self._field = None
        self._items: dict[bytes, list] = {}
        self._term: list | None = None

    def add_field(self, name: str, postings: FieldPostings) -> None:
        self.terms.add(name, postings)
        self._fields += 1

    def start_field(self, fieldname, fieldobj):
        self._field = (fieldname, fieldobj)
        self._items = {}

    def start_term(self, text):
        self._term = self._items.setdefault(bytes(text), [])

    def add(self, docnum, weight, vbytes, length):
        fmt = self._field[1].format
        positions = fmt.decode_positions(vbytes) if fmt.supports("positions") else None
        # A weight is frequency x boost; Whoosh's writer gives a spelling word the value
        # bytes of the posting before it, so the value is not read for a frequency.
        freq = len(positions) if positions is not None else max(1, round(weight / (fmt.field_boost or 1.0)))
        self._term.append((docnum, freq, positions))

    def add_spell_word(self, fieldname, text):
        raise NotImplementedError("spelling words are postings of their spell_ field")

    def finish_term(self):
        self._term = None

    def finish_field(self):
        name, fieldobj = self._field
        if self._items:
            from .writer import postings_from_lists

            self.add_field(name, postings_from_lists(self._items, fieldobj.format.field_boost,
                                                     fieldobj.format.supports("positions")))
        self._field, self._items = None, {}

    def close(self):
        if self.is_closed:
            return
        self.is_closed = True
        if self._fields:
            handle = self._segment.create_file(self._storage, TERMS_EXT)
            try:
                self.terms.write(handle)
            finally:
                handle.close()


# -- reading -------------------------------------------------------------------------------


class _EncodedValues:
    """Each posting's value as the field's Whoosh format encodes it, made when asked for
    (phrase queries ask for positions; most queries never do)."""

    def __init__(self, terms, number: int, freqs: np.ndarray, fmt) -> None:
        self._terms, self._number, self._freqs, self._format = terms, number, freqs, fmt
        self._positions = None

    def __len__(self) -> int:
        return len(self._freqs)

    def __getitem__(self, i: int) -> bytes:
        fmt = self._format
        if self._terms.has_positions and fmt.supports("positions"):
            if self._positions is None:
                self._positions = self._terms.positions(self._number, self._freqs)
            starts, flat = self._positions
            return fmt.encode(flat[starts[i]:starts[i + 1]].tolist())
        if fmt.supports("frequency"):
            return pack_uint(int(self._freqs[i]))
        return b""


class _Cursor(base.FieldCursor):
    """Walks one field's sorted terms (Whoosh's fuzzy matching, terms_within)."""

    def __init__(self, terms, fieldobj) -> None:
        self._terms, self._fieldobj = terms, fieldobj
        self._i = 0

    def first(self):
        self._i = 0
        return self.text()

    def find(self, string):
        if not isinstance(string, bytes):
            string = self._fieldobj.to_bytes(string)
        self._i = self._terms.lower_bound(string)
        return self.text()

    def next(self):
        self._i += 1
        return self.text()

    def text(self):
        if self._terms is None or self._i >= self._terms.count:
            return None
        return self._fieldobj.from_bytes(self._terms.term(self._i))

    def term(self):
        text = self.text()
        return None if text is None else self._terms.term(self._i)


class TermsReader(base.TermsReader):
    """Whoosh's view of a terms file."""

    def __init__(self, terms: TermsFile, docs) -> None:
        self._file = terms
        self._docs_opener = docs
        self._docs: DocsFile | None = None

    def _field(self, fieldname):
        return self._file.field(fieldname)

    def _lookup(self, fieldname, text):
        field = self._field(fieldname)
        if field is None:
            return None, None
        if not isinstance(text, bytes):
            text = text.encode("utf-8")
        return field, field.find(text)

    def __contains__(self, term):
        _, number = self._lookup(*term)
        return number is not None

    def cursor(self, fieldname, fieldobj):
        return _Cursor(self._field(fieldname), fieldobj)

    def terms(self):
        for name in sorted(self._file.field_names):
            field = self._file.field(name)
            for i in range(field.count):
                yield name, field.term(i)

    def terms_from(self, fieldname, prefix):
        if not isinstance(prefix, bytes):
            prefix = prefix.encode("utf-8")
        for name in sorted(self._file.field_names):
            if name < fieldname:
                continue
            field = self._file.field(name)
            start = field.lower_bound(prefix) if name == fieldname else 0
            for i in range(start, field.count):
                yield name, field.term(i)

    def items(self):
        for name, text in self.terms():
            yield (name, text), self.term_info(name, text)

    def items_from(self, fieldname, prefix):
        for name, text in self.terms_from(fieldname, prefix):
            yield (name, text), self.term_info(name, text)

    def _lengths(self, fieldname):
        if self._docs is None:
            self._docs = self._docs_opener()
        codes = self._docs.length_bytes(fieldname)
        return None if codes is None else _LENGTH_OF_BYTE[codes]

    def term_info(self, fieldname, text):
        field, number = self._lookup(fieldname, text)
        if number is None:
            raise TermNotFound((fieldname, text))
        docs, freqs = field.postings(number)
        weights = freqs * field.boost
        lengths = self._lengths(fieldname)
        minlength = maxlength = 0
        if lengths is not None and len(docs):
            mine = lengths[docs]
            minlength, maxlength = int(mine.min()), int(mine.max())
        return TermInfo(weight=float(weights.sum()), df=len(docs), minlength=minlength, maxlength=maxlength,
                        maxweight=float(weights.max()) if len(docs) else 0.0,
                        minid=int(docs[0]) if len(docs) else None, maxid=int(docs[-1]) if len(docs) else 0)

    def frequency(self, fieldname, text):
        field, number = self._lookup(fieldname, text)
        if number is None:
            return 0
        return float(field.postings(number)[1].sum() * field.boost)

    def doc_frequency(self, fieldname, text):
        field, number = self._lookup(fieldname, text)
        return 0 if number is None else field.doc_frequency(number)

    def matcher(self, fieldname, text, format_, scorer=None):
        field, number = self._lookup(fieldname, text)
        if number is None:
            raise TermNotFound((fieldname, text))
        docs, freqs = field.postings(number)
        if not len(docs):
            return NullMatcher()
        weights = (freqs * np.float32(field.boost)).astype(np.float32).tolist()
        return ListMatcher(docs.tolist(), weights, _EncodedValues(field, number, freqs, format_), format_,
                           scorer=scorer, term=(fieldname, text), terminfo=self.term_info(fieldname, text))

    def indexed_field_names(self):
        return self._file.field_names

    def close(self):
        self._file.close()
        if self._docs is not None:
            self._docs.close()


class _Column(ColumnReader):
    """A column's values for Whoosh's sorting and facets (numbers, or bytes)."""

    def __init__(self, values: list, keys: list, default, reversible: bool = True) -> None:
        self._values, self._keys, self._default = values, keys, default
        self._doccount = len(values)
        self._reverse = False
        self._reversible = reversible

    def __getitem__(self, docnum):
        return self._values[docnum]

    def sort_key(self, docnum):
        key = self._keys[docnum]
        return -key if self._reverse else key

    def set_reverse(self):
        if not self._reversible:
            raise NotImplementedError("a bytes column sorts forwards only (as Whoosh's)")
        self._reverse = True

    def load(self):
        return self._values


class DocReader(base.PerDocumentReader):
    """Whoosh's view of a documents file and the segment's deletions."""

    def __init__(self, docs: DocsFile, segment) -> None:
        self._file, self._segment = docs, segment

    def doc_count(self):
        return self._file.doc_count - self._segment.deleted_count()

    def doc_count_all(self):
        return self._file.doc_count

    def has_deletions(self):
        return self._segment.has_deletions()

    def is_deleted(self, docnum):
        return self._segment.is_deleted(docnum)

    def deleted_docs(self):
        return self._segment.deleted_docs()

    def supports_columns(self):
        return True

    def has_column(self, fieldname):
        return fieldname in self._file.numbers or fieldname in self._file.bytes_columns

    def column_reader(self, fieldname, column):
        default = column.default_value()
        numbers = self._file.number_column(fieldname)
        if numbers is not None:
            values, has = numbers
            # Whoosh's default may not fit an int64 (2**64 - 1 for an unsigned column).
            keys = [v if h else default for v, h in zip(values.tolist(), has.tolist())]
            return _Column(keys, keys, default)
        codes, distinct = self._file.bytes_column(fieldname)
        codes = codes.astype(np.int64)
        values = [distinct[c] for c in codes.tolist()]
        return _Column(values, values, default, reversible=False)

    def doc_field_length(self, docnum, fieldname, default=0):
        codes = self._file.length_bytes(fieldname)
        if codes is None or not 0 <= docnum < len(codes):
            return default
        return byte_to_length(int(codes[docnum]))

    def field_length(self, fieldname):
        return self._file.lengths.get(fieldname, {}).get("total", 0)

    def min_field_length(self, fieldname):
        return self._file.lengths.get(fieldname, {}).get("min", 0)

    def max_field_length(self, fieldname):
        return self._file.lengths.get(fieldname, {}).get("max", 0)

    def has_vector(self, docnum, fieldname):
        return False

    def vector(self, docnum, fieldname, format_):
        raise KeyError(f"no term vectors in searchkit segments ({fieldname})")

    def stored_fields(self, docnum):
        return self._file.stored(docnum)

    def all_stored_fields(self):
        for docnum in self.all_doc_ids():
            yield self.stored_fields(docnum)

    def close(self):
        self._file.close()
