"""The engine's segments, read through SegmentReader, on a tiny literal corpus: exact values."""

from __future__ import annotations

import json
import os
import struct
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import whoosh.index
import whoosh.writing
from whoosh import query as wq
from whoosh.codec.whoosh3 import W3Codec
from whoosh.util.times import datetime_to_long

import searchkit
import searchkit.arrays
from searchkit.article import Article, clean
from searchkit.cli import main
from searchkit.engine.codec import EngineCodec
from searchkit.engine.format import (DocsFile, FormatError, PositionBatch, SectionFile, SectionWriter, TermsFile,
                                     decode_run, encode_runs, hash_value, hash_values, run_deltas)
from searchkit.store import article_to_doc

DOCS = [
    dict(id="a", title="Oil prices rise", body="Oil prices rose again. Oil is dear.",
         source="Gazette", published="2020-01-02T03:04:05+00:00"),
    dict(id="b", title="Rain in Spain", body="The rain in Spain falls mainly on the plain.",
         source="Planet"),
    dict(id="c", title="Oil spill", body="A spill of oil near the coast.", source="Gazette",
         published="2021-06-01T00:00:00+00:00", cluster="a"),
]


@pytest.fixture
def snap(tmp_path):
    ix = searchkit.open_index(tmp_path / "index", create=True)
    ix.write([clean(Article(**d)) for d in DOCS], procs=1)
    return ix.snapshot()


def test_postings_positions_lengths_columns_and_stored_fields(snap):
    ((reader, offset),) = snap.segments
    assert (offset, reader.doc_count, snap.doc_count, snap.live_count) == (0, 3, 3, 3)
    assert reader.deleted().tolist() == [False, False, False]
    docs, freqs = reader.postings("body", "oil")
    assert (docs.tolist(), freqs.tolist()) == ([0, 2], [2, 1])
    starts, flat = reader.positions("body", "oil")
    # "Oil prices rose again. Oil is dear." -> oil at 0 and 4; "A spill of oil ..." -> 3
    assert (starts.tolist(), flat.tolist()) == ([0, 2, 3], [0, 4, 3])
    assert reader.postings("title", "oil")[0].tolist() == [0, 2]
    assert reader.postings("body", "nosuchword")[0].tolist() == []
    assert reader.doc_frequency("body", "rain") == 1
    assert reader.boost("title") == 2.5 and reader.boost("body") == 1.0
    # stop words are not counted: "the rain in spain falls mainly on the plain" -> 5 terms
    assert reader.field_lengths("body").tolist() == [5.0, 5.0, 4.0]
    assert reader.field_length_total("body") == 14
    assert list(reader.terms("body", "sp")) == ["spain", "spill"]
    assert "spain" in list(reader.terms("spell_body"))
    values, has = reader.numbers("published")
    assert has.tolist() == [True, False, True]
    assert values[0] == datetime_to_long(datetime(2020, 1, 2, 3, 4, 5))
    codes, names = reader.categories("source_key")
    assert [names[c] for c in codes] == ["Gazette", "Planet", "Gazette"]
    assert reader.hashed_at("cluster", np.array([2, 1])).tolist() == [hash_value(b"a"), hash_value(b"b")]
    hashes, _ = reader.hashed("cluster")
    assert hashes.tolist() == [hash_value(b"a"), hash_value(b"b"), hash_value(b"a")]
    stored = reader.stored(1)
    assert (stored["id"], stored["title"], stored["source"]) == ("b", "Rain in Spain", "Planet")



