"""IdSet (the ids an import read and committed, by hash) answers as a set of str does, across
its folds of recent ids into the sorted array."""

from __future__ import annotations

from searchkit.idset import FOLD, IdSet


def test_an_idset_holds_what_was_added_across_folds_and_nothing_else():
    ids = IdSet()
    added = [f"reuters-idUSL{n:08d}" for n in range(2 * FOLD + 7)]
    for article_id in added[:FOLD + 3]:  # one fold, then some waiting
        ids.add(article_id)
    ids.update(added[FOLD + 3:])  # a second fold, then 7 waiting
    others = [f"reuters-idUSX{n:08d}" for n in range(len(added))] + ["", "reuters-idUSL"]
    assert all(article_id in ids for article_id in added)
    assert not any(article_id in ids for article_id in others)
    ids.update(added[:5])  # again: still members, nothing else became one
    assert all(article_id in ids for article_id in added) and "x" not in ids
    ids.clear()
    assert not any(article_id in ids for article_id in added)
