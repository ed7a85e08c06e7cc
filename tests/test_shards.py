"""A sharded index in one process: the same results as one index holding the same articles."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import searchkit
from searchkit.engine import scoring
from searchkit import shards
from searchkit.cli import main
from searchkit.importer import import_paths

from shard_support import DATA, compare_all, export_differences, moved_twice_in_one_write, read_queries, readme_queries

ROOT = Path(__file__).resolve().parents[1]
SEEDS = str(ROOT / "tests" / "fixtures" / "seeds-2012")  # the 270-article demo of before


def _pair(tmp: Path, files: list[str], count: int = 4):
    one = searchkit.open_index(tmp / "one", create=True)
    import_paths(one, files, procs=1)
    sharded = shards.create(tmp / "sharded", count)
    import_paths(sharded, files, procs=1)
    return one, sharded


@pytest.fixture(scope="module")
def seeds_pair(tmp_path_factory):
    return _pair(tmp_path_factory.mktemp("seeds"), [SEEDS])


# What the equality test counted, for the closing note (printed with -s).
COUNTS: dict[str, tuple[int, int]] = {}


@pytest.mark.parametrize("name", ["cranfield", "cacm"])
def test_every_query_of_a_test_collection_gives_one_index_results(tmp_path, name):
    one, sharded = _pair(tmp_path, [str(DATA / name / "docs.jsonl")])
    assert len(sharded) == len(one) > 1000
    queries = read_queries(name)
    compared, mismatches = compare_all(one, sharded, queries, [dict(limit=10)])
    COUNTS[name] = (compared, len(mismatches))
    print(f"\n{name}: {compared} queries compared, {len(mismatches)} mismatches")
    assert mismatches == []
    assert compared == len(queries)


README_VARIANTS = [dict(limit=10), dict(limit=5, page=2), dict(limit=10, sort="newest"),
                   dict(limit=10, sort="oldest"), dict(limit=10, sort="recency"),
                   dict(limit=3, source="Global Voices", since="2012-05-10")]


def test_the_readme_query_examples_give_one_index_results(seeds_pair):
    one, sharded = seeds_pair
    queries = readme_queries() + ["isis fighters raqqa", "blogers", "activists arrested", "journalist -arrested",
                                  "govern*", "goverment~", '"human rights" activists']
    assert "parliam*" in queries and "goverment~2" in queries and len(queries) >= 25
    compared, mismatches = compare_all(one, sharded, queries, README_VARIANTS)
    print(f"\nREADME examples: {compared} searches compared, {len(mismatches)} mismatches")
    assert mismatches == []


EXPORTS = [("activists", {}), ("human rights activists arrested in china and russia", {}),
           ("syria", {"sort": "newest"}), ("protest", {"sort": "oldest", "since": "2012-05-10"}),
           ("police", {"sort": "recency"}), (None, {"source": "Global Voices"}),
           (None, {"since": "2012-05-05", "until": "2012-05-20"}), ("title:china", {"until": "2012-05-15"})]


def test_an_export_of_a_query_lists_what_one_index_lists(seeds_pair):
    one, sharded = seeds_pair
    for text, kwargs in EXPORTS:
        assert export_differences(one, sharded, text, **kwargs) == [], (text, kwargs)
    print(f"\nexports: {len(EXPORTS)} compared, 0 mismatches")


def test_an_export_reads_each_shard_s_articles_in_one_searcher_a_batch(seeds_pair):
    """A sharded export reads a batch's articles from the shards holding them, each shard sent
    its own ids and reading them in one searcher (it was sent the whole batch and opened a
    searcher and ran a Whoosh query for every id: ~0.5 ms an article at 100k)."""
    import sys

    from searchkit.export import matching_articles
    from searchkit.store import Index

    one, sharded = seeds_pair
    code, opened = Index.searcher.__wrapped__.__code__, [0]

    def count(frame, event, arg):
        if event == "call" and frame.f_code is code:
            opened[0] += 1

    sys.setprofile(count)
    try:
        listed = [a.id for a in matching_articles(sharded, None, sort="newest")]
    finally:
        sys.setprofile(None)
    assert listed == [a.id for a in matching_articles(one, None, sort="newest")] and len(listed) == 270
    assert opened[0] <= 4 * sharded.count, opened[0]  # a few a shard (listing, reading), not ~8 an article


def test_long_queries_get_the_feedback_pass_of_one_index(seeds_pair):
    """Queries of FEEDBACK_MIN_WORDS words or more: RM3 over the whole collection."""
    one, sharded = seeds_pair
    queries = ["human rights activists arrested in china and russia", "bloggers write about the protests "
               "against the government in syria", "police fired tear gas at the students protesting in the capital"]
    with_it = [[(h.id, h.score) for h in searchkit.search(one, q).hits] for q in queries]
    without = [[(h.id, h.score) for h in searchkit.search(one, q, feedback=False).hits] for q in queries]
    assert all(with_it) and with_it != without  # the pass changes what one index answers
    compared, mismatches = compare_all(one, sharded, queries, [dict(limit=10), dict(limit=10, sort="recency"),
                                                               dict(limit=5, page=3)])
    assert (compared, mismatches) == (9, [])


def test_feedback_leaving_out_common_stems_is_the_same_on_shards(seeds_pair, monkeypatch):
    """With scoring.FEEDBACK_MAX_DF on (as the relevance bench's cross-validation sets it), a
    stem's share of articles is the collection's, gathered from every shard."""
    one, sharded = seeds_pair
    query = "human rights activists arrested in china and russia"
    every_stem = [(h.id, h.score) for h in searchkit.search(one, query).hits]
    monkeypatch.setattr(scoring, "FEEDBACK_MAX_DF", 0.02)
    assert [(h.id, h.score) for h in searchkit.search(one, query).hits] != every_stem
    assert compare_all(one, sharded, [query], [dict(limit=10), dict(limit=5, page=2)]) == (2, [])


def test_a_misspelt_query_shows_the_corrected_results_at_once_as_one_index_does(seeds_pair):
    one, sharded = seeds_pair
    found = searchkit.search(sharded, "goverment")
    assert (found.query, found.corrected_from, found.suggestion) == ("government", "goverment", None)
    assert found.total > 0 and [h.id for h in found.hits] == [h.id for h in searchkit.search(one, "goverment", feedback=False).hits]
    as_typed = searchkit.search(sharded, "goverment", correct=False)
    assert (as_typed.total, as_typed.corrected_from, as_typed.suggestion) == (0, None, "government")
    # Not a word of the index and no correction: nothing is suggested, nothing corrected.
    none = searchkit.search(sharded, "xylophone quokka")
    assert (none.total, none.corrected_from, none.suggestion) == (0, None, None)


def test_more_like_this_and_articles_are_those_of_one_index(seeds_pair):
    one, sharded = seeds_pair
    for article_id in ("globalvoices-316447", "globalvoices-320343", "he46a4fb75d74bbf4"):
        a = [(h.id, round(h.score, 6), h.cluster_size) for h in searchkit.similar(one, article_id, limit=5)]
        b = [(h.id, round(h.score, 6), h.cluster_size) for h in searchkit.similar(sharded, article_id, limit=5)]
        assert a == b and len(a) == 5
    mine, theirs = sharded.get("globalvoices-316447").to_dict(), one.get("globalvoices-316447").to_dict()
    assert mine.pop("imported") and theirs.pop("imported")  # when each index imported it
    assert mine == theirs
    assert sorted(a.id for a in sharded.articles()) == sorted(a.id for a in one.articles())
    info, whole = sharded.stats(), one.stats()
    assert {k: info[k] for k in ("articles", "sources", "first", "last", "schema")} == \
        {k: whole[k] for k in ("articles", "sources", "first", "last", "schema")}
    assert info["shards"] == 4


def test_each_shard_makes_the_snippets_of_only_the_hits_it_holds(seeds_pair):
    """A page's snippets: each shard is sent the ids the merged ranking has from it (it was
    sent the whole page and looked every id up, one Whoosh query an id)."""
    one, sharded = seeds_pair
    text = "human rights activists"
    hits = searchkit.search(sharded, text, limit=20).hits
    held = {s: [h.id for h in hits if sharded.shard(s).get(h.id) is not None] for s in range(sharded.count)}
    assert sum(map(len, held.values())) == len(hits) == 20 and all(held.values())
    found, failures = sharded._answers(shards.task_snippets, shards.PerShard(held), text, 300,
                                       True, None)
    assert failures == [] and {s: sorted(a) for s, a in found.items()} == {s: sorted(i) for s, i in held.items()}
    made = {i: fragments for answer in found.values() for i, fragments in answer.items()}
    assert made == {h.id: (h.fragments, h.title_fragments) for h in hits}
    assert made == {h.id: (h.fragments, h.title_fragments) for h in searchkit.search(one, text, limit=20).hits}


def test_an_id_is_looked_up_in_the_term_dictionaries_as_whoosh_finds_it(tmp_path):
    from searchkit.article import Article, clean

    ix = searchkit.open_index(tmp_path / "ix", create=True)
    ix.write([clean(Article(id="a", title="First", body="One.")), clean(Article(id="b", title="Second", body="Two."))])
    ix.write([clean(Article(id="c", title="Third", body="Three."))])
    ix.write([clean(Article(id="b", title="Second again", body="Two, updated."))])  # the old copy is deleted
    with ix.searcher() as searcher:
        found = ix.arrays.docnums(searcher, "id", ["b", "nope", "a", "c"])
        assert found == {i: searcher.document_number(id=i) for i in ("a", "b", "c")}
        assert searcher.stored_fields(found["b"])["title"] == "Second again"


def test_an_article_stays_on_its_shard_when_imported_again(tmp_path):
    sharded = shards.create(tmp_path / "s", 3)
    first = import_paths(sharded, [SEEDS], procs=1)
    again = import_paths(sharded, [SEEDS], procs=1, resume=False)
    assert (first.added, first.updated) == (270, 0)
    assert (again.added, again.updated, again.duplicates) == (0, 270, 0)
    per_shard = [len(sharded.shard(s)) for s in range(3)]
    assert sum(per_shard) == len(sharded) == 270 and min(per_shard) > 50
    for s in range(3):
        for article in sharded.shard(s).articles():
            assert shards.shard_of(article.cluster or article.id, 3) == s


def test_an_article_whose_cluster_changed_moves_and_is_never_duplicated(tmp_path):
    sharded = shards.create(tmp_path / "s", 4)
    base = searchkit.Article(id="a1", title="Original", body="word " * 40)
    sharded.write([base])
    # the same article, now a copy of another story: routed by that story's cluster
    moved = searchkit.Article(id="a1", title="Original", body="other " * 40, cluster="story-9")
    target = shards.shard_of("story-9", 4)
    assert target != shards.shard_of("a1", 4)
    report = sharded.write([moved])
    assert (report.added, report.updated) == (0, 1)
    assert len(sharded) == 1 and sharded.get("a1").cluster == "story-9"
    assert len(sharded.shard(target)) == 1


def test_an_article_that_moves_twice_in_one_write_counts_as_in_one_index(tmp_path):
    """The shard it moved from removes it once, and it counts once (a repeated id used to count
    twice there: added -1, updated 3)."""
    assert shards.shard_of("story-9", 4) != shards.shard_of("a1", 4)
    one = moved_twice_in_one_write(searchkit.open_index(tmp_path / "one", create=True))
    sharded = shards.create(tmp_path / "s", 4)
    assert moved_twice_in_one_write(sharded) == one == (0, 2, 1, 3)
    assert [s for s in range(4) if sharded.shard(s).get("a1")] == [shards.shard_of("story-9", 4)]


def test_a_rewrite_that_moves_thousands_of_articles_keeps_each_on_its_one_shard(tmp_path):
    """Every other shard is asked about every id of a batch; the one holding it removes it."""
    count, total = 4, 3000
    sharded = shards.create(tmp_path / "s", count)
    sharded.batch = 1000  # several batches, so a shard is asked while it holds new ones too
    articles = [searchkit.Article(id=f"a{i}", title=f"Story {i}", body=f"word{i % 50} " * 20) for i in range(total)]
    sharded.write(articles)
    for article in articles[::2]:
        article.cluster = f"story-{article.id}"
    report = sharded.write(articles)
    assert (report.added, report.updated, report.duplicates, len(sharded)) == (0, total, 0, total)
    for s in range(count):
        held = [a.id for a in sharded.shard(s).articles()]
        assert len(held) == len(set(held))
        assert all(shards.shard_of(routing_key, count) == s for routing_key in (
            sharded.get(i).cluster or i for i in held))
    assert sum(len(sharded.shard(s)) for s in range(count)) == total


def test_reindex_changes_the_number_of_shards_and_keeps_the_results(tmp_path):
    one, sharded = _pair(tmp_path, [SEEDS], count=2)
    assert sharded.reindex(shards=5) == 270
    again = shards.open_sharded(tmp_path / "sharded")
    assert again.count == 5 and len(again) == 270
    assert not list((tmp_path / "sharded").glob("shard-*"))  # the old shards are gone
    compared, mismatches = compare_all(one, again, ["isis fighters raqqa", "title:china", "parliam*"],
                                       [dict(limit=10)])
    assert (compared, mismatches) == (3, [])


def test_the_command_line_on_a_sharded_index(tmp_path, runner):
    path = str(tmp_path / "news")
    out = runner.invoke(main, ["--index", path, "create", "--shards", "3"])
    assert (out.exit_code, out.output) == (0, f"created a sharded index of 3 shards at {path}\n")
    assert runner.invoke(main, ["--index", path, "import", SEEDS]).output == \
        "270 added, 0 updated, 0 duplicates, 0 failed\n"
    stats = json.loads(runner.invoke(main, ["--index", path, "stats", "--format", "json"]).output)
    assert (stats["articles"], stats["shards"]) == (270, 3)
    found = runner.invoke(main, ["--index", path, "query", "isis fighters raqqa", "--format", "trec", "--limit", "2"])
    assert found.output.splitlines()[0].startswith("1 Q0 he46a4fb75d74bbf4 1 ")
    exported = runner.invoke(main, ["--index", path, "export"]).output.splitlines()
    assert len(exported) == 270
    out = runner.invoke(main, ["--index", path, "delete", "globalvoices-316447"])
    assert out.output == "deleted 1 article\n"
    out = runner.invoke(main, ["--index", path, "reindex", "--shards", "2"])
    assert out.output == "reindexed 269 articles into 2 shards\n"
    out = runner.invoke(main, ["--index", path, "create", "--shards", "4"])
    assert out.exit_code == 1 and "already holds a sharded index of 2 shards" in out.output
    assert runner.invoke(main, ["--index", str(tmp_path / "plain"), "create"]).exit_code == 0
    out = runner.invoke(main, ["--index", str(tmp_path / "plain"), "--cluster", "local:2", "query", "x"])
    assert out.exit_code == 2 and "--cluster works on a sharded index" in out.output


def test_a_shard_that_cannot_be_read_is_named_and_the_rest_answers(tmp_path, runner):
    _, sharded = _pair(tmp_path, [SEEDS], count=3)
    whole = searchkit.search(sharded, "activists").total
    gone = sharded.shard_path(1)
    shutil.move(gone, tmp_path / "elsewhere")
    fresh = shards.open_sharded(tmp_path / "sharded")
    result = searchkit.search(fresh, "activists")
    assert result.partial and result.missing == ["shard-001"]
    assert 0 < result.total < whole
    data = json.loads(runner.invoke(main, ["--index", str(tmp_path / "sharded"), "query", "activists",
                                           "--format", "json"]).output)
    assert (data["partial"], data["missing"]) == (True, ["shard-001"])
    assert "1 of 3 shards did not answer (shard-001" in data["notice"]
    text = runner.invoke(main, ["--index", str(tmp_path / "sharded"), "query", "activists"]).output
    assert text.startswith("note: 1 of 3 shards did not answer (shard-001")