def test_several_terms_positions_read_together_are_each_terms_own(snap):
    # "Oil prices rose again. Oil is dear." (doc 0), "A spill of oil near the coast." (doc 2):
    # body oil at 0, 4 | 3; price at 1; spill at 1.
    ((reader, _),) = snap.segments
    wanted = [reader.position_index("body", t) for t in ("oil", "price", "spill", "oil")]
    rows = [np.array([0, 1]), np.array([0]), np.array([0]), np.array([1])]
    terms = wanted[0][0]
    together = terms.positions_of_terms([(number, starts, r) for (_, number, starts), r in zip(wanted, rows)])
    assert [(o.tolist(), p.tolist()) for o, p in together] == [([0, 0, 1], [0, 4, 3]), ([0], [1]), ([0], [1]),
                                                               ([0], [3])]
    for (_, number, starts), r, (owner, position) in zip(wanted, rows, together):
        alone = terms.positions_of(number, starts, r)
        assert alone[0].tolist() == owner.tolist() and alone[1].tolist() == position.tolist()
    assert terms.positions_of_terms([]) == []


def test_positions_read_in_one_batch_decode_to_each_reads_own_keys(snap):
    # PositionBatch.keys: every read's positions + its postings' offsets, in the order read,
    # postings without positions (a term not in the segment) adding nothing.
    ((reader, _),) = snap.segments
    cache = searchkit.arrays.ArrayCache()
    reads = [("oil", [0, 1]), ("price", [0]), ("nosuchword", [0, 1]), ("oil", [1]), ("spill", [0])]
    batch, offsets, expected = PositionBatch(), [], []
    for k, (term, rows) in enumerate(reads):
        positions = cache.postings("k", reader, "body", term)[2]
        rows = np.array(rows)
        counts = positions.read(batch, rows)
        owner_offsets = (np.arange(len(rows), dtype=np.int64) + 10 * k << 32) + 3
        offsets.append(owner_offsets)
        if term != "nosuchword":
            owner, position = positions.flat(rows)
            assert np.bincount(owner, minlength=len(rows)).tolist() == counts.tolist()
            expected += (owner_offsets[owner] + position).tolist()
        else:
            assert counts.tolist() == [0, 0]
    assert batch.keys(offsets).tolist() == expected
    # oil: 0, 4 in doc 0 and 3 in doc 2; price: 1; oil again: 3; spill: 1
    assert [(int(key >> 32), int(key & 0xFFFFFFFF) - 3) for key in expected] == [
        (0, 0), (0, 4), (1, 3), (10, 1), (30, 3), (40, 1)]
    assert PositionBatch().keys([]).tolist() == []


def test_a_terms_postings_come_with_what_reading_its_positions_needs(snap):
    ((reader, _),) = snap.segments
    docs, freqs, (terms, number) = reader.term_postings("body", "oil")
    assert (docs.tolist(), freqs.tolist()) == ([0, 2], [2, 1])
    assert terms.positions_of(number, reader.position_index("body", "oil")[2], np.array([1, 0]))[1].tolist() == [3, 0, 4]
    assert reader.term_postings("body", "nosuchword")[2] is None
    cache = searchkit.arrays.ArrayCache()
    _, _, positions = cache.postings("k", reader, "body", "oil")
    assert [part.tolist() for part in positions.flat(np.array([0, 1]))] == [[0, 0, 1], [0, 4, 3]]

@pytest.mark.parametrize("field", ["id", "body"])
def test_many_terms_looked_up_together_are_each_terms_own_postings(tmp_path, field):
    """SegmentReader.postings_of: a few terms looked up one by one, many (MANY_TERMS_PER) from
    the field's whole term list and postings decoded at once; the same either way."""
    ix = searchkit.open_index(tmp_path / "index", create=True)
    ix.write([clean(Article(id=f"n{i:03d}", title=f"Note {i}", body=f"word{i % 37} word{i % 11} common"))
              for i in range(300)], procs=1)
    ((reader, _),) = ix.snapshot().segments
    terms = [f"n{i:03d}" for i in range(0, 320, 3)] if field == "id" else [f"word{i}" for i in range(40)] + ["common"]
    own = {t: reader.postings(field, t)[0].tolist() for t in terms if len(reader.postings(field, t)[0])}
    for asked in (terms[:3], terms):  # fewer, then more, than one term in MANY_TERMS_PER of the field's
        found = reader.postings_of(field, asked + ["nosuch"])
        assert {t: docs.tolist() for t, docs in found.items()} == {t: own[t] for t in asked if t in own}
        assert all(docs.dtype == np.int32 for docs in found.values())
    assert len(own) == (100 if field == "id" else 38)


