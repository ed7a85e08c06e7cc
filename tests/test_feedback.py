"""Pseudo-relevance feedback (RM3, engine/scoring.feedback_weights) on a literal corpus."""

import pytest

import searchkit
from searchkit.article import Article, clean
from searchkit.engine import scoring

DOCS = [
    dict(id="storm", title="Storm floods coastal town",
         body="Residents of the coastal town fled as the storm surge broke the levee. Flood damage to the levee "
              "and the harbour was severe, and the levee surge reached the square."),
    dict(id="levee", title="Levee surge warning",
         body="Engineers said the levee could fail in a surge. Residents were told to leave."),
    dict(id="council", title="Council meeting", body="Residents discussed the budget and parking."),
    dict(id="match", title="Football results", body="The home side won the match in the final minute."),
    dict(id="vote", title="Election night", body="Voters chose a new mayor after a long campaign."),
    dict(id="bake", title="Bake sale", body="The school bake sale raised money for new books."),
    dict(id="dam", title="Dam inspection", body="The levee and the surge barrier passed inspection."),  # no query word
]
LONG = "storm flood damage coastal town residents"  # six words: a description, feedback applies


@pytest.fixture(scope="module")
def towns(tmp_path_factory):
    ix = searchkit.open_index(tmp_path_factory.mktemp("feedback") / "index", create=True)
    # Many unrelated articles: the query's postings are then short next to the index, which
    # the sparse scoring path handles (engine/rank.py), as on a real news index.
    filler = [Article(id=f"garden{n}", title=f"Garden note {n}", body="Plant the bulbs in autumn.") for n in range(600)]
    ix.write([clean(Article(**d)) for d in DOCS] + [clean(a) for a in filler])
    return ix


def test_feedback_weights_mix_the_relevance_model_into_the_query():
    # model: a 2*2/4 = 1.0, c 2*2/4 + 1*1/2 = 1.5, d 0.5; its 2 best (c, a) normalised by 2.5;
    # mixed 0.7 : 0.3 and scaled to the typed total (2)
    weights = scoring.feedback_weights({"a": 1.0, "b": 1.0}, [(2.0, {"a": 2, "c": 2}), (1.0, {"c": 1, "d": 1})],
                                       terms=2, query_weight=0.7)
    assert weights == pytest.approx({"a": 0.7 + 0.3 * 2 * 1.0 / 2.5, "b": 0.7, "c": 0.3 * 2 * 1.5 / 2.5})


def test_feedback_weights_leave_out_the_collections_common_stems():
    # c is in 3 of 10 articles: over a 20 % limit it is no feedback term, d (1 of 10) is
    stats = scoring.CorpusStats(10, {}, {("body", "c"): 3, ("title", "c"): 1, ("body", "d"): 1})
    documents = [(1.0, {"a": 1, "c": 2, "d": 1})]
    weights = scoring.feedback_weights({"a": 1.0}, documents, terms=5, query_weight=0.5, stats=stats, max_df=0.2)
    assert weights == pytest.approx({"a": 0.5 + 0.5 * 0.5, "d": 0.5 * 0.5})
    kept = scoring.feedback_weights({"a": 1.0}, documents, terms=5, query_weight=0.5, stats=stats, max_df=1.0)
    assert kept == pytest.approx({"a": 0.5 + 0.5 * 0.25, "c": 0.5 * 0.5, "d": 0.5 * 0.25})


def test_feedback_weights_take_each_articles_most_frequent_stems_only():
    # Anserini's document vectors: the article keeps its 2 most frequent stems (a 3, c 2), which
    # are normalised over themselves (a 0.6, c 0.4); d, mentioned once, is no feedback term
    documents = [(1.0, {"a": 3, "c": 2, "d": 1})]
    pruned = scoring.feedback_weights({"a": 1.0}, documents, terms=5, query_weight=0.5, doc_terms=2)
    assert pruned == pytest.approx({"a": 0.5 + 0.5 * 0.6, "c": 0.5 * 0.4})
    whole = scoring.feedback_weights({"a": 1.0}, documents, terms=5, query_weight=0.5, doc_terms=0)
    assert whole == pytest.approx({"a": 0.5 + 0.5 * 0.5, "c": 0.5 * 2 / 6, "d": 0.5 * 1 / 6})


def test_feedback_weights_without_documents_keep_the_query():
    assert scoring.feedback_weights({"a": 2.0}, []) == {"a": 2.0}
    assert scoring.feedback_weights({"a": 2.0}, [(0.0, {"b": 3})]) == {"a": 2.0}


def test_feedback_lifts_an_article_sharing_the_best_matches_vocabulary(towns):
    """The best match talks of the levee and the surge; the levee warning shares those words
    and passes the council meeting, which shares only "residents" with the query."""
    plain = searchkit.search(towns, LONG, feedback=False)
    fed = searchkit.search(towns, LONG)
    assert [h.id for h in plain.hits] == ["storm", "council", "levee"]
    assert [h.id for h in fed.hits] == ["storm", "levee", "council"]
    assert fed.total == plain.total == 3  # feedback terms re-rank; they never add matches


def test_keyword_queries_get_no_feedback_pass(towns):
    short = "storm flood coastal town residents"  # five words: below FEEDBACK_MIN_WORDS
    assert scoring.FEEDBACK_MIN_WORDS == 6
    with_pass = [(h.id, h.score) for h in searchkit.search(towns, short).hits]
    assert with_pass == [(h.id, h.score) for h in searchkit.search(towns, short, feedback=False).hits]
