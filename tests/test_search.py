from datetime import datetime, timezone

import pytest

import searchkit
from searchkit.article import Article, clean
from searchkit.snippets import render_html, sentences, snippet


def ids(result):
    return [h.id for h in result.hits]


def test_all_words_rank_first_then_any_word(index):
    result = searchkit.search(index, "isis fighters raqqa")
    assert ids(result) == ["raqqa", "boxer", "mosul", "budget"]
    assert result.total == 4


def test_stemmed_match_and_title_weight(index):
    # "fighter" finds "fighters"; the title match ranks above the body-only one.
    assert ids(searchkit.search(index, "fighter")) == ["boxer", "raqqa"]


def test_snippet_marks_stemmed_variants(index):
    hit = searchkit.search(index, "fighter convoy").hits[0]
    assert hit.id == "raqqa"
    assert hit.snippet == "Thousands of ISIS <mark>fighters</mark> left Raqqa in a <mark>convoy</mark>. The coalition watched from the air."
    assert hit.title_html == "<mark>Fighters</mark> escape Raqqa in secret deal"


def test_phrase_and_exclusion(index):
    assert ids(searchkit.search(index, '"secret deal"')) == ["raqqa"]
    assert ids(searchkit.search(index, "raqqa -budget")) == ["raqqa"]
    assert ids(searchkit.search(index, "raqqa NOT budget")) == ["raqqa"]


def test_field_and_wildcard(index):
    assert ids(searchkit.search(index, "title:mosul")) == ["mosul"]
    assert sorted(ids(searchkit.search(index, "parliam*"))) == ["budget"]


def test_unbalanced_quote_falls_back_to_words(index):
    result = searchkit.search(index, '"raqqa convoy')
    assert result.notice == "unbalanced quote: searched for the words without it"
    assert ids(result) == ["raqqa", "budget"]


def test_empty_and_stopword_only_queries_raise_query_error(index):
    with pytest.raises(searchkit.QueryError, match="empty query"):
        searchkit.search(index, "   ")
    with pytest.raises(searchkit.QueryError, match="nothing to search for"):
        searchkit.search(index, "the of and")


def test_paging_and_sort(index):
    page2 = searchkit.search(index, "isis fighters raqqa", limit=2, page=2)
    assert ids(page2) == ["mosul", "budget"]
    assert [h.rank for h in page2.hits] == [3, 4]
    assert page2.pages == 2
    assert ids(searchkit.search(index, "raqqa OR mosul OR fighter", sort="newest")) == ["budget", "raqqa", "mosul", "boxer"]
    assert ids(searchkit.search(index, "raqqa OR mosul OR fighter", sort="oldest")) == ["boxer", "mosul", "raqqa", "budget"]


def test_filters_by_date_and_source(index):
    assert ids(searchkit.search(index, "raqqa OR mosul OR fighter", since="2017-01-01", until="2017-12-31",
                                sort="oldest")) == ["mosul", "raqqa"]
    assert ids(searchkit.search(index, "raqqa", source="Gazette")) == ["budget"]


def test_match_past_40000_characters_is_highlighted(index_path):
    filler = "Nothing to see in this sentence. " * 1500
    body = filler + "Late in the story the archivists found the ledger."
    assert len(filler) > 40_000
    ix = searchkit.open_index(index_path, create=True)
    ix.write([clean(Article(id="long", title="A long report", body=body))])
    hit = searchkit.search(ix, "ledger").hits[0]
    assert hit.snippet == "Nothing to see in this sentence. Late in the story the archivists found the <mark>ledger</mark>."


def test_snippet_is_the_best_passage_not_the_start():
    text = ("The weather was mild. " * 20 + "\n\nMarkets fell sharply after the election. "
            + "Analysts blamed the election result for the fall in markets. " + "Rain is expected. " * 20)
    frags = snippet(text, {"market", "elect"}, 300)
    html = render_html(frags)
    assert html.startswith("The weather was mild. <mark>Markets</mark> fell sharply after the <mark>election</mark>.")
    assert "Analysts blamed the <mark>election</mark> result for the fall in <mark>markets</mark>." in html


def test_snippet_escapes_markup():
    html = render_html(snippet("<script>alert(1)</script> fighters & friends.", {"fighter"}))
    assert html == "&lt;script&gt;alert(1)&lt;/script&gt; <mark>fighters</mark> &amp; friends."


