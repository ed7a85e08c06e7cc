"""Global statistics (engine.scoring.CorpusStats): shards scored as the whole collection.

The corpus is split over two indexes; each shard's statistics for a query are collected,
summed, and passed to the search on each shard: every hit's score is then exactly its
score in one index holding all the articles (what a sharded search needs, DFS style).
"""

from __future__ import annotations

import pytest

import searchkit
from searchkit.engine import CorpusStats, collect_stats

from conftest import corpus_articles

QUERIES = ["raqqa fighters", "isis", '"fighters left raqqa"', "fighter title"]


@pytest.fixture
def shards(tmp_path):
    articles = corpus_articles()
    whole = searchkit.open_index(tmp_path / "whole", create=True)
    whole.write(articles)
    parts = []
    for n, chunk in enumerate([articles[:2], articles[2:]]):
        shard = searchkit.open_index(tmp_path / f"shard{n}", create=True)
        shard.write(chunk)
        parts.append(shard)
    return whole, parts


def _scores(index, text, stats=None) -> dict[str, float]:
    return {hit.id: hit.score for hit in searchkit.search(index, text, limit=10, stats=stats).hits}


@pytest.mark.parametrize("text", QUERIES)
def test_shards_with_merged_stats_score_as_one_index(shards, text):
    whole, parts = shards
    expected = _scores(whole, text)
    merged = CorpusStats.merge([collect_stats(shard, text) for shard in parts])
    found: dict[str, float] = {}
    for shard in parts:
        found.update(_scores(shard, text, merged))
    assert found.keys() == expected.keys()
    for article_id, score in expected.items():
        assert found[article_id] == pytest.approx(score, rel=1e-12)
    # Without the merged statistics a shard scores differently (the check can fail).
    alone: dict[str, float] = {}
    for shard in parts:
        alone.update(_scores(shard, text))
    assert any(alone[i] != pytest.approx(expected[i], rel=1e-9) for i in expected)


def test_stats_add_up_and_survive_json(shards):
    whole, parts = shards
    merged = collect_stats(parts[0], "raqqa fighters") + collect_stats(parts[1], "raqqa fighters")
    assert merged == collect_stats(whole, "raqqa fighters")
    assert merged.doc_count == 4
    assert merged.df[("body", "raqqa")] == 2 and merged.df[("title", "raqqa")] == 1
    assert CorpusStats.from_dict(merged.to_dict()) == merged
