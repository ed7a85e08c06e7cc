"""What the ranker reads (arrays.py over engine.segment) against what Whoosh reads.

Posting lists, lengths and columns must be those Whoosh's own readers give. (Rankings are
checked against a brute-force scorer in test_engine_evaluate.py.) The index is real BBC articles (../shared/data/news-sample, research use, read in
place) written in several commits, with updates (deleted copies in old segments) and
near-duplicate clusters, so multi-segment, deletion and collapse paths all run. The sample
has no dates and one source, so each article gets a date (some none) and its category as
its source.
"""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

import searchkit
from searchkit.arrays import ArrayCache
from searchkit.article import Article, clean

from conftest import SHARED

BBC = SHARED / "news-sample" / "articles.jsonl.gz"
ARTICLES = 360
BATCH = 120


def _bbc(limit: int) -> list[dict]:
    with gzip.open(BBC, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for _, line in zip(range(limit), handle)]


@pytest.fixture(scope="module")
def bbc_index(tmp_path_factory):
    records = _bbc(ARTICLES)
    articles = []
    start = datetime(2004, 1, 1, tzinfo=timezone.utc)
    for n, r in enumerate(records):
        cluster = records[n - 1]["id"] if n % 17 == 5 else None  # every 17th copies its neighbour
        published = None if n % 13 == 0 else start + timedelta(days=n * 37 % 700, hours=n % 24)
        source = "" if n % 11 == 0 else f"BBC {r['tags'][0].title()}"
        articles.append(clean(Article(id=r["id"], title=r["title"], body=r["body"], source=source,
                                      published=published, cluster=cluster)))
    ix = searchkit.open_index(tmp_path_factory.mktemp("bbc") / "index", create=True)
    ix.write(articles, batch=BATCH)
    # Re-import some with a changed body: their old copies stay behind as deleted documents.
    ix.write([clean(Article(**{**a.__dict__, "body": a.body + "\n\nUpdated: oil prices rose."}))
              for a in articles[::9]], batch=BATCH)
    return ix, records


def test_the_index_has_several_segments_and_deletions(bbc_index):
    ix, _ = bbc_index
    with ix.searcher() as searcher:
        leaves = list(searcher.reader().leaf_readers())
        assert len(leaves) > 1
        assert any(reader.has_deletions() for reader, _ in leaves)


def test_posting_lists_lengths_and_columns_read_as_whoosh_reads_them(bbc_index):
    ix, _ = bbc_index
    cache = ArrayCache()
    with ix.searcher() as searcher:
        for reader, _, seg in cache.segments(searcher):
            for name in ("title", "body"):
                for text in list(reader.lexicon(name))[::7]:
                    text = text.decode("utf-8")
                    ids, weights, positions = seg.postings(reader, name, text, values=True)
                    assert len(ids) == reader.doc_frequency(name, text)  # deleted documents too
                    owner, flat = positions.flat(np.arange(len(ids)))
                    each = [flat[owner == n].tolist() for n in range(len(ids))]
                    live = [(i, w, p) for i, w, p in zip(ids.tolist(), weights.tolist(), each)
                            if not reader.is_deleted(i)]
                    matcher = reader.postings(name, text)  # leaves deleted documents out
                    expected = []
                    while matcher.is_active():
                        expected.append((matcher.id(), matcher.weight(), matcher.value_as("positions")))
                        matcher.next()
                    assert live == expected
                lengths = seg.lengths(reader, name)
                assert lengths.tolist() == [reader.doc_field_length(d, name, 1) or 1
                                            for d in range(reader.doc_count_all())]
            published, dated = seg.numbers(reader, "published")
            column = reader.column_reader("published", translate=False)
            for d in range(reader.doc_count_all()):
                assert bool(dated[d]) == (reader.stored_fields(d).get("published") is not None)
                if dated[d]:
                    assert published[d] == column[d]
            hashes, names = seg.hashed(reader, "source_key")
            for d in range(reader.doc_count_all()):
                source = reader.stored_fields(d).get("source") or ""
                assert names.get(int(hashes[d]), "") == source
            deleted = seg.deleted(reader)
            assert deleted.tolist() == [reader.is_deleted(d) for d in range(reader.doc_count_all())]


def test_a_damaged_segment_file_is_one_clear_error(bbc_index, tmp_path):
    ix, _ = bbc_index
    copy = tmp_path / "index"
    shutil.copytree(ix.path, copy)
    damaged = sorted(copy.rglob("*.skt"))
    assert len(damaged) > 1
    damaged[0].write_bytes(damaged[0].read_bytes()[:-30])
    with pytest.raises(searchkit.SearchkitError, match="it may be damaged"):
        searchkit.search(searchkit.open_index(copy), "oil prices", limit=10)


def test_postings_widen_to_32_bits_for_long_articles(tmp_path):
    # Frequencies and positions past 65,535 are stored 4 bytes wide.
    body = "alpha " * 70_000 + "omega beta. " + "gamma delta " * 10
    articles = [clean(Article(id="long", title="A very long article", body=body)),
                clean(Article(id="short", title="Omega short", body="beta omega gamma and alpha"))]
    ix = searchkit.open_index(tmp_path / "index", create=True)
    ix.write(articles)
    ((reader, _),) = ix.snapshot().segments
    docs, freqs = reader.postings("body", "alpha")
    assert (docs.tolist(), freqs.tolist()) == ([0, 1], [70_000, 1])
    starts, flat = reader.positions("body", "alpha")
    assert starts.tolist() == [0, 70_000, 70_001]
    assert flat.tolist() == list(range(70_000)) + [4]  # "beta omega gamma and alpha"
    assert reader.positions("body", "omega")[1].tolist() == [70_000, 1]
    hits = searchkit.search(ix, '"omega beta"').hits
    assert [h.id for h in hits] == ["long"]
    assert [h.id for h in searchkit.search(ix, "alpha").hits][0] == "long"
