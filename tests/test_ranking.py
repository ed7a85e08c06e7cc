"""The array ranker (ranking.py, arrays.py) against Whoosh's own collector on the same index.

search() ranks plain-word queries with numpy over whole posting lists and everything else
with Whoosh; both must give the same pages, scores, totals, facets, timelines and cluster
sizes. The index is real BBC articles (../shared/data/news-sample, research use, read in
place) written in several commits, with updates (deleted copies in old segments) and
near-duplicate clusters, so multi-segment, deletion and collapse paths all run. The sample
has no dates and one source, so each article gets a date (some none) and its category as
its source.
"""

from __future__ import annotations

import gzip
import importlib
import json
import random
import shutil
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

import searchkit
from searchkit.arrays import ArrayCache, _open_sidecar, read_postings
from searchkit.sidecar import EXT as SIDECAR_EXT
from searchkit.article import Article, clean
from searchkit.query import parse

from conftest import SHARED

search_module = importlib.import_module("searchkit.search")  # the package's `search` is the function
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


@pytest.fixture(scope="module")
def w3_index(bbc_index, tmp_path_factory):
    """A copy of bbc_index without its postings sidecars (as Whoosh-written segments have
    none): the array ranker reads W3's blocks instead."""
    ix, records = bbc_index
    copy = tmp_path_factory.mktemp("w3") / "index"
    shutil.copytree(ix.path, copy, ignore=shutil.ignore_patterns("*" + SIDECAR_EXT))
    return searchkit.open_index(copy), records


@pytest.fixture(params=["sidecar", "w3"])
def any_index(request, bbc_index, w3_index):
    return bbc_index if request.param == "sidecar" else w3_index


# Query types of the language, for the evaluator (engine/evaluate.py) against Whoosh. Not
# here: "oil -prices" (Whoosh's AndNot over the patched FieldsTerm both keeps articles with
# "prices" and drops some without; its AndMaybe, "+oil prices", skips matches under a date
# filter) and a wildcard with several words in a segment (Whoosh
# scores those per segment with another formula); test_engine_evaluate checks them, and
# everything here, against a brute-force scorer.
SYNTAX = ["oil AND prices", "oil OR prices", "NOT oil",
          "oil AND (prices OR market)", "title:oil", "title:oil body:prices", "source:business",
          "gov*ment", "goverment~", "oil^2 prices", '"oil prices"~3',
          '"bank of england"', 'title:"oil prices" OR market', "(film OR award) -winner",
          "tags:business", "oil ANDMAYBE prices", "title:[oil TO opec]", "zzz* OR oil"]


def _queries(records: list[dict], count: int = 40) -> list[str]:
    rng = random.Random(4)
    out = ["oil prices", "oil oil prices", "the government said", "film award winner best actor",
           "mobile phone", "zzzunknownword", "budget", "chelsea manager arsenal",
           '"oil prices"', '"the government said"', '"prime minister"', 'title:"oil prices"',
           '"mobile phone firms"', '"chief executive"']
    while len(out) < count:
        words = [w for w in rng.choice(records)["title"].split() if w.isalpha()]
        if words:
            k = min(len(words), rng.choice([1, 2, 2, 3, 3, 5]))
            start = rng.randrange(len(words) - k + 1)
            out.append(" ".join(words[start:start + k]))
    return out


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
                    ids, weights, values = read_postings(reader, name, text, values=True)
                    assert len(ids) == reader.doc_frequency(name, text)  # deleted documents too
                    live = [(i, w, v) for i, w, v in zip(ids.tolist(), weights.tolist(), values)
                            if not reader.is_deleted(i)]
                    matcher = reader.postings(name, text)  # leaves deleted documents out
                    expected = []
                    while matcher.is_active():
                        expected.append((matcher.id(), matcher.weight(), matcher.value()))
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


CONFIGS = [
    dict(sort="relevance", collapse=True, facets=True),
    dict(sort="relevance", collapse=False, facets=True),
    dict(sort="newest", collapse=True, facets=True),
    dict(sort="oldest", collapse=False, facets=False),
    dict(sort="recency", collapse=True, facets=False),
    dict(sort="relevance", collapse=True, facets=True, since="2004-06-01", until="2005-01-31"),
    dict(sort="relevance", collapse=True, facets=True, source="BBC Business"),
]


def test_the_sidecar_holds_every_text_posting_as_w3_has_it(bbc_index):
    ix, _ = bbc_index
    checked = 0
    with ix.searcher() as searcher:
        for reader, _ in searcher.reader().leaf_readers():
            sidecar = _open_sidecar(reader)
            assert sidecar is not None
            for name in ("title", "body"):
                decode = searcher.schema[name].format.decode_positions
                for text in reader.lexicon(name):
                    text = text.decode("utf-8")
                    ids, weights, values = read_postings(reader, name, text, values=True)
                    s_ids, s_weights, s_positions = read_postings(reader, name, text, sidecar=sidecar)
                    assert s_ids.dtype == np.int32 and s_weights.dtype == np.float32
                    assert s_ids.tolist() == ids.tolist() and s_weights.tolist() == weights.tolist()
                    rows = np.arange(len(ids))
                    owner, positions = s_positions.flat(rows)
                    assert list(zip(owner.tolist(), positions.tolist())) == [
                        (n, p) for n, v in enumerate(values) for p in decode(v)]
                    assert [a.tolist() for a in values.flat(rows)] == [owner.tolist(), positions.tolist()]
                    checked += 1
    assert checked > 5000


