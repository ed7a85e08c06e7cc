"""The query language, filters, facets, collapse, did-you-mean and similar articles, on a literal corpus."""

from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import searchkit
from searchkit.article import Article, clean

NOW = datetime(2024, 6, 15, 12, 0, tzinfo=timezone.utc)

NEWS = [
    dict(id="boe", title="Bank of England raises rates",
         body="The Bank of England raised interest rates on Thursday.",
         source="BBC News", author="Jane Smith", published="2024-06-14T10:00:00+00:00"),
    dict(id="cricket", title="England cricket on the bank holiday",
         body="England fans spent the bank holiday watching cricket.",
         source="Sky", author="Tom Jones", published="2024-06-10T18:00:00+00:00"),
    dict(id="fed", title="Federal Reserve holds rates",
         body="The Federal Reserve kept interest rates unchanged. Markets rallied.",
         source="Reuters", author="Jane Doe", published="2024-04-15T09:00:00+00:00"),
    dict(id="fed-copy", title="Federal Reserve holds rates",
         body="The Federal Reserve kept interest rates unchanged. Markets rallied.",
         source="Yahoo", author="Jane Doe", published="2024-04-15T13:00:00+00:00", cluster="fed"),
    dict(id="govt", title="Government spending review",
         body="The government announced a spending review for schools and hospitals.",
         source="BBC News", author="Ann Lee", published="2017-03-05T08:00:00+00:00"),
    dict(id="vote", title="Election results",
         body="Voters elected a new parliament. The government changed.",
         source="Guardian", published="2017-11-20T22:00:00+00:00"),
    dict(id="undated", title="A note on elections", body="An electoral commission report."),
]


@pytest.fixture(scope="module")
def news(tmp_path_factory):
    ix = searchkit.open_index(tmp_path_factory.mktemp("news") / "index", create=True)
    ix.write([clean(Article(**record)) for record in NEWS])
    return ix


def ids(news, text, **options):
    return [h.id for h in searchkit.search(news, text, now=NOW, **options).hits]


@pytest.mark.parametrize("text, expected", [
    ('"Bank of England"', ["boe"]),                # stop word inside the phrase keeps its place
    ('"bank england"', []),                        # ... so the words alone are not that phrase
    ("bank england", ["boe", "cricket"]),          # words: both have both words, phrase-like first
    ("rates AND reserve", ["fed"]),                # the Yahoo copy is collapsed into fed
    ("rates NOT reserve", ["boe"]),
    ("rates -reserve", ["boe"]),
    ("title:government", ["govt"]),
    ("government", ["govt", "vote"]),              # title match first
    ("rates AND source:bbc", ["boe"]),
    ("author:smith", ["boe"]),
    ("elect*", ["undated", "vote"]),               # elections + electoral beat election
    ("goverment~", ["govt", "vote"]),
    ('"holiday watching" OR "interest rates"', ["cricket", "boe", "fed"]),
])
def test_operators(news, text, expected):
    assert ids(news, text) == expected


@pytest.mark.parametrize("text, expected", [
    ("published:2017", ["vote", "govt"]),
    ("published:2017-11", ["vote"]),
    ("published:[2017-01-01 TO 2017-06-30]", ["govt"]),
    ("published:[2017-06-01 TO *]", ["boe", "cricket", "fed-copy", "vote"]),  # newest copy stands for fed
    ("since:yesterday", ["boe"]),
    ('since:"last week"', ["boe", "cricket"]),
    ('until:"2 months ago"', ["fed-copy", "vote", "govt"]),
    ("since:2024-04-01 until:2024-05-01", ["fed-copy"]),
    ("rates since:2024-06-01", ["boe"]),
    ("-published:2024", ["vote", "govt", "undated"]),  # no date: last, newest or oldest
])
def test_date_forms(news, text, expected):
    assert ids(news, text, sort="newest") == expected


def test_filters_as_parameters(news):
    assert ids(news, "rates OR government", sort="newest", since="last week") == ["boe"]
    assert ids(news, "rates OR government", sort="oldest", until="2 months ago") == ["govt", "vote", "fed"]
    assert ids(news, "rates OR government", sort="newest", source="BBC News") == ["boe", "govt"]
    with pytest.raises(ValueError, match="cannot read the date 'someday'"):
        searchkit.search(news, "rates", since="someday", now=NOW)


def test_bad_syntax_falls_back_to_words_with_a_notice(news):
    result = searchkit.search(news, "since:someday rates", now=NOW)
    assert result.notice.startswith("cannot read the date 'someday'")
    assert [h.id for h in result.hits] == ["boe", "fed"]
    assert searchkit.search(news, "rates AND (", now=NOW).total == 2


def test_collapsed_cluster_counts_its_copies(news):
    result = searchkit.search(news, "federal reserve", now=NOW)
    assert [(h.id, h.cluster, h.cluster_size) for h in result.hits] == [("fed", "fed", 2)]
    assert result.total == 1
    every = searchkit.search(news, "federal reserve", now=NOW, collapse=False)
    assert sorted(h.id for h in every.hits) == ["fed", "fed-copy"]


