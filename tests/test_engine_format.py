"""The engine's segments, read through SegmentReader, on a tiny literal corpus: exact values."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest
from whoosh.util.times import datetime_to_long

import searchkit
from searchkit.article import Article, clean

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
    hashes, _ = reader.hashed("cluster")
    assert hashes.tolist() == [hash(b"a"), hash(b"b"), hash(b"a")]
    stored = reader.stored(1)
    assert (stored["id"], stored["title"], stored["source"]) == ("b", "Rain in Spain", "Planet")