def test_a_damaged_sidecar_is_not_used(bbc_index, tmp_path, caplog):
    ix, _ = bbc_index
    copy = tmp_path / "index"
    shutil.copytree(ix.path, copy)
    damaged = sorted(copy.rglob("*" + SIDECAR_EXT))
    assert len(damaged) > 1
    damaged[0].write_bytes(damaged[0].read_bytes()[:-30])
    expected = searchkit.search(ix, "oil prices", limit=10)
    found = searchkit.search(searchkit.open_index(copy), "oil prices", limit=10)
    assert [h.id for h in found.hits] == [h.id for h in expected.hits] and found.total == expected.total
    assert "postings sidecar" in caplog.text and "not used" in caplog.text


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_array_ranking_equals_whoosh_ranking(any_index, config):
    ix, records = any_index
    config = dict(config)
    flt = search_module.filter_query(config.pop("since", None), config.pop("until", None),
                                     config.pop("source", None))
    compared = nonempty = 0
    with ix.searcher() as searcher:
        for text in _queries(records) + (SYNTAX if flt is None else []):
            parsed = parse(text, searcher.schema, reader=searcher.reader())
            wanted = 20
            fast = search_module.rank_with_arrays(ix, searcher, parsed, flt, wanted=wanted, **config)
            slow = search_module.rank_with_whoosh(searcher, parsed, flt, wanted=wanted, **config)
            assert fast is not None
            # search() lists docs[:wanted]; Whoosh may hand back more (with facets, recency).
            fast_docs, slow_docs = fast.docs[:wanted], slow.docs[:wanted]
            assert [d for d, _ in fast_docs] == [d for d, _ in slow_docs], text
            np.testing.assert_allclose([s for _, s in fast_docs], [s for _, s in slow_docs], rtol=1e-5)
            assert fast.total == slow.total, text
            assert fast.facets == slow.facets, text
            assert fast.timeline == slow.timeline, text
            if config["collapse"]:
                listed = [(searcher.stored_fields(d)["cluster"], d) for d, _ in fast_docs]
                assert fast.cluster_sizes(searcher, listed) == slow.cluster_sizes(searcher, listed), text
            compared += 1
            nonempty += bool(fast.docs)
    syntax = len(SYNTAX) if flt is None else 0
    assert compared == 40 + syntax and nonempty >= 32 + syntax - 2


def test_any_filter_is_evaluated_over_arrays_as_whoosh_evaluates_it(bbc_index):
    ix, _ = bbc_index
    from whoosh import query as wq

    with ix.searcher() as searcher:
        for text in ["oil prices", "oil OR prices"]:
            parsed = parse(text, searcher.schema)
            for flt in [wq.Not(wq.Term("source_key", "BBC Business")),
                        wq.And([wq.Term("source_key", "BBC Business"), wq.Not(wq.Term("tags", "x"))])]:
                fast = search_module.rank_with_arrays(ix, searcher, parsed, flt, "relevance", 10, True, True)
                slow = search_module.rank_with_whoosh(searcher, parsed, flt, "relevance", 10, True, True)
                assert [d for d, _ in fast.docs[:10]] == [d for d, _ in slow.docs[:10]] and fast.docs
                assert fast.total == slow.total


def test_the_sidecar_widens_to_32_bits_for_long_articles(tmp_path):
    # Positions and frequencies past 65,535 need the sidecar's uint32 sections.
    body = "alpha " * 70_000 + "omega beta. " + "gamma delta " * 10
    articles = [clean(Article(id="long", title="A very long article", body=body)),
                clean(Article(id="short", title="Omega short", body="beta omega gamma and alpha"))]
    ix = searchkit.open_index(tmp_path / "index", create=True)
    ix.write(articles)
    with ix.searcher() as searcher:
        (reader, _), = list(searcher.reader().leaf_readers())
        sidecar = _open_sidecar(reader)
        assert sidecar is not None
        assert {sidecar._arrays["positions.body"].dtype.str, sidecar._arrays["freqs.body"].dtype.str} == {"<u4"}
        decode = searcher.schema["body"].format.decode_positions
        for text in ("alpha", "omega", "beta", "gamma", "delta"):
            ids, weights, values = read_postings(reader, "body", text, values=True)
            s_ids, s_weights, s_positions = read_postings(reader, "body", text, sidecar=sidecar)
            assert s_ids.tolist() == ids.tolist() and s_weights.tolist() == weights.tolist()
            owner, positions = s_positions.flat(np.arange(len(ids)))
            assert positions.tolist() == [p for v in values for p in decode(v)], text
    hits = searchkit.search(ix, '"omega beta"').hits
    assert [h.id for h in hits] == ["long"]
    assert [h.id for h in searchkit.search(ix, "alpha").hits][0] == "long"
