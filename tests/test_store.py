import json
import multiprocessing
import time

import pytest

import searchkit
import searchkit.store
from searchkit.store import CURRENT, META, open_index
from conftest import corpus_articles


def test_missing_index_says_how_to_create_one(tmp_path):
    with pytest.raises(searchkit.IndexMissingError, match="create one with `searchkit import PATH`"):
        open_index(tmp_path / "nope")


def test_schema_mismatch_asks_for_reindex_and_reindex_fixes_it(index, index_path):
    generation = (index_path / CURRENT).read_text().strip()
    (index_path / generation / META).write_text(json.dumps({"schema": 0}))
    with pytest.raises(searchkit.SchemaMismatchError, match="run `searchkit reindex`"):
        open_index(index_path)
    assert open_index(index_path, check=False).reindex() == 4
    fresh = open_index(index_path)
    assert len(fresh) == 4
    assert (index_path / CURRENT).read_text().strip() != generation
    assert not (index_path / generation).exists()


def test_reindex_keeps_every_article_and_search_works(index, index_path):
    before = sorted((a.id, a.title, a.body) for a in index.articles())
    index.reindex()
    after = sorted((a.id, a.title, a.body) for a in open_index(index_path).articles())
    assert after == before
    assert [h.id for h in searchkit.search(index, "mosul").hits] == ["mosul"]


def test_reindex_builds_batches_as_engine_segments_and_keeps_import_times(index, index_path, monkeypatch):
    monkeypatch.setattr(searchkit.store, "BATCH", 3)
    before = {a.id: a.imported for a in index.articles()}
    assert index.reindex(procs=1) == 4
    generation = index_path / (index_path / CURRENT).read_text().strip()
    assert len(list(generation.glob("*.skt"))) == 2  # 4 articles in batches of 3
    assert {a.id: a.imported for a in open_index(index_path).articles()} == before
    assert [h.id for h in searchkit.search(index, "mosul").hits] == ["mosul"]


def test_deleting_ids_the_index_does_not_hold_writes_nothing(index, index_path):
    """`searchkit delete nope` used to commit an empty change (a new table of contents)."""
    live = index_path / (index_path / CURRENT).read_text().strip()
    before = {f.name: f.stat().st_mtime_ns for f in live.iterdir()}
    assert index.delete(["nope", "nada"]) == ["nope", "nada"]
    assert {f.name: f.stat().st_mtime_ns for f in live.iterdir()} == before
    assert index.delete(["nope", "mosul", "mosul"]) == ["nope"]
    assert len(index) == 3 and index.get("mosul") is None


def test_delete_and_stats(index):
    assert index.delete(["mosul", "nope"]) == ["nope"]
    info = index.stats()
    assert info["articles"] == 3
    assert info["sources"] == {"Daily Planet": 1, "Gazette": 1, "Sports Desk": 1}
    assert (info["first"], info["last"]) == ("2016-03-01T20:00:00+00:00", "2018-01-05T08:00:00+00:00")
    assert info["schema"] == 3
    parts = info["bytes_by_part"]
    assert set(parts) == {"postings", "frequencies", "positions", "term dictionary", "spelling words",
                          "lengths", "columns", "stored fields", "headers", "other files"}
    assert sum(parts.values()) == info["bytes"] and parts["postings"] > 0 and parts["stored fields"] > 0
    assert parts["frequencies"] == 0  # every word is once in its article: frequencies of 1 take no bytes


def _hold_lock(path, seconds, holding):
    ix = open_index(path)
    with ix._writer_lock():
        holding.set()
        time.sleep(seconds)


def test_second_writer_waits_then_times_out_with_a_message(index, index_path):
    spawn = multiprocessing.get_context("spawn")
    holding = spawn.Event()
    holder = spawn.Process(target=_hold_lock, args=(str(index_path), 2, holding))
    holder.start()
    try:
        assert holding.wait(60)  # the holder has the lock (however slow the machine is)
        waiting = open_index(index_path)
        waiting.lock_timeout = 0.3
        with pytest.raises(searchkit.IndexLockedError, match="another searchkit process is writing"):
            waiting.write(corpus_articles()[:1])
        waiting.lock_timeout = 30
        report = waiting.write(corpus_articles()[:1])  # waits for the holder, then succeeds
        assert report.updated == 1
    finally:
        holder.join()


def test_the_open_file_limit_is_raised_towards_the_hard_limit(tmp_path):
    import subprocess
    import sys

    script = (
        "import resource\n"
        "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))\n"
        "from searchkit.store import raise_open_file_limit\n"
        "wanted = 512 if hard == resource.RLIM_INFINITY else min(512, hard)\n"
        "print(raise_open_file_limit(wanted) == wanted == resource.getrlimit(resource.RLIMIT_NOFILE)[0])\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "True", out.stderr


def test_a_long_lived_index_sees_the_copies_an_import_replaced_as_deleted(tmp_path):
    """A searcher kept open across an import that updated articles must not count the old
    copies as live (Whoosh's refresh() reused segment readers with their old deletions)."""
    from searchkit import search
    from searchkit.importer import import_paths
    from searchkit.store import open_index

    index = open_index(tmp_path / "ix", create=True)
    import_paths(index, ["tests/fixtures/seeds-2012/"], procs=1)
    before = [(h.id, h.cluster_size) for h in search(index, "activists", limit=5).hits]
    import_paths(index, ["tests/fixtures/seeds-2012/"], procs=1)
    with index.searcher() as searcher:
        assert searcher.doc_count() == 270
    assert [(h.id, h.cluster_size) for h in search(index, "activists", limit=5).hits] == before


def test_an_index_with_nothing_committed_yet_finds_nothing(tmp_path):
    from searchkit import search
    from searchkit.store import open_index

    index = open_index(tmp_path / "empty", create=True)
    result = search(index, "activists")
    assert (result.total, result.hits) == (0, [])
