"""The codec of indexes written by searchkit before schema 3 (Whoosh's W3 files), kept so that
`searchkit reindex` can read such an index (its TOC names this class as searchkit.codec.NewsCodec)
and convert it.

W3's codec with one speed fix for writing: a segment's missing columns are remembered.

When Whoosh writes a segment's postings it asks, for every posting, for the document's field
length (whoosh3.W3PerDocReader.doc_field_length). Fields without a length column — the
spell_* fields that did-you-mean adds — are looked up on disk again each time (a stat()
per posting: 300k for 1,000 articles, a quarter of an import's CPU time). The files on disk
are exactly W3Codec's, so indexes written with it read the same everywhere.
"""

from __future__ import annotations

from whoosh.codec.whoosh3 import W3Codec, W3PerDocReader


class _PerDocReader(W3PerDocReader):
    def has_column(self, fieldname: str) -> bool:
        known = self.__dict__.setdefault("_has_column", {})
        found = known.get(fieldname)
        if found is None:
            found = known[fieldname] = super().has_column(fieldname)
        return found


class NewsCodec(W3Codec):
    """W3Codec whose per-document reader answers has_column from memory after the first ask."""

    def per_document_reader(self, storage, segment):
        return _PerDocReader(storage, segment)