def test_sentence_split_keeps_abbreviations_together():
    text = "U.S. forces left. They said \u201cno.\u201d Then 4,000 went home."
    assert [text[s:e] for s, e in sentences(text)] == ["U.S. forces left.", "They said \u201cno.\u201d",
                                                       "Then 4,000 went home."]


def test_sentence_split_is_the_plain_boundary_pattern():
    """sentences() uses a pattern rewritten for speed: it splits as the plain one does."""
    import random
    import re

    plain = re.compile(r"""([.!?\u2026]+["'\u201d\u2019)\]]*)\s+(?=["'\u201c\u2018(\[]?[A-Z0-9])|\n\s*\n""")

    def plain_sentences(text: str) -> list[tuple[int, int]]:
        spans, start = [], 0
        for m in plain.finditer(text):
            end = m.end(1) if m.group(1) else m.start()
            if end > start:
                spans.append((start, end))
            start = m.end()
        if start < len(text) and text[start:].strip():
            spans.append((start, len(text.rstrip())))
        return spans

    pieces = list(".!?\u2026\n \t\"'\u201d\u2019)]([\u201c\u2018Aa0b") + ["\n\n", ". ", "U.S.", " \n "]
    rng = random.Random(7)
    for _ in range(20000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 25)))
        assert sentences(text) == plain_sentences(text), text


def test_snippet_shows_up_to_three_passages_phrases_as_one_unit():
    from searchkit.query import phrase_terms

    text = ("The Bank of England raised rates. " + "Filler words go here without matches. " * 12
            + "Critics said the bank england link was weak. " + "More filler text follows here. " * 8
            + "Markets fell after the Bank of England decision. " + "Nothing else. " * 5
            + "The Bank of England said little.")
    frags = snippet(text, {"bank", "england", "market"}, 300, phrases=[phrase_terms("Bank of England")])
    # densest first: the shorter of the two "Bank of England" sentences; in text order
    assert render_html(frags) == (
        "Critics said the <mark>bank</mark> <mark>england</mark> link was weak. \u2026 <mark>Markets</mark> "
        "fell after the <mark>Bank of England</mark> decision. \u2026 The <mark>Bank of England</mark> said little.")


def test_phrase_search_highlights_the_phrase_in_title_and_snippet(index_path):
    ix = searchkit.open_index(index_path, create=True)
    ix.write([clean(Article(id="boe", title="Bank of England holds <rates>",
                            body="The Bank of England & the Treasury met. Bank staff from England came."))])
    hit = searchkit.search(ix, '"bank of england"').hits[0]
    assert hit.title_html == "<mark>Bank of England</mark> holds &lt;rates&gt;"
    assert hit.snippet == ("The <mark>Bank of England</mark> &amp; the Treasury met. "
                           "Bank staff from England came.")


def test_cluster_size_counts_every_matching_copy(index_path):
    ix = searchkit.open_index(index_path, create=True)
    ix.write([clean(Article(id="c1", title="Storm", body="A storm came.", cluster="c1")),
              clean(Article(id="c2", title="Storm", body="A storm came. Rain.", cluster="c1")),
              clean(Article(id="c3", title="Storm storm", body="Storm, storm, storm.", cluster="c1")),
              clean(Article(id="other", title="Calm", body="No storm today.", cluster="other"))])
    result = searchkit.search(ix, "storm")
    assert [(h.id, h.cluster_size) for h in result.hits] == [("c3", 3), ("other", 1)]
    assert result.total == 2
    assert [(h.id, h.cluster_size) for h in searchkit.search(ix, "rain").hits] == [("c2", 1)]


def _storms(ix, copies: bool) -> None:
    """Storm articles over two months and an undated one, three of them copies when `copies`."""
    dates = ["2019-03-01T10:00:00+00:00", "2019-03-01T23:30:00+00:00", "2019-04-20T06:00:00+00:00", None,
             "2019-03-15T12:00:00+00:00", "2019-05-02T18:00:00+00:00",
             "2019-05-02T03:00:00+00:00"]
    ix.write([clean(Article(id=f"s{i}", title="Storm" + " storm" * (i % 3), body=f"A storm came, number {i}.",
                            source=["Met Office", "Coast Guard"][i % 2], published=published,
                            cluster="copies" if copies and i < 3 else f"s{i}"))
              for i, published in enumerate(dates)])