def _generation(path) -> str:
    return str(path / (path / "CURRENT").read_text("utf-8").strip())


def test_whoosh_opens_the_index_and_its_searcher_finds_what_searchkit_finds(tmp_path):
    ix = searchkit.open_index(tmp_path / "index", create=True)
    ix.write([clean(Article(**d)) for d in DOCS], batch=2, procs=1)  # two segments
    ix.delete(["b"])
    wix = whoosh.index.open_dir(_generation(tmp_path / "index"))
    cases = [
        ("oil", wq.Term("body", "oil"), {"a", "c"}),
        ('"oil prices"', wq.Phrase("body", ["oil", "price"]), {"a"}),
        ("title:oil AND spill", wq.And([wq.Term("title", "oil"), wq.Term("body", "spill")]), {"c"}),
        ("spill OR rose", wq.Or([wq.Term("body", "spill"), wq.Term("body", "rose")]), {"a", "c"}),
        ("sp*", wq.Prefix("body", "sp"), {"c"}),  # "spain" only in b, deleted
        ("oil -spill", wq.AndNot(wq.Term("body", "oil"), wq.Term("body", "spill")), {"a"}),
    ]
    with wix.searcher() as searcher:
        assert searcher.doc_count() == 2 and len(list(searcher.reader().leaf_readers())) == 2
        for text, query, expected in cases:
            found = {hit["id"] for hit in searcher.search(query, limit=None)}
            ours = {hit.id for hit in searchkit.search(ix, text, limit=10, collapse=False).hits}
            assert found == ours == expected, text


def test_whoosh_writes_and_merges_through_the_codec(tmp_path):
    ix = searchkit.open_index(tmp_path / "index", create=True)
    ix.write([clean(Article(**d)) for d in DOCS], batch=1, procs=1)  # three segments
    wix = whoosh.index.open_dir(_generation(tmp_path / "index"))
    with wix.writer(codec=EngineCodec()) as writer:
        writer.add_document(**article_to_doc(clean(Article(id="d", title="Oil again", body="Oil oil oil."))))
        writer.mergetype = whoosh.writing.OPTIMIZE  # Whoosh reads every segment and writes one
    ((reader, _),) = ix.snapshot().segments
    assert [reader.stored(d)["id"] for d in range(reader.doc_count)] == ["d", "a", "b", "c"]
    docs, freqs = reader.postings("body", "oil")
    assert (docs.tolist(), freqs.tolist()) == ([0, 1, 3], [3, 2, 1])
    assert reader.positions("body", "oil")[1].tolist() == [0, 1, 2, 0, 4, 3]
    assert reader.field_lengths("body").tolist() == [3.0, 5.0, 5.0, 4.0]
    assert list(reader.terms("spell_body", "sp")) == ["spain", "spill"]
    assert [h.id for h in searchkit.search(ix, "oil", collapse=False).hits] == ["d", "a", "c"]


