"""The posting lists and term tables build.py writes itself (postings.py) are W3's: byte for byte
when every block is compressed as W3 does, and read back identically by Whoosh's own readers
and matchers when small blocks are left uncompressed."""

from __future__ import annotations

import zlib
from io import BytesIO
from pickle import load, loads

import pytest
from whoosh.codec.whoosh3 import W3Codec
from whoosh.reading import SegmentReader
from whoosh.util.numeric import byte_to_length, length_to_byte

import searchkit
from conftest import corpus_articles
from reliability_support import generated
from searchkit.article import Article, clean
from searchkit import build
from searchkit.build import build_segment
from searchkit.postings import COMPRESS, W3_COMPRESS
from searchkit.store import article_to_doc


def _docs(count: int = 300) -> list[dict]:
    records = generated(count, "w", seed=5)
    records[7]["title"] = "Zanzibar " + records[7]["title"]  # a term with one posting
    records[9]["tags"] = ["Markets", "Oil"]  # KEYWORD (Frequency values)
    records[9]["published"] = "2017-11-14T09:00:00+00:00"  # DATETIME (several terms a value)
    records[11]["body"] = ("The U.S. economy grew 3.5% in 2017, O'Brien's report said; 4,000 jobs. "
                           "Kurdish-led forces don’t expect the Bank of England's rates to change.")
    return [article_to_doc(article) for article in corpus_articles()] + [
        article_to_doc(clean(Article(**record))) for record in records]


def _segment(tmp_path, name: str, docs: list[dict], **options):
    index = searchkit.open_index(tmp_path / name, create=True)
    ix = index.whoosh_index()
    segment = build_segment(ix.storage, ix.indexname, ix.schema, docs, **options)
    return ix, segment


def _file(ix, segment, ext: str) -> bytes:
    handle = ix.storage.open_file(segment.make_filename(ext))
    try:
        return handle.read()
    finally:
        handle.close()


def _rewritten_by_w3(ix, segment):
    """The same postings pushed one by one through W3's own field writer (all blocks compressed),
    with each document's field length as Whoosh reads it back."""
    codec = W3Codec()
    reader = SegmentReader(ix.storage, ix.schema, segment)
    target = codec.new_segment(ix.storage, ix.indexname)
    writer = codec.field_writer(ix.storage, target)
    try:
        for fieldname in sorted(reader.indexed_field_names()):
            field = ix.schema[fieldname]
            writer.start_field(fieldname, field)
            for tbytes in reader.lexicon(fieldname):
                writer.start_term(tbytes)
                matcher = reader.postings(fieldname, tbytes)
                while matcher.is_active():
                    docnum = matcher.id()
                    writer.add(docnum, matcher.weight(), matcher.value() or b"",
                               reader.doc_field_length(docnum, fieldname, 0))
                    matcher.next()
                writer.finish_term()
            writer.finish_field()
    finally:
        writer.close()
        reader.close()
    return target


@pytest.mark.parametrize("chunk", [build.TEXT_CHUNK, 37])  # 37: text postings in many chunks
def test_segment_postings_and_terms_are_byte_for_byte_w3s(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(build, "TEXT_CHUNK", chunk)
    ix, segment = _segment(tmp_path, "ix", _docs(), compress=W3_COMPRESS)
    reference = _rewritten_by_w3(ix, segment)
    for ext in (W3Codec.POSTS_EXT, W3Codec.TERMS_EXT):
        ours = _file(ix, segment, ext)
        with ix.storage.open_file(reference.make_filename(ext)) as handle:
            theirs = handle.read()
        assert len(ours) > 10_000
        assert ours == theirs


def _postings(ix, segment) -> dict:
    """Every term's statistics and postings (each with its block's statistics), as Whoosh's
    reader and matchers serve them."""
    found = {}
    reader = SegmentReader(ix.storage, ix.schema, segment)
    try:
        for fieldname in sorted(reader.indexed_field_names()):
            for tbytes in reader.lexicon(fieldname):
                info = reader.term_info(fieldname, tbytes)
                matcher = reader.postings(fieldname, tbytes)
                postings = []
                while matcher.is_active():
                    postings.append((matcher.id(), matcher.weight(), matcher.value(),
                                     matcher.block_min_length(), matcher.block_max_length(),
                                     matcher.block_max_weight(), matcher.block_max_id()))
                    matcher.next()
                found[fieldname, tbytes] = (info.weight(), info.doc_frequency(), info.min_length(),
                                            info.max_length(), info.max_weight(), info.min_id(),
                                            info.max_id(), postings)
    finally:
        reader.close()
    return found


def _block_levels(ix, segment) -> list[int]:
    """The compression level in every block's info tuple, read from the postings file (each
    block's data is unpickled too, decompressed if its level says so)."""
    data = _file(ix, segment, W3Codec.POSTS_EXT)
    levels, offset = [], 0
    while offset < len(data):
        assert data[offset:offset + 4] == b"W3Bl"
        offset += 4
        while True:
            size = int.from_bytes(data[offset:offset + 4], "big", signed=True)
            block = BytesIO(data[offset + 4:offset + 4 + abs(size)])
            info = load(block)
            levels.append(info[3])
            payload = block.read()
            loads(zlib.decompress(payload) if info[3] else payload)
            offset += 4 + abs(size)
            if size < 0:
                break
    return levels


def test_small_blocks_uncompressed_read_back_exactly_as_compressed_ones(tmp_path):
    docs = _docs()
    ix_all, compressed = _segment(tmp_path, "all", docs, compress=W3_COMPRESS)
    ix_some, mixed = _segment(tmp_path, "some", docs)
    levels = _block_levels(ix_some, mixed)
    assert set(levels) == {0, COMPRESS[1]}  # both kinds are there
    assert set(_block_levels(ix_all, compressed)) == {3}
    ours, theirs = _postings(ix_some, mixed), _postings(ix_all, compressed)
    assert ours == theirs
    assert any(postings[-1][-1] != postings[0][-1] for *_, postings in ours.values())  # several blocks
    assert ours["title", b"zanzibar"][1] == 1


def test_length_bytes_survive_quantizing():
    # build.py keeps each document's length byte where Whoosh kept the quantized length.
    assert all(length_to_byte(byte_to_length(b)) == b for b in range(256))


def test_segment_holds_what_whooshs_own_writer_indexes(tmp_path):
    docs = _docs(150)
    ix, ours = _segment(tmp_path, "ours", docs)
    whoosh_ix = searchkit.open_index(tmp_path / "whoosh", create=True).whoosh_index()
    with whoosh_ix.writer() as writer:
        for doc in docs:
            writer.add_document(**doc)
    (theirs,) = whoosh_ix._segments()
    mine, whooshs = _postings(ix, ours), _postings(whoosh_ix, theirs)
    # Whoosh adds a spelling word to document 0 once per article that has it; we add it once.
    spelling = {key for key in whooshs if key[0].startswith("spell_")}
    assert {key for key in mine if key[0].startswith("spell_")} == spelling
    assert len(spelling) > 80
    for key in spelling:
        del mine[key], whooshs[key]
    assert mine == whooshs
    assert len(mine) > 400