@pytest.mark.parametrize("copies", [True, False])
def test_the_second_search_collapses_and_counts_as_the_first(index_path, copies):
    # The first search of a process reads the matches' clusters and facet values segment by
    # segment; later ones from index-wide columns (a day number per article, cluster groups),
    # and an index where no two articles share a cluster ranks as if nothing collapsed.
    ix = searchkit.open_index(index_path, create=True)
    _storms(ix, copies)
    first, second = searchkit.search(ix, "storm"), searchkit.search(ix, "storm")
    assert {**first.to_dict(), "elapsed_ms": 0} == {**second.to_dict(), "elapsed_ms": 0}
    assert second.total == (5 if copies else 7)
    shown = [(h.id, h.cluster_size) for h in second.hits]
    assert shown == ([("s2", 3), ("s5", 1), ("s4", 1), ("s3", 1), ("s6", 1)] if copies else
                     [("s2", 1), ("s5", 1), ("s1", 1), ("s4", 1), ("s0", 1), ("s3", 1), ("s6", 1)])
    # Shown results only: the copies' cluster counts once, by its best article (s2, 20 April).
    assert {k: dict(v) for k, v in second.facets.items() if k != "source"} == (
        {"day": {"2019-03-15": 1, "2019-04-20": 1, "2019-05-02": 2}} if copies else
        {"month": {"2019-03": 3, "2019-04": 1, "2019-05": 2}})
    # From the first bucket's start to the last article's moment.
    assert second.span == (datetime(2019, 3, 15 if copies else 1, tzinfo=timezone.utc),
                           datetime(2019, 5, 2, 18, tzinfo=timezone.utc))
    assert dict(second.facets["source"]) == ({"Met Office": 3, "Coast Guard": 2} if copies else
                                             {"Met Office": 4, "Coast Guard": 3})
    # Narrowed by source and date: the source facet and the timeline around are counted (not
    # ranked: a page of none) over the search without those filters; the same both times.
    ix = searchkit.open_index(index_path)
    first, second = (searchkit.search(ix, "storm", source="Coast Guard", since="2019-04") for _ in range(2))
    assert {**first.to_dict(), "elapsed_ms": 0} == {**second.to_dict(), "elapsed_ms": 0}
    assert [h.id for h in second.hits] == ["s5"]
    assert second.facets["source"] == searchkit.search(ix, "storm", since="2019-04").facets["source"]
    assert dict(second.facets["source"]) == {"Met Office": 2, "Coast Guard": 1}  # s2, s6; s5
    assert [(b.label, b.count) for b in second.timeline_around if b.count] == [("2019-03", 1), ("2019-05", 1)]


@pytest.mark.parametrize("text", ["storm came", "storm", '"storm came"', "storm OR rain"])
def test_counts_around_a_chosen_source_and_dates_are_the_searches_without_them(index_path, text):
    # The source facet as if no source were chosen and the timeline as if no dates were:
    # counted from the ranking's own evaluation (plain words, a tree; a phrase matched once
    # more through the other filters), over several segments, by a process's first search
    # and by later ones.
    ix = searchkit.open_index(index_path, create=True)
    _storms(ix, copies=False)
    ix.write([clean(Article(id="late", title="Storm came late", body="A storm came and rain.", source="Met Office",
                            published=datetime(2019, 7, 9, 9, tzinfo=timezone.utc)))])
    for _ in range(2):
        narrowed = searchkit.search(ix, text, source="Coast Guard", since="2019-04", until="2019-05")
        assert [h.id for h in narrowed.hits] == ["s5"]
        no_source = searchkit.search(ix, text, since="2019-04", until="2019-05")
        assert narrowed.facets["source"] == no_source.facets["source"]
        assert dict(narrowed.facets["source"]) == {"Met Office": 2, "Coast Guard": 1}  # s2, s6; s5
        no_dates = searchkit.search(ix, text, source="Coast Guard")
        assert [b.to_dict() for b in narrowed.timeline_around] == [b.to_dict() for b in no_dates.timeline]
        assert [(b.label, b.count) for b in narrowed.timeline_around if b.count] == [("2019-03", 1), ("2019-05", 1)]