def test_an_index_of_the_old_format_says_to_reindex_and_reindex_converts_it(tmp_path, runner):
    path = tmp_path / "index"
    searchkit.open_index(path, create=True)
    generation = _generation(path)
    wix = whoosh.index.open_dir(generation)
    with wix.writer(codec=W3Codec()) as writer:  # segments as searchkit 2 wrote them
        for d in DOCS:
            writer.add_document(**article_to_doc(clean(Article(**d))))
    (tmp_path / "index" / (path / "CURRENT").read_text().strip() / "searchkit.json").write_text('{"schema": 2}')
    result = runner.invoke(main, ["--index", str(path), "query", "oil"])
    assert result.exit_code == 1
    assert result.output == (f"Error: the index at {path} was built with schema version 2, this searchkit "
                             "uses 3: run `searchkit reindex` to convert it\n")
    result = runner.invoke(main, ["--index", str(path), "reindex"])
    assert (result.exit_code, result.output) == (0, "reindexed 3 articles\n")
    ix = searchkit.open_index(path)
    assert {h.id for h in searchkit.search(ix, "oil", collapse=False).hits} == {"a", "c"}
    assert len(ix.snapshot().segments) == 1


def _as_written_by(path: Path, magic: bytes | None = None, version: int | None = None) -> None:
    """A segment file rewritten as another build would have written it: another magic string
    at its end (an older layout) or another format version in its header."""
    data = path.read_bytes()
    length, found = struct.unpack("<Q8s", data[-16:])
    header = json.loads(data[-16 - length:-16])
    if version is not None:
        header["version"] = version
    text = json.dumps(header).encode()
    path.write_bytes(data[:-16 - length] + text + struct.pack("<Q8s", len(text), magic or found))


@pytest.mark.parametrize("file, magic, version", [(".skd", b"SKDOCS1\n", None), (".skt", b"SKTERM1\n", None),
                                                  (".skd", None, 0), (".skt", None, 2)])
def test_segment_files_of_another_format_say_what_to_do_in_one_line(tmp_path, runner, file, magic, version):
    path = tmp_path / "index"
    searchkit.open_index(path, create=True).write([clean(Article(**d)) for d in DOCS])
    (segment_file,) = Path(_generation(path)).glob("*" + file)
    _as_written_by(segment_file, magic, version)
    for command in (["query", "oil"], ["stats"]):
        result = runner.invoke(main, ["--index", str(path), *command])
        assert result.exit_code == 1
        if version == 2:  # a newer searchkit's file: not called damaged, and nothing to reindex
            assert result.output == (f"Error: the index at {path} was written by a newer searchkit ({segment_file}: "
                                     "segment format 2, this searchkit reads 1): upgrade searchkit to read it\n")
        else:
            assert result.output == (f"Error: the index at {path} holds segments in an older format: "
                                     "run `searchkit reindex` to convert it\n")
    if version == 2:
        return
    # Segments of searchkit's own layouts before this one cannot be read to convert them either
    # (those builds never left development): one line, and the index is left as it was.
    before = sorted(p.name for p in path.rglob("*"))
    result = runner.invoke(main, ["--index", str(path), "reindex"])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: cannot convert the index at {path}: {segment_file}")
    assert result.output.endswith("import your articles again into a new index\n") and result.output.count("\n") == 1
    assert sorted(p.name for p in path.rglob("*")) == before


def test_stored_fields_round_trip_past_the_compression_dictionary(tmp_path):
    # The first 32 documents make the dictionary the others are compressed with.
    ix = searchkit.open_index(tmp_path / "index", create=True)
    ix.write([clean(Article(id=f"n{n}", title=f"Story {n}", body=f"Body of story {n}. " * (n % 5 + 1)))
              for n in range(45)], procs=1)
    ((reader, _),) = ix.snapshot().segments
    found = [reader.stored(d) for d in range(reader.doc_count)]
    assert [(f["id"], f["title"], f["body"]) for f in found] == [
        (f"n{n}", f"Story {n}", " ".join([f"Body of story {n}."] * (n % 5 + 1))) for n in range(45)]


