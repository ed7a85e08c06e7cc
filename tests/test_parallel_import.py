"""The parallel import (one segment-building process per core, store.Index.write) stores and
finds exactly what a one-process import does, updates in place, and fails in one line."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time

import pytest

import searchkit
from reliability_support import generated
from searchkit.article import Article, clean
from searchkit.errors import SearchkitError
from searchkit.search import search

COUNT = 260
QUERIES = ["economy", "market prices", '"oil prices"', "bank OR election", "title:market", "goverment"]


def articles(count: int = COUNT, seed: int = 3, prefix: str = "p") -> list[Article]:
    return [clean(Article(**record)) for record in generated(count, prefix, seed)]


def stored(index: searchkit.Index) -> dict[str, dict]:
    """Every article's fields but the import time, by id."""
    found = {}
    for article in index.articles():
        fields = dict(vars(article))
        fields.pop("imported")
        found[article.id] = fields
    return found


def results(index: searchkit.Index) -> list:
    return [[(h.id, round(h.score, 6), h.snippet) for h in search(index, q, limit=20).hits]
            + [search(index, q).total] for q in QUERIES]


def test_parallel_import_stores_and_finds_exactly_what_one_process_does(tmp_path):
    one = searchkit.open_index(tmp_path / "one", create=True)
    report_one = one.write(articles(), procs=1)
    many = searchkit.open_index(tmp_path / "many", create=True)
    # Batches of 100: one segment each, built by 2 worker processes in turn.
    report_many = many.write(articles(), batch=100, procs=2)
    with many.whoosh_index().reader() as reader:
        assert sorted(s.doc_count_all() for s in reader.segments()) == [60, 100, 100]
    assert (report_many.added, report_many.updated) == (report_one.added, report_one.updated) == (COUNT, 0)
    assert len(many) == len(one) == COUNT
    assert stored(many) == stored(one)
    assert results(many) == results(one)
    assert any(hits[:-1] for hits in results(many))  # the queries do find articles


def test_parallel_reimport_updates_in_place(tmp_path):
    index = searchkit.open_index(tmp_path / "ix", create=True)
    index.write(articles(), batch=100, procs=2)
    changed = articles()
    for article in changed[::2]:
        article.title = "Zanzibar " + article.title
    report = index.write(changed, batch=100, procs=2)
    assert (report.added, report.updated, report.duplicates) == (0, COUNT, 0)
    assert len(index) == COUNT
    assert search(index, "zanzibar", limit=1).total == COUNT // 2
    assert sorted(stored(index)) == sorted(a.id for a in changed)


def test_repeated_id_in_one_batch_keeps_the_last_copy_once(tmp_path):
    index = searchkit.open_index(tmp_path / "ix", create=True)
    batch = articles(120)
    repeat = clean(Article(id=batch[5].id, title="Last copy wins", body="The later copy of the article."))
    report = index.write(batch[:60] + [repeat] + batch[60:], batch=100, procs=2)
    assert (report.added, report.duplicates) == (120, 1)
    assert len(index) == 120
    assert index.get(batch[5].id).title == "Last copy wins"


def test_an_id_committed_earlier_in_the_same_write_is_replaced_and_counted_once(tmp_path):
    # A fresh index: the write looks up only the ids it committed itself (store._BatchRun.seen).
    index = searchkit.open_index(tmp_path / "ix", create=True)
    batch = articles(250)
    repeat = clean(Article(id=batch[5].id, title="Last copy wins", body="The later copy of the article."))
    report = index.write(batch[:150] + [repeat] + batch[150:], batch=100, procs=2)
    assert (report.added, report.updated, report.duplicates) == (250, 0, 1)
    assert len(index) == 250
    assert index.get(batch[5].id).title == "Last copy wins"


def _kill_workers_after(items: list[Article], after: int, first_built: threading.Event):
    for n, article in enumerate(items):
        if n == after:
            # The first batch went to a worker at article 100; no later batch has been handed
            # out yet (this generator holds the importer). Once its segment is back in this
            # process (on_built), the kill fails only the batches after it.
            assert first_built.wait(60), "the first batch was never built"
            workers = multiprocessing.active_children()
            assert workers, "the parallel path was not taken"
            for worker in workers:
                os.kill(worker.pid, signal.SIGKILL)
        yield article


def test_a_killed_worker_is_a_one_line_error_and_loses_no_committed_article(tmp_path):
    index = searchkit.open_index(tmp_path / "ix", create=True)
    items = articles()
    first_built = threading.Event()
    with pytest.raises(SearchkitError) as failure:
        index.write(_kill_workers_after(items, 150, first_built), batch=100, procs=2,
                    on_built=first_built.set)
    message = str(failure.value)
    assert "\n" not in message and message.startswith("indexing failed in a worker process")
    assert "run the same import again" in message
    assert sorted(stored(index)) == sorted(a.id for a in items[:100])  # the first batch, whole
    on_disk = {p.name.split(".")[0] for p in (index.path / index._current()).iterdir()
               if p.name.startswith("MAIN_") and "." in p.name}
    with index.whoosh_index().reader() as reader:
        assert on_disk == {s.segment_id() for s in reader.segments()}  # no uncommitted segment left
    report = index.write(items, batch=100, procs=2)
    assert (report.added, report.updated) == (COUNT - 100, 100)
    assert sorted(stored(index)) == sorted(a.id for a in items)


def test_a_batch_handed_over_after_a_worker_died_fails_in_its_turn_not_at_hand_over(tmp_path):
    # The import above hands over its last batch at any moment after the kill: once the pool
    # knows a worker died, submitting raised BrokenProcessPool straight out of index.write().
    from searchkit.engine.build import BuildError, ParallelBuilder

    index = searchkit.open_index(tmp_path / "ix", create=True)
    ix = index.whoosh_index()
    noticed = threading.Event()
    builder = ParallelBuilder(str(ix.storage.folder), ix.indexname, 2, on_result=noticed.set)
    try:
        builder.start()
        deadline = time.monotonic() + 30
        while not multiprocessing.active_children():
            assert time.monotonic() < deadline, "no worker started"
            time.sleep(0.05)
        for worker in multiprocessing.active_children():
            os.kill(worker.pid, signal.SIGKILL)
        # A batch handed over before the kill fails once the pool's own thread notices the
        # death (it marks the pool broken first): the next hand-over meets a broken pool.
        builder.submit([{"id": "before", "title": "Oil prices"}])
        assert noticed.wait(30), "the pool never noticed the killed worker"
        builder.submit([{"id": "a", "title": "Oil prices"}])  # must not raise
        assert len(builder) == 2
        with pytest.raises(BuildError, match="an indexing process failed"):
            builder.wait()
    finally:
        builder.close(cancel=True)