@pytest.mark.parametrize("text", ["storm came", '"storm came"', "storm OR rain", "storm -rain"])
def test_a_first_search_narrowed_by_source_and_dates_ranks_once(index_path, text):
    # The counts around a chosen source and dates come from the ranking's own matches, for a
    # phrase or a query tree as for plain words: a second ranking asked for the index-wide
    # columns again, and so a process's first search read every article's values, which a
    # one-search process does not need. (collapse=False: a first search does not know the
    # index's clusters yet and, collapsing, still counts around with a ranking of its own;
    # suggest=False: a search of fewer than SUGGEST_BELOW results also counts a did-you-mean.)
    ix = searchkit.open_index(index_path, create=True)
    _storms(ix, copies=False)
    fresh = searchkit.open_index(index_path)
    narrowed = searchkit.search(fresh, text, source="Coast Guard", since="2019-04", until="2019-05",
                                collapse=False, suggest=False)
    assert "columns" not in fresh.arrays._wide
    assert narrowed.facets["source"] == searchkit.search(ix, text, since="2019-04", until="2019-05").facets["source"]
    assert narrowed.timeline_around == searchkit.search(ix, text, source="Coast Guard").timeline


def test_an_index_of_one_source_counts_the_matches_around_a_chosen_source(index_path):
    ix = searchkit.open_index(index_path, create=True)
    ix.write([clean(Article(id=f"g{i}", title="Storm" if i < 2 else "Calm", body=f"Day {i}.", source="Gazette",
                            published=datetime(2019, 3, 1 + i, tzinfo=timezone.utc))) for i in range(3)])
    for _ in range(2):  # per segment, then from the index-wide columns
        result = searchkit.search(ix, "storm", source="Gazette", since="2019-03-02")
        assert [h.id for h in result.hits] == ["g1"]
        assert result.facets["source"] == [("Gazette", 1)]  # the dates chosen, any source: g1
        assert searchkit.search(ix, "storm", source="Gazette").facets["source"] == [("Gazette", 2)]


def test_a_process_that_searches_once_reads_only_the_matches_columns(index_path):
    # `searchkit query` runs one search: the index-wide cluster groups and facet columns
    # (every article's values) are worked out from the second search on, not for the first.
    ix = searchkit.open_index(index_path, create=True)
    _storms(ix, copies=True)
    searchkit.search(ix, "storm")
    assert "clusters" not in ix.arrays._wide and "columns" not in ix.arrays._wide
    searchkit.search(ix, "storm")
    assert "clusters" in ix.arrays._wide and "columns" in ix.arrays._wide


def test_facets_of_dates_centuries_apart(index_path):
    ix = searchkit.open_index(index_path, create=True)
    ix.write([clean(Article(id=f"d{year}", title="Harbour news", body="The harbour opened.",
                            published=f"{year}-06-01T00:00:00+00:00")) for year in (1801, 1802, 2020)])
    for _ in range(2):  # the per-segment values, then the index-wide columns (not by day: too long a span)
        result = searchkit.search(ix, "harbour")
        assert [(b.label, b.count) for b in result.timeline if b.count] == [("1801", 1), ("1802", 1), ("2020", 1)]
        assert len(result.timeline) == 2020 - 1801 + 1


def test_snippet_candidates_are_the_sentences_with_a_probe_folded_or_not():
    from searchkit.snippets import _candidates

    text = "Talks in the U.S. ended. Nothing in Izmir. It's 1,000 o\u2019clock now! Paris waits."
    spans = sentences(text)
    assert len(spans) == 4
    assert _candidates(text, spans, ["us"]) == [0]  # "U.S." without its dots
    assert _candidates(text, spans, ["1000", "oclock"]) == [2]
    assert _candidates(text, spans, ["nothing", "waits"]) == [1, 3]
    assert _candidates(text, spans, ["zebra"]) == [] and _candidates(text, spans, []) == []
    # "\u0130" lower-cases to two characters: offsets would shift, so each sentence is checked.
    dotted = text.replace("Izmir", "\u0130zmir")
    assert len(dotted.lower()) != len(dotted)
    assert _candidates(dotted, sentences(dotted), ["zmir", "us", "waits"]) == [0, 1, 3]
    # Non-ASCII text with ASCII probes is searched as bytes, each other character one "?" (the
    # folded apostrophe "\u2019" as "'"); the Kelvin sign lower-cases to ASCII "k": not so.
    accented = "Caf\u00e9 talks in the U.S. ended. Nothing in \u65e5\u672c waits. It\u2019s 1,000 o\u2019clock now! Paris waits."
    assert _candidates(accented, sentences(accented), ["us", "oclock"]) == [0, 2]
    assert _candidates(accented, sentences(accented), ["waits", "caf\u00e9"]) == [0, 1, 3]
    kelvin = "Talks ended. The \u212aelvin scale. Paris waits."
    assert _candidates(kelvin, sentences(kelvin), ["kelvin"]) == [1]