def test_facets_and_timeline(news):
    result = searchkit.search(news, "rates OR government", now=NOW)
    assert result.facets["source"] == [("BBC News", 2), ("Guardian", 1), ("Reuters", 1)]
    assert result.facets["year"] == [("2017", 2), ("2024", 2)]
    assert [(b.label, b.count) for b in result.timeline] == [
        ("2017", 2), ("2018", 0), ("2019", 0), ("2020", 0), ("2021", 0), ("2022", 0), ("2023", 0), ("2024", 2)]
    months = searchkit.search(news, "government", now=NOW)
    assert months.facets["month"] == [("2017-03", 1), ("2017-11", 1)]
    assert [b.label for b in months.timeline] == ["2017-03", "2017-04", "2017-05", "2017-06", "2017-07",
                                                  "2017-08", "2017-09", "2017-10", "2017-11"]
    days = searchkit.search(news, "england", now=NOW)
    assert days.facets["day"] == [("2024-06-10", 1), ("2024-06-14", 1)]
    assert len(days.timeline) == 5
    assert days.timeline[0].start == datetime(2024, 6, 10, tzinfo=timezone.utc)


def test_a_timeline_counts_dates_of_other_zones_as_they_read_in_the_first_dates_zone():
    from datetime import timedelta

    from searchkit.search import timeline

    paris = timezone(timedelta(hours=2))
    # 5 March 00:30 UTC is 02:30 in the first date's zone: still 5 March there.
    unit, buckets = timeline({datetime(2019, 3, 1, 1, tzinfo=paris): 1,
                              datetime(2019, 3, 5, 0, 30, tzinfo=timezone.utc): 2,
                              datetime(2019, 3, 4, 23, tzinfo=timezone.utc): 4})
    assert unit == "day"
    assert [(b.label, b.count) for b in buckets] == [
        ("2019-03-01", 1), ("2019-03-02", 0), ("2019-03-03", 0), ("2019-03-04", 0), ("2019-03-05", 6)]
    assert buckets[0].start == datetime(2019, 3, 1, tzinfo=paris) and buckets[-1].end == datetime(2019, 3, 6, tzinfo=paris)
    # Before year 1000 labels are as strftime writes them.
    assert timeline({datetime(999, 5, 1): 1})[1][0].label == datetime(999, 5, 1).strftime("%Y-%m-%d")


def test_recency_blends_relevance_with_freshness(news):
    relevance = searchkit.search(news, "federal OR thursday", now=NOW).hits
    recency = searchkit.search(news, "federal OR thursday", sort="recency", now=NOW).hits
    assert [h.id for h in relevance] == ["fed", "boe"]
    assert [h.id for h in recency] == ["boe", "fed"]
    # score x (1 + 2^(-age / 7 days)), age counted from the newest match (boe, 60 days 1 hour later)
    assert recency[0].score == pytest.approx(relevance[1].score * 2)
    assert recency[1].score == pytest.approx(relevance[0].score * (1 + 0.5 ** ((60 + 1 / 24) / 7)))


@pytest.mark.parametrize("text, expected", [
    ("goverment", "government"),
    ("goverment spending", "government spending"),
    ("Goverment", "Government"),
    ("electon results", "election results"),
    ("government", None),
    ("rates", None),
])
def test_did_you_mean_uses_real_words(news, text, expected):
    assert searchkit.search(news, text, now=NOW, correct=False).suggestion == expected


def test_similar_leaves_out_its_own_cluster(news):
    assert [h.id for h in searchkit.similar(news, "fed")] == ["boe"]
    assert [h.id for h in searchkit.similar(news, "govt")] == ["vote"]
    with pytest.raises(searchkit.ArticleNotFoundError, match="no article with id 'nope'"):
        searchkit.similar(news, "nope")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.text(max_size=30), st.lists(st.sampled_from(
    list('ab "*?~:()[]{}^+-!\\/\'') + ["AND ", "OR ", "NOT ", "TO ", "title:", "since:", "published:",
                                     "source:", "author:", "rates", "bank", "2017", "last week"]),
    max_size=12).map("".join)))
def test_no_query_string_raises(news, text):
    try:
        result = searchkit.search(news, text, now=NOW)
    except searchkit.QueryError:
        return
    assert result.total >= 0


def test_a_word_in_many_articles_is_taken_as_meant_not_corrected(index_path):
    from searchkit.suggest import COMMON_WORD, correct_word

    ix = searchkit.open_index(index_path, create=True)
    common = [clean(Article(id=f"w{n}", title="Wrapup of the day", body="A wrapup.")) for n in range(COMMON_WORD)]
    commoner = [clean(Article(id=f"r{n}", title="Wrap it", body="Gift wrap, wraps, wrap.")) for n in range(6 * COMMON_WORD)]
    rare = [clean(Article(id="rare", title="Wrapp", body="A typo: wrapp."))]
    ix.write(common + commoner + rare)
    with ix.searcher() as searcher:
        assert correct_word(searcher, "wrapup") is None  # in COMMON_WORD articles
        assert correct_word(searcher, "wrapp") is None  # a word of the index, if only of one article
        assert correct_word(searcher, "wrapq") == "wrap"  # in none


@pytest.mark.parametrize("phrase", ['"bank of england"', '"interest rates"', '"oil"', '"of the"', '"oil-prices rise"',
                                    '"über straße"', '"oil AND gas"', '"title:oil price"', '"oil* price"',
                                    '"x (y)"', '"10.5 percent"', '"it\'s done"', '"a b c d e f g"'])
def test_a_query_of_one_phrase_is_the_tree_the_parser_makes_of_it(phrase):
    # A lone "phrase" is built without Whoosh's parser; in parentheses it goes through it.
    from searchkit.engine.schema import build_schema
    from searchkit.query import QueryError, parse

    schema = build_schema()

    def parsed(text):
        try:
            p = parse(text, schema)
        except QueryError as exc:
            return str(exc)
        return repr(p.query), sorted(p.stems), p.phrases, p.words, p.notice, p.expensive

    assert parsed(phrase) == parsed(f"({phrase})")
