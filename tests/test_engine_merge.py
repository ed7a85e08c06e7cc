"""Segment merging (engine/merge.py, store.Index.merge): the policy, and a merged index that
ranks exactly as before, without its deleted articles, still a Whoosh index."""

from __future__ import annotations

import json

import whoosh.index
from whoosh import query as wq

import searchkit
from searchkit.article import Article, clean
from searchkit.engine.merge import MAX_MERGED_DOCS, merge_plan
from test_engine_evaluate import DOCS

QUERIES = ["oil prices", '"oil prices"', "oil -opec", "elect*", "energy OR bank", "title:oil",
           "governor~", "author:smith", "prices rise opec output", "oil since:2017-03-01"]


def _copies(batch: int) -> list[Article]:
    return [clean(Article(**{**d, "id": f"{d['id']}{batch}", "cluster": f"{d.get('cluster', d['id'])}{batch}"}))
            for d in DOCS]


def _ranked(index, text: str) -> list[tuple[str, float]]:
    result = searchkit.search(index, text, limit=100, collapse=False)
    return [(hit.id, hit.score) for hit in result.hits]


def _segments(index) -> list[tuple[int, int]]:
    return [(r.doc_count, r.deleted_count()) for r, _ in index.snapshot().segments]


def test_the_policy_merges_the_longest_balanced_run_that_fits():
    # An import of 100k articles in batches of 10k, 320 MB of segments and 100 MB of side
    # files (the room: 40% of 420 MB): five (160 MB), then the other five.
    mb = 1 << 20
    assert merge_plan([10_000] * 10, nbytes=[32 * mb] * 10, room=168 * mb) == (0, 5)
    assert merge_plan([50_000] + [10_000] * 5, nbytes=[152 * mb] + [32 * mb] * 5, room=164 * mb) == (1, 6)
    assert merge_plan([50_000, 50_000], nbytes=[152 * mb] * 2, room=161 * mb) is None
    # Runs past the room wait; so do unbalanced ones (an article is rewritten only when its
    # segment at least doubles).
    assert merge_plan([40_000, 40_000, 10_000, 10_000], nbytes=[122 * mb] * 2 + [32 * mb] * 2,
                      room=140 * mb) == (2, 4)
    assert merge_plan([40_000, 40_000, 20_000], nbytes=[122 * mb] * 2 + [62 * mb], room=140 * mb) is None
    assert merge_plan([20_000, 10_000]) is None
    assert merge_plan([20_000, 10_000, 10_000], nbytes=[1, 1, 1], room=3) == (0, 3)
    # Tiny segments count as FLOOR_DOCS: a long tail of them merges.
    assert merge_plan([10_000, 500, 10, 300]) == (1, 4)
    # Without bytes, the articles stand for them: 40% of the index at most.
    assert merge_plan([10_000] * 6) == (0, 2)
    assert merge_plan([10_000] * 3) is None
    # Never a segment over MAX_MERGED_DOCS: a 1M import ends with four of 250k.
    big = MAX_MERGED_DOCS // 2 + 1
    assert merge_plan([big] * 8) is None
    assert merge_plan([10_000] * 100) == (0, MAX_MERGED_DOCS // 10_000)
    # An optimize merges everything.
    assert merge_plan([100_000, 10_000, 100_000, 10_000]) is None
    assert merge_plan([100_000, 10_000, 100_000, 10_000], everything=True) == (0, 4)


def test_a_merged_index_ranks_exactly_as_before(tmp_path):
    index = searchkit.open_index(tmp_path / "index", create=True)
    for batch in range(5):
        index.write(_copies(batch))
    assert len(_segments(index)) > 1
    before = {text: _ranked(index, text) for text in QUERIES}
    assert all(before.values())
    assert index.merge(everything=True) == 1
    assert _segments(index) == [(5 * len(DOCS), 0)]
    assert {text: _ranked(index, text) for text in QUERIES} == before
    assert index.get("a3").title == DOCS[0]["title"]
    # Still a Whoosh index: Whoosh's own searcher finds what searchkit finds.
    generation = (tmp_path / "index" / "CURRENT").read_text().strip()
    with whoosh.index.open_dir(str(tmp_path / "index" / generation)).searcher() as searcher:
        found = {searcher.stored_fields(n)["id"] for n in searcher.search(wq.Term("body", "oil"), limit=None).docs()}
    assert found == {hit.id for hit in searchkit.search(index, "body:oil", limit=100, collapse=False).hits}


def test_merging_drops_deleted_articles_and_a_reader_keeps_its_snapshot(tmp_path):
    index = searchkit.open_index(tmp_path / "index", create=True)
    for batch in range(3):
        index.write(_copies(batch))
    index.delete(["a0", "b1", "f2"])
    old = index.snapshot()
    kept_open = [(r, r.stored(0)) for r, _ in old.segments]
    assert sum(r.deleted_count() for r, _ in old.segments) == 3
    assert index.merge(everything=True) == 1
    assert _segments(index) == [(3 * len(DOCS) - 3, 0)]
    ids = {hit.id for hit in searchkit.search(index, "oil OR bank OR election OR markets OR governor",
                                                limit=100, collapse=False).hits}
    assert ids.isdisjoint({"a0", "b1", "f2"}) and {"a1", "b0", "f1"} <= ids
    # The old segments' files are gone from the directory but still read by whoever had them.
    for reader, first in kept_open:
        assert reader.stored(0) == first
        assert reader.postings("body", "oil")[0].size
    # A fresh open of the directory reads the merged segment only.
    again = searchkit.open_index(tmp_path / "index")
    assert _segments(again) == [(3 * len(DOCS) - 3, 0)]
    assert again.get("a0") is None and again.get("a1").id == "a1"


def test_an_import_merges_when_it_ends(tmp_path):
    index = searchkit.open_index(tmp_path / "index", create=True)
    articles = [a for batch in range(12) for a in _copies(batch)]
    index.write(articles, batch=len(DOCS), procs=1)
    sizes = [n for n, _ in _segments(index)]
    assert sum(sizes) == len(articles) and len(sizes) < 12
    assert index.merge() == 0  # the import left nothing the policy would merge


def _resident_kb(paths: set[str]) -> int:
    """This process's resident kB of the mappings of `paths` (from /proc/self/smaps)."""
    total, current = 0, None
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            head = line.split()
            if head and "-" in head[0] and len(head) >= 5:  # a mapping's first line
                current = head[5] if len(head) > 5 else None
            elif head and head[0] == "Rss:" and current in paths:
                total += int(head[1])
    return total


def test_a_merge_leaves_no_segment_pages_resident(tmp_path):
    """A merge reads its segments whole through the map; at 1M articles the pages it read
    stayed in the importing process's memory (2 GB over the end-of-import merges)."""
    index = searchkit.open_index(tmp_path / "index", create=True)
    for batch in range(4):
        index.write(_copies(batch) * 1)
    old = index.snapshot()
    folder = tmp_path / "index" / (tmp_path / "index" / "CURRENT").read_text().strip()
    paths = {str(p) for r, _ in old.segments for p in folder.glob(r.segment_id + ".*")}
    assert paths and all(r.stored(0) for r, _ in old.segments)  # mapped and read: resident
    assert _resident_kb(paths) > 0
    assert index.merge(everything=True) == 1
    assert _resident_kb(paths) == 0
    assert old.segments[0][0].stored(0)["id"] == "a0"  # still readable: pages come back


def test_an_import_merges_after_its_duplicate_signatures_are_committed(tmp_path, monkeypatch):
    # The merges' room is a share of the index's bytes on disk: they run once the import's
    # side files hold everything it wrote (dedupe.sqlite's last commit about doubles it).
    import sqlite3

    from searchkit import store
    from searchkit.dedupe import DB_NAME

    source = tmp_path / "articles.jsonl"
    source.write_text("".join(json.dumps({**d, "id": f"{d['id']}{n}", "body": f"{d['body']} copy {n}"},
                                         default=str) + "\n" for n in range(6) for d in DOCS))
    index = searchkit.open_index(tmp_path / "ix", create=True)
    seen = []
    merge = store.Index.merge

    def counted(self, *args, **kwargs):  # what another connection sees of the signatures now
        with sqlite3.connect(self.path / DB_NAME) as db:
            seen.append(db.execute("SELECT count(*) FROM article").fetchone()[0])
        return merge(self, *args, **kwargs)

    monkeypatch.setattr(store.Index, "merge", counted)
    report = searchkit.import_paths(index, [str(source)], procs=1)
    assert report.added == 6 * len(DOCS)
    assert seen == [6 * len(DOCS)]  # merged once, with every signature committed