@pytest.mark.parametrize("where", ["first", "middle", "checksum"])
def test_a_damaged_stored_document_is_said_damaged_and_the_others_still_read(tmp_path, where):
    ix = searchkit.open_index(tmp_path / "index", create=True)
    ix.write([clean(Article(id=f"n{n}", title=f"Story {n}", body=f"Body of story {n}. " * 40)) for n in range(40)],
             procs=1)
    ((reader, _),) = ix.snapshot().segments
    path = next((tmp_path / "index").rglob(f"{reader.segment_id}.skd"))
    docs = DocsFile.open(path)
    at = docs.header["sections"]["s"][0]
    start, end = (int(v) for v in docs.section("so")[35:37])
    spot = {"first": start, "middle": (start + end) // 2, "checksum": end - 1}[where]
    data = bytearray(path.read_bytes())
    data[at + spot] ^= 0x55
    os.remove(path)  # a new file (the old one stays mapped, as an open reader's would)
    path.write_bytes(bytes(data))
    damaged = DocsFile.open(path)
    with pytest.raises(FormatError, match="damaged stored fields"):
        damaged.stored(35)
    assert [damaged.stored(d)["id"] for d in (0, 34, 36, 39)] == ["n0", "n34", "n36", "n39"]


def test_value_hashes_are_equal_exactly_for_equal_strings():
    values = [b"", b"a", b"a\0", b"\0", b"b", b"abcdefgh", b"abcdefgh\0", b"abcdefghi", b"x" * 40, b"x" * 41,
              "Zürich".encode(), b"a"]
    text = np.frombuffer(b"".join(values), dtype=np.uint8)
    ends = np.cumsum([len(v) for v in values])
    hashes = hash_values(text, ends).tolist()
    assert hashes == [hash_value(v) for v in values]  # one at a time, the same
    assert hashes[1] == hashes[-1]
    picked = [9, 2, 5, 0]  # strings anywhere in the text, in any order
    firsts = np.concatenate([[0], ends[:-1]])
    assert hash_values(text, ends[picked], firsts[picked]).tolist() == [hashes[i] for i in picked]
    assert len(set(hashes)) == len(values) - 1  # every other pair differs (length, zeros, tail)
    many = [f"cluster-{n}".encode() for n in range(70_000)]  # more than one block of rows
    found = hash_values(np.frombuffer(b"".join(many), dtype=np.uint8), np.cumsum([len(v) for v in many]))
    assert found.dtype == np.int64 and len(set(found.tolist())) == len(many)
    assert [int(found[n]) for n in (0, 65_535, 65_536, 69_999)] == [hash_value(many[n]) for n in
                                                                    (0, 65_535, 65_536, 69_999)]


def test_read_and_gather_give_what_the_mapped_section_holds(tmp_path):
    values = np.arange(50_000, dtype=np.uint32) * 7
    out = SectionWriter(b"TESTFILE")
    out.add("v", values)
    path = tmp_path / "f.sec"
    with open(path, "wb") as handle:
        out.write(handle)
    opened = SectionFile(path, b"TESTFILE")
    assert opened.read("v", 10, 13).tolist() == [70, 77, 84]
    rng = np.random.default_rng(5)
    starts = rng.integers(0, 49_000, 300)
    counts = rng.integers(0, 40, 300)
    starts[:3], counts[:3] = [0, 5, 49_990], [10, 10, 10]  # overlapping runs, and the last items
    expected = np.concatenate([values[a:a + n] for a, n in zip(starts, counts)])
    assert opened.gather("v", starts, counts).tolist() == expected.tolist()
    assert opened.gather("v", starts[:0], counts[:0]).tolist() == []
    for near in ([300, 100, 120], [40_000, 7, 49_997]):  # read in one piece / run by run
        found = opened.gather("v", np.array(near), np.array([2, 3, 0]))
        assert found.tolist() == values[near[0]:near[0] + 2].tolist() + values[near[1]:near[1] + 3].tolist()
    with pytest.raises(ValueError):  # format.FormatError: past the section's end
        opened.read("v", 49_999, 50_001)


def test_a_streaming_section_writer_writes_the_same_bytes_as_a_buffered_one(tmp_path):
    # A merge streams its sections (and writes one in pieces); the file must be the one a
    # buffered writer makes of the same sections, padding and header included.
    sections = [("a", np.arange(7, dtype=np.uint8)), ("b", np.arange(1_000, dtype=np.uint32) * 3),
                ("c", b"text of odd length"), ("d", np.array([-1, 5], dtype=np.int64))]
    buffered = SectionWriter(b"TESTFILE")
    for name, values in sections:
        buffered.add(name, values)
    buffered.header["extra"] = 1
    with open(tmp_path / "buffered", "wb") as handle:
        size = buffered.write(handle)
    with open(tmp_path / "streamed", "wb") as handle:
        streamed = SectionWriter(b"TESTFILE", handle)
        for name, values in sections:
            if name == "b":  # in pieces, as a merge copies a temporary file
                streamed.add_chunks("b", "<u4", [values[:300], values[300:301].tobytes(), values[301:]])
            else:
                streamed.add(name, values)
        streamed.header["extra"] = 1
        assert streamed.write() == size
    assert (tmp_path / "streamed").read_bytes() == (tmp_path / "buffered").read_bytes()
    opened = SectionFile(tmp_path / "streamed", b"TESTFILE")
    assert opened.section("b").tolist() == (np.arange(1_000) * 3).tolist()
    with pytest.raises(ValueError):  # pieces need the file given up front
        SectionWriter(b"TESTFILE").add_chunks("x", "|u1", [b"x"])


def test_each_segment_file_is_opened_and_mapped_once_for_the_engine_and_whoosh(tmp_path):
    ix = searchkit.open_index(tmp_path / "index", create=True)
    ix.write([clean(Article(**d)) for d in DOCS], procs=1)
    result = searchkit.search(ix, "oil", limit=10, collapse=False)  # the engine, Whoosh for stored fields
    assert {hit.id for hit in result.hits} == {"a", "c"} and ix.snapshot().doc_count == 3
    with whoosh.index.open_dir(_generation(tmp_path / "index")).searcher() as searcher:
        assert {hit["id"] for hit in searcher.search(wq.Term("body", "oil"))} == {"a", "c"}
        with open("/proc/self/maps") as maps:
            mapped = [line.split()[-1] for line in maps if line.rstrip().endswith((".skt", ".skd"))]
    folder = Path(_generation(tmp_path / "index"))
    files = sorted(str(folder / n) for n in os.listdir(folder) if n.endswith((".skt", ".skd")))
    assert len(files) == 2 and sorted(mapped) == files  # each once, read by searchkit and Whoosh
    assert TermsFile.open(files[1]) is TermsFile.open(files[1])
    assert DocsFile.open(files[0]).doc_count == 3


def test_runs_are_stored_each_in_its_narrowest_width():
    values = np.array([1, 1, 1, 300, 2, 70_000, 5, 1], dtype=np.int32)
    starts = np.array([0, 3, 5, 6, 8])
    parts, offsets, widths = encode_runs(values, starts, ones_free=True)
    assert widths.tolist() == [0, 2, 4, 1]  # all ones: nothing stored
    assert {w: p.tolist() for w, p in parts.items()} == {1: [5, 1], 2: [300, 2], 4: [70_000]}
    assert [decode_run(parts, offsets, widths, i, int(n)).tolist() for i, n in enumerate(np.diff(starts))] \
        == [[1, 1, 1], [300, 2], [70_000], [5, 1]]
    assert run_deltas(np.array([3, 5, 9, 1, 2, 7]), np.array([0, 3, 6])).tolist() == [3, 2, 4, 1, 1, 5]


def _segment_parts(folder) -> dict[str, bytes]:
    """A segment's documents file, and each section of its terms file that belongs to the
    text fields (title, body) and their spelling fields, by name."""
    import json
    import os
    import struct

    found: dict[str, bytes] = {}
    for name in os.listdir(folder):
        data = (folder / name).read_bytes()
        if name.endswith(".skd"):
            found["docs"] = data
        elif name.endswith(".skt"):
            size, _ = struct.unpack("<Q8s", data[-16:])
            for section, (offset, length, _) in json.loads(data[-16 - size:-16])["sections"].items():
                if section.split(".", 1)[1] in ("title", "body", "spell_title", "spell_body"):
                    found[section] = data[offset:offset + length]
    return found


def test_the_segment_builder_writes_what_whoosh_writer_writes_through_the_codec(tmp_path):
    """build.build_segment (each distinct token analysed once, by the analyzer's vocabulary;
    postings sorted by numpy) against Whoosh's own writer with the Whoosh analyzer chain: the
    same documents file and the same text postings, positions and spelling words, with a cold
    vocabulary and with one warmed by other articles first. (Whoosh's writer repeats a
    spelling word once per document that has it; the builder once per segment.)"""
    from whoosh.filedb.filestore import FileStorage

    from searchkit.analysis import Analyzer
    from searchkit.engine.build import build_segment
    from searchkit.engine.schema import build_schema

    tricky = dict(id="t", title="The U.S.-backed Oil plan", source="BBC News",
                  body="The Bank of England's 4,000 fighters\u2019 fight; ISIS's \u201chuge\u201d don\u2019t. "
                       "OIL, oil and Oil: the rain in the plain. 3.5 per cent, e.g. a.b.c",
                  published="2019-05-06T07:08:09+00:00", tags=["Energy", "Oil prices"])
    # Without the values of no field ("_" names: the body's sentences), which the builder keeps
    # with the stored fields and Whoosh's writer ignores.
    docs = [{name: value for name, value in article_to_doc(clean(Article(**d))).items() if not name.startswith("_")}
            for d in [*DOCS, tricky]]
    schema = build_schema()
    (tmp_path / "whoosh").mkdir()
    wix = whoosh.index.create_in(str(tmp_path / "whoosh"), schema)
    with wix.writer(codec=EngineCodec()) as writer:
        for doc in docs:
            writer.add_document(**doc)
    expected = _segment_parts(tmp_path / "whoosh")
    analyzer = Analyzer()
    built = {}
    for run, warm_up in (("cold", None), ("warm", DOCS[::-1])):
        if warm_up:
            (tmp_path / "other").mkdir()
            build_segment(FileStorage(str(tmp_path / "other")), "MAIN", schema,
                          [article_to_doc(clean(Article(**{**d, "body": d["body"].upper() + " Zebras"})))
                           for d in warm_up], analyzer)
        (tmp_path / run).mkdir()
        build_segment(FileStorage(str(tmp_path / run)), "MAIN", schema, list(docs), analyzer)  # it empties the list
        built[run] = _segment_parts(tmp_path / run)
    assert built["cold"] == built["warm"]
    spelling = {name for name in expected if ".spell_" in name}
    assert {k: v for k, v in built["cold"].items() if k not in spelling} == \
        {k: v for k, v in expected.items() if k not in spelling}
    assert {name for name in expected if name.startswith("t.spell")} == {"t.spell_title", "t.spell_body"}
    for name in ("t.spell_title", "t.spell_body", "te.spell_title", "te.spell_body"):
        assert built["cold"][name] == expected[name]


def test_the_segment_builder_lets_go_of_each_document_once_written(tmp_path):
    """A batch's text is not held through the postings sort (a build worker's peak of memory):
    build_segment sets each item of the list it is given to None, and the segment has them all."""
    from whoosh.filedb.filestore import FileStorage

    from searchkit.engine.build import build_segment
    from searchkit.engine.schema import build_schema

    docs = [article_to_doc(clean(Article(**d))) for d in DOCS]
    segment = build_segment(FileStorage(str(tmp_path)), "MAIN", build_schema(), docs)
    assert docs == [None] * len(DOCS)
    assert segment.doc_count_all() == len(DOCS)