def test_source_filter_ignores_case_takes_several_and_says_when_one_matches_nothing(index):
    from searchkit.search import NO_SOURCE

    index.write([clean(Article(id="anon", title="Raqqa convoy seen", body="An anonymous post about Raqqa."))])
    result = searchkit.search(index, "raqqa", source="daily  PLANET")
    assert ([h.id for h in result.hits], result.notice) == (["raqqa"], "")
    result = searchkit.search(index, "raqqa", source=["gazette", "Daily Planet"])
    assert sorted(h.id for h in result.hits) == ["budget", "raqqa"]
    # The source facet counts every source (so another can be added) and the ones with none.
    assert result.facets["source"] == [("Daily Planet", 1), ("Gazette", 1), (NO_SOURCE, 1)]
    assert searchkit.search(index, "raqqa").facets["source"] == [("Daily Planet", 1), ("Gazette", 1), (NO_SOURCE, 1)]
    assert [h.id for h in searchkit.search(index, "raqqa", source=NO_SOURCE).hits] == ["anon"]
    result = searchkit.search(index, "raqqa", source=["BBC", "gazete"])
    assert (result.total, result.notice) == (
        0, "no source is called 'BBC' (this archive has 3 sources); no source is called 'gazete': did you mean Gazette?")
    result = searchkit.search(index, "raqqa", source=["BBC", "gazette"])
    assert ([h.id for h in result.hits], result.notice) == (["budget"], "no source is called 'BBC' (this archive has 3 sources)")


def test_date_presets_count_from_now_while_the_archive_is_current():
    from datetime import datetime, timedelta, timezone

    from searchkit.archive import date_presets

    now = datetime(2026, 1, 10, 12, 30, tzinfo=timezone.utc)
    presets, anchor = date_presets(now - timedelta(hours=3), now)
    assert anchor is None
    assert [(p.label, p.since) for p in presets] == [("Past 24 hours", "2026-01-09T12:30"), ("Past week", "2026-01-03"),
                                                     ("Past month", "2025-12-11"), ("Past year", "2025-01-10")]
    presets, anchor = date_presets(datetime(2012, 5, 22, tzinfo=timezone.utc), now)
    assert (anchor, presets[1].since) == (datetime(2012, 5, 22, tzinfo=timezone.utc), "2012-05-15")


def test_the_newest_article_date_follows_imports_and_deletions(index):
    from searchkit.archive import newest_published

    first = newest_published(index)
    assert first == datetime(2018, 1, 5, 8, 0, tzinfo=timezone.utc)
    assert newest_published(index) == first  # asked again: the same (kept) answer
    index.write([clean(Article(id="later", title="Later news", body="Something happened later.",
                               published=datetime(2019, 6, 1, tzinfo=timezone.utc)))])
    assert newest_published(index) == datetime(2019, 6, 1, tzinfo=timezone.utc)
    index.delete(["later"])
    assert newest_published(index) == first


def test_a_date_filter_keeps_the_timeline_of_the_whole_search_around_it(index):
    whole = searchkit.search(index, "fighter OR raqqa OR budget", source=["Daily Planet", "Gazette"])
    narrowed = searchkit.search(index, "fighter OR raqqa OR budget", source=["Daily Planet", "Gazette"],
                                since="2018-01", until="2018-01")
    assert ids(narrowed) == ["budget"]
    assert [b.label for b in narrowed.timeline] == ["2018-01-05"]
    # The source filter and the query stay; only since/until are left out.
    assert [(b.label, b.count) for b in narrowed.timeline_around if b.count] == [("2017-11-14", 1), ("2018-01-05", 1)]
    assert [b.to_dict() for b in narrowed.timeline_around] == [b.to_dict() for b in whole.timeline]
    assert whole.timeline_around == []  # nothing chosen: `timeline` is the whole of it
    # A since: typed in the query is part of the query, so it narrows the timeline around too.
    typed = searchkit.search(index, "fighter OR raqqa OR budget since:2017-10", until="2018-01")
    assert [b.label for b in typed.timeline_around if b.count] == ["2017-11-14", "2018-01-05"]
