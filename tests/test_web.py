"""The web UI through Flask's test client: pages, feed, parameters, escaping, headers."""

import csv
import io
import json
import re
import sys
from datetime import datetime, timezone
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from searchkit.article import Article, clean
from webui import create_app
from webui.params import SearchParams
from searchkit.search import timeline
from webui.timeline import Bar, bars

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def client(index, index_path):
    index.write([clean(Article(id="xss", title='<script>alert("t")</script> raqqa',
                               body="Body <img src=x onerror=alert(1)> raqqa.", author="<b>Eve</b>",
                               source="Evil & Co", url="https://evil.example/?a=<x>",
                               origin={"path": "/data/evil.jsonl", "format": "jsonl",
                                       "extractor": "searchkit.jsonl"}))])
    return create_app({"INDEX": str(index_path)}).test_client()


def main_html(response) -> str:
    page = response.get_data(as_text=True)
    return page[page.index("<main"):page.index("</main>")]


def test_search_page_shows_ranked_highlighted_results(client):
    page = client.get("/search?q=isis+fighters+raqqa").get_data(as_text=True)
    assert page.index("escape <mark>Raqqa</mark> in secret deal") < page.index("Prize <mark>fighter</mark> wins title")
    assert "Thousands of <mark>ISIS</mark> <mark>fighters</mark> left <mark>Raqqa</mark> in a convoy." in page
    assert 'value="isis fighters raqqa"' in page
    assert re.search(r'<p class="count" role="status">5 results\s*<span class="time">\(\d+ ms\)</span>', page)
    assert '<a class="original" href="https://planet.example/raqqa" rel="noopener noreferrer">original' in page


def test_everything_user_supplied_is_escaped(client):
    page = client.get('/search?q=raqqa+"><script>x</script>').get_data(as_text=True)
    assert "<script>" not in page
    assert "&lt;<mark>script</mark>&gt;alert(&quot;t&quot;)&lt;/<mark>script</mark>&gt; <mark>raqqa</mark>" in page
    article = client.get("/article/xss").get_data(as_text=True)
    assert "<img" not in article and "<b>Eve</b>" not in article and "&lt;b&gt;Eve&lt;/b&gt;" in article


def test_no_inline_script_and_no_asset_from_elsewhere(client):
    for url in ("/", "/search?q=raqqa", "/search?q=zzz", "/article/raqqa?q=raqqa", "/article/nope"):
        page = client.get(url).get_data(as_text=True)
        scripts = re.findall(r"<script\b[^>]*>", page)
        assert scripts == ['<script src="/static/app.js" defer>'], url
        tags = re.findall(r"<[a-zA-Z][^>]*>", page)
        assert [t for t in tags if re.search(r"\s(on[a-z]+|style)=", t)] == [], url
        assert "<style" not in page and "javascript:" not in page
        assets = re.findall(r'<(?:link|script|img)\b[^>]*(?:href|src)="([^"]+)"', page)
        assert all(a.startswith("/") for a in assets), assets
    with client.get("/static/app.js") as script:
        assert (script.status_code, script.mimetype) == (200, "text/javascript")


def test_article_page_provenance_license_and_numbered_matches(client):
    page = main_html(client.get("/article/raqqa?q=raqqa+fighters"))
    assert '<h1 id="article-title"><mark id="m1">Fighters</mark> escape <mark id="m2">Raqqa</mark> in secret deal</h1>' in page
    assert "Thousands of ISIS <mark id=\"m3\">fighters</mark> left <mark id=\"m4\">Raqqa</mark> in a convoy." in page
    assert 'data-matches="4"' in page and '<a class="next-match" href="#m1">' in page
    assert '<a href="/search?q=raqqa+fighters">← Results for “raqqa fighters”</a>' in page
    assert "<dt>Article id</dt><dd><code>raqqa</code></dd>" in page
    evil = main_html(client.get("/article/xss"))
    assert "<dt>Imported from</dt><dd><code>/data/evil.jsonl</code></dd>" in evil
    assert "<dt>Extracted as</dt><dd>jsonl by <code>searchkit.jsonl</code></dd>" in evil
    assert client.get("/article/nope").status_code == 404


def test_article_page_says_when_the_query_is_not_in_it(client):
    page = main_html(client.get("/article/mosul?q=convoy"))
    assert "“convoy” does not appear in this article’s text." in page and "<mark" not in page


def test_licensed_article_credits_author_source_and_license(client, index):
    index.write([clean(Article(id="gv", title="Story", body="Text.", author="Ana", source="Global Voices",
                               license="CC BY 3.0 https://creativecommons.org/licenses/by/3.0/"))])
    page = main_html(client.get("/article/gv"))
    assert ('<p class="license">This story by Ana originally appeared on Global Voices.\n      License: '
            '<a class="license-link" href="https://creativecommons.org/licenses/by/3.0/" '
            'rel="license noopener noreferrer">CC BY 3.0</a>.</p>') in page


def credit_text(page: str) -> str:
    found = re.search(r'<p class="license">(.*?)</p>', page, re.S)
    return " ".join(re.sub(r"<[^>]+>", "", found.group(1)).split())


@pytest.mark.parametrize("source, author, license_text, expected", [
    ("Global Voices", "Rebecca MacKinnon",
     "CC BY 3.0 https://creativecommons.org/licenses/by/3.0/ - by the author in `author`, originally published by "
     "Global Voices at `url`; converted from HTML to plain text, images, captions and embeds removed",
     "This story by Rebecca MacKinnon originally appeared on Global Voices on 26 October 2004 (the original). "
     "License: CC BY 3.0. Changes: converted from HTML to plain text, images, captions and embeds removed."),
    ("Wikinews", "Wikinews contributors",
     "CC BY 2.5 https://creativecommons.org/licenses/by/2.5/ - by Wikinews contributors, originally published by "
     "Wikinews at `url`; converted to plain text, pull-quote attributions and the dateline removed",
     "This story by Wikinews contributors originally appeared on Wikinews on 26 October 2004 (the original). "
     "License: CC BY 2.5. Changes: converted to plain text, pull-quote attributions and the dateline removed."),
    ("18F", "",
     "Public domain (U.S. government work) and CC0 1.0 https://creativecommons.org/publicdomain/zero/1.0/ - "
     "published by 18F (GSA); converted from Markdown to plain text, images and embeds removed",
     "This story was published by 18F on 26 October 2004 (the original). License: Public domain (U.S. government "
     "work) and CC0 1.0; no endorsement by the publisher is implied. Changes: converted from Markdown to plain "
     "text, images and embeds removed."),
])
def test_each_publisher_of_the_demo_is_credited_as_its_license_asks(client, index, source, author, license_text,
                                                                    expected):
    index.write([clean(Article(id="lic", title="Story", body="Text.", author=author, source=source,
                               url="https://example.org/story", published="2004-10-26T12:00:00+00:00",
                               license=license_text))])
    page = main_html(client.get("/article/lic"))
    assert credit_text(page) == expected
    license_url = license_text.split()[license_text.split().index("-") - 1]
    assert f'href="{license_url}" rel="license noopener noreferrer"' in page
    assert '(<a href="https://example.org/story" rel="noopener noreferrer">the original</a>)' in page


def test_api_search_json(client):
    data = client.get("/api/search?q=raqqa&limit=1").get_json()
    assert (data["total"], data["pages"], data["hits"][0]["id"]) == (3, 3, "xss")
    assert data["hits"][0]["snippet"] == "Body &lt;img src=x onerror=alert(1)&gt; <mark>raqqa</mark>."
    assert client.get("/api/search?q=").status_code == 400
    assert client.get("/api/search?q=the").get_json() == {
        "error": "nothing to search for: the query has only punctuation or very common words"}


def test_security_headers_and_health(client):
    response = client.get("/healthz")
    assert response.get_json() == {"status": "ok", "articles": 5}
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "'unsafe-inline'" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert re.fullmatch(r"app;dur=\d+\.\d", client.get("/search?q=raqqa").headers["Server-Timing"])


def test_pagination_links_keep_the_parameters(client):
    page = client.get("/search?q=raqqa&limit=1&sort=newest").get_data(as_text=True)
    assert 'rel="next" href="/search?q=raqqa&amp;sort=newest&amp;page=2&amp;limit=1"' in page
    assert '<a aria-current="page" href="/search?q=raqqa&amp;sort=newest&amp;limit=1">1</a>' in page
    assert 'aria-label="Page 3">3</a>' in page
    last = client.get("/search?q=raqqa&limit=1&sort=newest&page=3").get_data(as_text=True)
    assert 'rel="prev" href="/search?q=raqqa&amp;sort=newest&amp;page=2&amp;limit=1"' in last
    assert 'rel="next"' not in last


def test_filters_show_as_removable_chips(client):
    page = main_html(client.get("/search?q=raqqa&source=Daily+Planet&since=2017-01-01&until=2017-12-31&sort=oldest"))
    assert re.findall(r'<li><a href="([^"]+)" aria-label="Remove filter ([^"]+)">', page) == [
        ("/search?q=raqqa&amp;sort=oldest&amp;since=2017-01-01&amp;until=2017-12-31", "Source: Daily Planet"),
        ("/search?q=raqqa&amp;sort=oldest&amp;source=Daily+Planet", "Dates: 2017-01-01 to 2017-12-31"),
        ("/search?q=raqqa&amp;since=2017-01-01&amp;until=2017-12-31&amp;source=Daily+Planet", "Sort: Oldest first"),
    ]
    assert '<a class="clear" href="/search?q=raqqa">Clear all</a>' in page
    assert re.findall(r'<h2><a href="/article/(\w+)', page) == ["raqqa"]
    # the search box keeps the filters for the next query
    header = client.get("/search?q=raqqa&source=Daily+Planet").get_data(as_text=True).split("<main")[0]
    assert '<input type="hidden" name="source" value="Daily Planet">' in header


def test_bad_parameters_fall_back_with_a_note(client):
    page = main_html(client.get("/search?q=raqqa&since=soon&page=x&sort=best&until=2017-02-30"))
    forms = "use YYYY, YYYY-MM, YYYY-MM-DD, &#34;today&#34;, &#34;yesterday&#34;, &#34;last week&#34; or &#34;3 months ago&#34;"
    assert re.findall(r'<p class="notice" role="status">Note: ([^<]+)</p>', page) == [
        "unknown sort &#39;best&#39;: showing the best matches first",
        f"since=&#39;soon&#39; is not a date: {forms} (ignored)",
        f"until=&#39;2017-02-30&#39; is not a date: {forms} (ignored)",
        "page=&#39;x&#39; is not a number: using 1",
    ]
    assert "3 results" in page


def test_empty_state_explains_the_query_syntax(client):
    page = main_html(client.get("/"))
    assert '<h1 id="welcome-heading">Search 5 news articles</h1>' in page
    assert '<h2 id="syntax">Query syntax</h2>' in page
    assert '<tr><td><a href="/search?q=%22human+rights%22"><code>&quot;human rights&quot;</code></a></td>' in page


def test_no_results_state_offers_ways_out(client):
    page = main_html(client.get("/search?q=convoy&source=Gazette&since=2018-01-01"))
    assert '<h2 id="none-heading">No articles match “convoy”</h2>' in page
    assert ('<li><a href="/search?q=convoy">Search again without the filters</a> '
            '(Source: Gazette; Since 2018-01-01).</li>') in page
    past_end = main_html(client.get("/search?q=raqqa&page=9"))
    assert "No more results: this search has 1 page" in past_end


def test_query_error_is_a_notice_not_an_error_page(client):
    response = client.get("/search?q=the+of")
    assert response.status_code == 200
    assert "nothing to search for: the query has only punctuation or very common words" in main_html(response)


def test_atom_feed_lists_newest_matches(client):
    response = client.get("/search.atom?q=raqqa+fighters&since=2000-01-01")
    assert response.mimetype == "application/atom+xml"
    feed = ET.fromstring(response.data)
    assert feed.findtext(f"{ATOM}title") == "searchkit: raqqa fighters"
    assert feed.findtext(f"{ATOM}id") == "http://localhost/search.atom?q=raqqa+fighters&since=2000-01-01"
    assert feed.findtext(f"{ATOM}updated") == "2018-01-05T08:00:00Z"
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}id") for e in entries] == [
        "http://localhost/article/budget", "http://localhost/article/raqqa", "http://localhost/article/boxer"]
    raqqa = entries[1]
    assert raqqa.findtext(f"{ATOM}author/{ATOM}name") == "Lois Lane"
    assert raqqa.findtext(f"{ATOM}published") == "2017-11-14T09:00:00Z"
    assert raqqa.find(f"{ATOM}link[@rel='related']").get("href") == "https://planet.example/raqqa"
    assert raqqa.findtext(f"{ATOM}summary") == (
        "Thousands of ISIS <mark>fighters</mark> left <mark>Raqqa</mark> in a convoy. The coalition watched from the air.")
    page = client.get("/search?q=raqqa+fighters").get_data(as_text=True)
    assert ('<link rel="alternate" type="application/atom+xml" title="searchkit: raqqa fighters" '
            'href="/search.atom?q=raqqa+fighters">') in page


def test_atom_feed_escapes_and_needs_a_query(client):
    feed = ET.fromstring(client.get("/search.atom?q=raqqa&source=Evil+%26+Co").data)
    (entry,) = feed.findall(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title") == '<script>alert("t")</script> raqqa'
    assert entry.findtext(f"{ATOM}author/{ATOM}name") == "<b>Eve</b>"
    response = client.get("/search.atom")
    assert (response.status_code, response.get_json()) == (400, {"error": "missing parameter q: /search.atom?q=words"})


def test_params_round_trip_and_reset_page():
    params = SearchParams.from_args({"q": "  a   b ", "page": "4", "source": "X", "until": "2017-01-31",
                                     "since": "2017-02-01"})
    assert (params.q, params.page, params.since, params.until) == ("a b", 4, "2017-01-31", "2017-02-01")
    assert params.problems == ("the date range 2017-02-01 to 2017-01-31 ends before it starts: swapped them",)
    assert params.args(source="") == {"q": "a b", "since": "2017-01-31", "until": "2017-02-01"}
    assert params.args(page=5) == {"q": "a b", "since": "2017-01-31", "until": "2017-02-01", "source": ["X"],
                                   "page": "5"}
    assert SearchParams.from_args({"page": "-3", "limit": "100000"}).search_kwargs() == dict(
        limit=100, page=1, sort="relevance", since=None, until=None, source=None, correct=True)


def test_timeline_bars_scale_to_the_tallest_and_keep_empty_slots():
    _, buckets = timeline({datetime(2017, 1, 5, tzinfo=timezone.utc): 10, datetime(2017, 3, 9, tzinfo=timezone.utc): 1})
    assert bars(buckets, width=60, height=80) == [
        Bar("Jan 2017", "2017-01", 10, x=1.0, y=0.0, width=18.0, height=80),
        Bar("Feb 2017", "2017-02", 0, x=21.0, y=80.0, width=18.0, height=0.0),
        Bar("Mar 2017", "2017-03", 1, x=41.0, y=72.0, width=18.0, height=8.0),
    ]
    assert bars(buckets[:1], width=300) == [Bar("Jan 2017", "2017-01", 10, x=130.0, y=0.0, width=40, height=80)]
    assert [b.label for b in bars(timeline({datetime(2017, 1, 5, tzinfo=timezone.utc): 1,
                                            datetime(2017, 1, 6, tzinfo=timezone.utc): 1})[1])] == [
        "5 Jan 2017", "6 Jan 2017"]
    assert bars([]) == []


def facet_links(page: str) -> list[tuple[str, str, str]]:
    section = page[page.index('<section class="facet"'):]
    return re.findall(r'<li><a href="([^"]+)"[^>]*>\s*<span class="value">([^<]+)</span> <span class="n">(\d+)</span>',
                      section)


def test_source_facet_counts_and_toggles(client):
    page = main_html(client.get("/search?q=raqqa"))
    assert facet_links(page) == [("/search?q=raqqa&amp;source=Daily+Planet", "Daily Planet", "1"),
                                 ("/search?q=raqqa&amp;source=Evil+%26+Co", "Evil &amp; Co", "1"),
                                 ("/search?q=raqqa&amp;source=Gazette", "Gazette", "1")]
    on = main_html(client.get("/search?q=raqqa&source=Gazette"))
    # Every source stays listed with its count, so another can be added; a second click removes it.
    assert facet_links(on) == [("/search?q=raqqa&amp;source=Gazette&amp;source=Daily+Planet", "Daily Planet", "1"),
                               ("/search?q=raqqa&amp;source=Gazette&amp;source=Evil+%26+Co", "Evil &amp; Co", "1"),
                               ("/search?q=raqqa", "Gazette", "1")]
    assert 'class="on" aria-current="true" aria-label="Gazette, 1 result, filtered: select to remove"' in on


def test_timeline_bars_filter_to_their_period(client):
    page = main_html(client.get("/search?q=raqqa"))
    assert re.findall(r'<a class="bar" href="([^"]+)"\s+aria-label="([^"]+)"', page) == [
        ("/search?q=raqqa&amp;since=2017-11-14&amp;until=2017-11-14", "14 Nov 2017: 1 match"),
        ("/search?q=raqqa&amp;since=2018-01-05&amp;until=2018-01-05", "5 Jan 2018: 1 match")]
    assert '<text class="tick" x="320" y="94" text-anchor="end">5 Jan 2018</text>' in page
    on = main_html(client.get("/search?q=raqqa&since=2017-11-14&until=2017-11-14"))
    assert re.findall(r'<h2><a href="/article/(\w+)', on) == ["raqqa"]
    assert 'aria-label="Remove filter Published 2017-11-14"' in on
    assert re.findall(r'<a class="bar on" href="([^"]+)"', on) == ["/search?q=raqqa"]


def test_did_you_mean_links_the_corrected_query(client):
    page = main_html(client.get("/search?q=raqa&source=Gazette&as_typed=1"))
    assert '<p class="suggestion">Did you mean <a href="/search?q=raqqa&amp;source=Gazette">raqqa</a>?</p>' in page
    assert '<h2 id="none-heading">No articles match “raqa”</h2>' in page


def test_no_results_and_a_confident_correction_shows_its_results_at_once(client):
    page = main_html(client.get("/search?q=raqa&source=Gazette"))
    assert ('<p class="suggestion" role="status">Showing results for <strong>raqqa</strong> — search instead for '
            '<a href="/search?q=raqa&amp;source=Gazette&amp;as_typed=1">raqa</a></p>') in page
    assert "Budget vote delayed" in page and "Did you mean" not in page
    data = client.get("/api/search?q=raqa").get_json()
    assert (data["query"], data["corrected_from"], data["suggestion"]) == ("raqqa", "raqa", None)
    assert [h["id"] for h in data["hits"]] == ["xss", "raqqa", "budget"]
    # A word that is not in the index and has no correction: no suggestion at all.
    data = client.get("/api/search?q=xylophone+raqa").get_json()
    assert (data["total"], data["suggestion"], data["corrected_from"]) == (0, None, None)


def test_near_duplicates_show_once_with_n_similar(client, index):
    index.write([clean(Article(id="copy", title="Fighters escape Raqqa in secret deal (AP)", source="Wire",
                               body="Thousands of ISIS fighters left Raqqa in a convoy.",
                               published="2017-11-15T10:00:00+00:00", cluster="raqqa"))])
    page = main_html(client.get("/search?q=convoy"))
    assert re.findall(r'<h2><a href="/article/(\w+)', page) == ["copy"]  # the shorter copy ranks first
    assert re.search(r'<summary>1 similar</summary>\s*<ul>\s*<li><a href="/article/raqqa\?q=convoy">'
                     r'Fighters escape Raqqa in secret deal</a>\s*<span class="meta">Daily Planet · 14 Nov 2017</span>', page)
    assert "similar</summary>" not in main_html(client.get("/search?q=convoy&source=Wire"))  # filtered out
    copy = main_html(client.get("/article/copy"))
    assert '<dt>Copy of</dt><dd><a href="/article/raqqa">Fighters escape Raqqa in secret deal</a></dd>' in copy


def test_article_page_lists_similar_articles(client):
    page = main_html(client.get("/article/raqqa"))
    similar = page[page.index('<section class="similar"'):]
    assert re.findall(r'<li><a href="/article/(\w+)">', similar) == ["boxer", "xss", "budget", "mosul"]


def test_api_search_takes_the_page_parameters_and_warns_of_bad_ones(client):
    data = client.get("/api/search?q=raqqa&source=Gazette&since=2018").get_json()
    assert ([h["id"] for h in data["hits"]], data["facets"]["source"]) == (["budget"], [["Gazette", 1]])
    assert [(b["label"], b["count"]) for b in data["timeline"]] == [("2018-01-05", 1)]
    assert data["warnings"] == []
    data = client.get("/api/search?q=raqqa&sort=best&page=x").get_json()
    assert (data["sort"], data["page"], data["total"]) == ("relevance", 1, 3)
    assert data["warnings"] == ["unknown sort 'best': showing the best matches first", "page='x' is not a number: using 1"]


def test_every_route_is_in_the_api_docs(client):
    api_docs = (Path(__file__).resolve().parent.parent / "docs" / "api.md").read_text("utf-8")
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8")
    rules = {re.sub(r"<(?:path:)?(\w+)>", r"<\1>", r.rule) for r in client.application.url_map.iter_rules()
             if not r.rule.startswith("/static")}
    assert rules == {"/", "/search", "/search.atom", "/article/<article_id>", "/api/search",
                     "/api/similar/<article_id>", "/api/article/<article_id>", "/api/export", "/healthz"}
    for rule in rules - {"/"}:
        assert f"`{rule.replace('<article_id>', '<id>')}" in api_docs, rule
    assert readme.index("docs/search-desktop.png") < readme.index("## Two commands")  # the picture first


def test_date_inputs_show_the_days_a_period_covers(client):
    page = main_html(client.get("/search?q=raqqa&since=2017-11&until=2017"))
    assert '<input id="since" name="since" type="date" value="2017-11-01">' in page
    assert '<input id="until" name="until" type="date" value="2017-12-31">' in page
    assert 'aria-label="Remove filter Dates: 2017-11 to 2017"' in page


def test_atom_feed_shows_an_article_imported_after_it_was_read(client, index):
    first = ET.fromstring(client.get("/search.atom?q=raqqa").data)
    assert len(first.findall(f"{ATOM}entry")) == 3
    index.write([clean(Article(id="fresh", title="Raqqa rebuilt", body="Raqqa a year later.",
                               published="2018-11-14T09:00:00+00:00"))])
    feed = ET.fromstring(client.get("/search.atom?q=raqqa").data)
    assert feed.findtext(f"{ATOM}updated") == "2018-11-14T09:00:00Z"
    assert feed.find(f"{ATOM}entry").findtext(f"{ATOM}id") == "http://localhost/article/fresh"


def test_atom_feed_is_newest_first_whatever_the_page_sort(client):
    page = client.get("/search?q=raqqa+fighters&sort=oldest&limit=2&since=2000").get_data(as_text=True)
    assert 'href="/search.atom?q=raqqa+fighters&amp;since=2000"' in page
    feed = ET.fromstring(client.get("/search.atom?q=raqqa+fighters&sort=oldest&since=2000").data)
    assert [e.findtext(f"{ATOM}id").rsplit("/", 1)[1] for e in feed.findall(f"{ATOM}entry")] == [
        "budget", "raqqa", "boxer"]


def test_past_the_last_page_previous_is_the_last_page(client):
    data = client.get("/api/search?q=convoy&page=50").get_json()
    assert (data["total"], data["pages"], data["hits"]) == (1, 1, [])
    assert data["links"] == {"prev": "/api/search?q=convoy&page=1", "next": None}
    data = client.get("/api/search?q=raqqa&limit=1&page=50").get_json()
    assert data["links"]["prev"] == "/api/search?q=raqqa&limit=1&page=3"


def test_page_and_limit_out_of_range_are_refused_the_same_way_at_both_ends(client):
    for args, message in (("limit=0", "limit 0 is too small: at least 1"),
                          ("limit=101", "limit 101 is too large: at most 100"),
                          ("page=0", "page 0 is too small: at least 1"),
                          ("page=-3", "page -3 is too small: at least 1"),
                          ("page=1001", "page 1001 is too large: at most 1000")):
        api = client.get("/api/search?q=raqqa&" + args)
        assert (api.status_code, api.get_json()) == (400, {"error": message}), args
        page = client.get("/search?q=raqqa&" + args)
        assert page.status_code == 400 and message in page.get_data(as_text=True), args
    ok = client.get("/api/search?q=raqqa&limit=x").get_json()
    assert (ok["limit"], ok["warnings"]) == (10, ["limit='x' is not a number: using 10"])


def test_api_article_is_the_stored_article_with_every_field(client):
    data = client.get("/api/article/xss").get_json()
    assert data == {
        "id": "xss", "url": "", "title": '<script>alert("t")</script> raqqa',
        "body": "Body <img src=x onerror=alert(1)> raqqa.", "source": "Evil & Co", "author": "<b>Eve</b>",
        "published": None, "language": "", "tags": [], "license": "", "imported": data["imported"],
        "origin": {"path": "/data/evil.jsonl", "format": "jsonl", "extractor": "searchkit.jsonl"},
        "cluster": "xss"}
    assert datetime.fromisoformat(data["imported"]).tzinfo is not None
    raqqa = client.get("/api/article/raqqa").get_json()
    assert (raqqa["published"], raqqa["author"]) == ("2017-11-14T09:00:00+00:00", "Lois Lane")
    missing = client.get("/api/article/nope")
    assert (missing.status_code, missing.get_json()) == (404, {"error": "no article with id 'nope'"})
    assert missing.headers["Content-Type"] == "application/json"


def test_several_sources_any_case_and_a_notice_for_an_unknown_one(client):
    data = client.get("/api/search?q=raqqa&source=daily+planet&source=GAZETTE&source=BBC").get_json()
    assert sorted(h["id"] for h in data["hits"]) == ["budget", "raqqa"]
    assert data["notice"] == "no source is called 'BBC' (this archive has 4 sources)"
    page = main_html(client.get("/search?q=raqqa&source=daily+planet&source=BBC"))
    assert "Note: no source is called &#39;BBC&#39; (this archive has 4 sources)" in page
    assert [label for _, label, _ in facet_links(page)] == ["Daily Planet", "Evil &amp; Co", "Gazette"]
    assert 'class="on" aria-current="true" aria-label="Daily Planet, 1 result, filtered' in page
    assert '<input type="hidden" name="source" value="daily planet">' in page


def test_download_links_export_every_match_with_the_same_parameters(client):
    page = main_html(client.get("/search?q=raqqa&source=gazette&source=Daily+Planet&sort=oldest&page=2&limit=1"))
    links = dict((fmt, url) for url, fmt in re.findall(r'<a href="([^"]+)" download>([^<]+)</a>', page))
    assert links == {
        "CSV": "/api/export?format=csv&amp;q=raqqa&amp;sort=oldest&amp;source=gazette&amp;source=Daily+Planet",
        "JSON lines": "/api/export?format=jsonl&amp;q=raqqa&amp;sort=oldest&amp;source=gazette&amp;source=Daily+Planet"}
    response = client.get(links["JSON lines"].replace("&amp;", "&"))
    assert response.mimetype == "application/x-ndjson"
    assert response.headers["Content-Disposition"] == 'attachment; filename="searchkit-raqqa.jsonl"'
    rows = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert [(r["id"], r["source"]) for r in rows] == [("raqqa", "Daily Planet"), ("budget", "Gazette")]
    csv_text = client.get(links["CSV"].replace("&amp;", "&")).get_data(as_text=True)
    assert [row["id"] for row in csv.DictReader(io.StringIO(csv_text))] == ["raqqa", "budget"]
    # "Showing results for raqqa": Download writes those results, not the misspelt query's (none).
    corrected = main_html(client.get("/search?q=raqa&source=Gazette"))
    assert "Showing results for <strong>raqqa</strong>" in corrected
    assert re.findall(r'<a href="([^"]+)" download>CSV</a>', corrected) == [
        "/api/export?format=csv&amp;q=raqqa&amp;source=Gazette"]
    assert client.get("/api/export?q=raqqa&format=xml").get_json() == {
        "error": "unknown format 'xml': use format=jsonl or format=csv"}
    assert client.get("/api/export?q=the").status_code == 400


def test_export_is_not_limited_to_a_page(index, index_path):
    body = "Rangers counted the quokkas on Rottnest Island, finding more than last year. " * 3
    index.write([clean(Article(id=f"q{i:03d}", title=f"Quokka count {i}", body=body + f" Island {i}.",
                               source="Island Post", published=datetime(2020, 1, 1 + i % 28, tzinfo=timezone.utc)))
                 for i in range(150)])
    client = create_app({"INDEX": str(index_path)}).test_client()
    assert len(client.get("/api/search?q=quokka&limit=100").get_json()["hits"]) == 100  # a page at most
    lines = client.get("/api/export?q=quokka&format=jsonl").get_data(as_text=True).splitlines()
    assert len(lines) == 150 and len({json.loads(line)["id"] for line in lines}) == 150


def test_date_presets_count_back_from_the_newest_article_of_an_old_archive(client):
    page = main_html(client.get("/search?q=raqqa"))
    presets = re.findall(r'<li><a href="([^"]+)"[^>]*>(Past [^<]+)</a></li>', page)
    # The newest article is of 5 Jan 2018 08:00: the archive ends there, so "past" counts from it.
    assert presets == [("/search?q=raqqa&amp;since=2018-01-04T08:00", "Past 24 hours"),
                       ("/search?q=raqqa&amp;since=2017-12-29", "Past week"),
                       ("/search?q=raqqa&amp;since=2017-12-06", "Past month"),
                       ("/search?q=raqqa&amp;since=2017-01-05", "Past year")]
    assert "“Past” counts back from the newest article, 5 Jan 2018: the archive ends there." in page
    week = main_html(client.get("/search?q=raqqa&since=2017-12-29"))
    assert '<li><a href="/search?q=raqqa" class="on" aria-current="true">Past week</a></li>' in week
    assert [h for h in re.findall(r'href="/article/([^"?]+)', week)] == ["budget"]


def test_the_timeline_has_a_count_axis(client):
    page = main_html(client.get("/search?q=raqqa"))
    # Above the chart's top line (the count of the tallest bar), so no bar runs into it.
    assert '<text class="tick axis-count" x="0" y="-4">1 match</text>' in page
    assert '<line class="axis grid" x1="0" y1="0.5" x2="320" y2="0.5"/>' in page


def test_the_count_axis_has_a_halfway_line_at_half_the_tallest_bar(index, index_path):
    # Seven wombat articles: five in 2019, two in 2021, so the tallest bar is 5 and the halfway line 2.
    years = [2019] * 5 + [2021] * 2
    index.write([clean(Article(id=f"w{i}", title=f"Wombat census {i}", body="Wombats were counted again.",
                               published=datetime(year, 3, 1 + i, tzinfo=timezone.utc)))
                 for i, year in enumerate(years)])
    page = main_html(create_app({"INDEX": str(index_path)}).test_client().get("/search?q=wombat"))
    counts = [int(c) for c in re.findall(r'data-count="(\d+)"', page)]
    top = max(counts)
    mid = re.search(r'<line class="axis grid" x1="0" y1="([\d.]+)" x2="320" y2="[\d.]+"/>\s*'
                    r'<text class="tick axis-mid"[^>]*>([\d,]+)</text>', page)
    assert mid is not None
    assert int(mid.group(2).replace(",", "")) == top // 2
    assert float(mid.group(1)) == pytest.approx(80 - 80 * (top // 2) / top, abs=0.06)


def _evaluations(client, url: str) -> int:
    """How many times answering `url` evaluates a query: calls into the engine's rank entry points,
    and any Whoosh Searcher.search (what webui/clusters.py once ran for every clustered hit)."""
    counted = {(module, name) for module in ("rank.py", "ranking.py") for name in ("rank", "cluster_members", "_match")}
    counted |= {("searching.py", "search"), ("searching.py", "search_with_collector")}
    calls = 0

    def profile(frame, event, arg):
        nonlocal calls
        code = frame.f_code
        if event == "call" and (code.co_filename.rsplit("/", 1)[-1], code.co_name) in counted:
            calls += 1

    sys.setprofile(profile)
    try:
        assert client.get(url).status_code == 200
    finally:
        sys.setprofile(None)
    return calls


def test_the_page_evaluates_the_query_a_constant_number_of_times_however_many_hits_have_copies(client, index):
    stories = [clean(Article(id=f"s{n}", title=f"Convoy story {n}", source="Daily Planet",
                             body=f"A convoy left the city at dawn, report number {n}.",
                             published=f"2017-11-{n + 1:02d}T10:00:00+00:00", cluster=f"s{n}"))
               for n in range(12)]
    copies = [clean(Article(id=f"c{n}", title=f"Convoy story {n} (AP)", source="Wire",
                            body=f"A convoy left the city at dawn, report number {n}.",
                            published=f"2017-11-{n + 1:02d}T12:00:00+00:00", cluster=f"s{n}"))
              for n in range(12)]
    index.write(stories + copies)
    page = main_html(client.get("/search?q=convoy+dawn&limit=50"))
    assert page.count("<summary>1 similar</summary>") == 12
    api = _evaluations(client, "/api/search?q=convoy+dawn&limit=50")
    assert api >= 1
    assert _evaluations(client, "/search?q=convoy+dawn&limit=50") <= api + 2  # not one more per clustered hit


def test_a_narrowed_search_draws_the_bars_around_with_a_way_back(client):
    bar = r'<a class="(bar[\w ]*)" href="([^"]+)"\s+aria-label="([^"]+)"'
    narrowed = main_html(client.get("/search?q=raqqa&since=2018-01-05&until=2018-01-05"))
    assert re.findall(r'<h2><a href="/article/(\w+)', narrowed) == ["budget"]
    # The other day with a match stays drawn (pale), linking to its own day; the chosen one clears.
    assert re.findall(bar, narrowed) == [
        ("bar out", "/search?q=raqqa&amp;since=2017-11-14&amp;until=2017-11-14",
         "14 Nov 2017: 1 match (outside the chosen dates)"),
        ("bar on", "/search?q=raqqa", "5 Jan 2018: 1 match (filtered: select to remove)")]
    assert '<p class="timeline-out"><a href="/search?q=raqqa">← All dates</a>' in narrowed
    assert 'data-range-url="/search?q=raqqa"' in narrowed  # where a dragged range's since/until go
    # A range: bars inside it "in", a preset (since only) the same; no dates, no marks.
    ranged = main_html(client.get("/search?q=raqqa&since=2017-11&until=2017-12"))
    assert [c for c, _, _ in re.findall(bar, ranged)] == ["bar in", "bar out"]
    assert [c for c, _, _ in re.findall(bar, main_html(client.get("/search?q=raqqa&since=2018")))] == ["bar out", "bar in"]
    whole = main_html(client.get("/search?q=raqqa"))
    assert [c for c, _, _ in re.findall(bar, whole)] == ["bar", "bar"] and "All dates" not in whole
    # A chosen period with no match at all still shows the chart and the way out.
    empty = main_html(client.get("/search?q=raqqa&since=2017-12-01&until=2017-12-02"))
    assert "No articles match" in empty and [c for c, _, _ in re.findall(bar, empty)] == ["bar out", "bar out"]
    assert "← All dates" in empty


def test_chosen_months_get_a_chart_of_their_days(client):
    q = "/search?q=fighter+OR+budget+OR+raqqa"
    assert re.findall(r'data-period="([\d-]+)"', main_html(client.get(q))) == ["2016-03", "2017-11", "2018-01"]
    months = main_html(client.get(q + "&since=2017-11&until=2018-01"))
    assert "timeline-detail-caption" not in main_html(client.get(q))
    assert '<figcaption id="timeline-detail-caption">Matches 2017-11 to 2018-01, by day</figcaption>' in months
    detail = months[months.index("timeline-detail-caption"):]
    assert re.findall(r'data-period="([\d-]+)"', detail) == ["2017-11-14", "2018-01-05"]


def test_api_search_has_the_timeline_around_the_chosen_dates(client):
    whole = client.get("/api/search?q=raqqa").get_json()
    assert "timeline_around" not in whole
    narrowed = client.get("/api/search?q=raqqa&since=2018-01-05&until=2018-01-05").get_json()
    assert [b["label"] for b in narrowed["timeline"]] == ["2018-01-05"]
    assert narrowed["timeline_around"] == whole["timeline"]


def test_an_article_opened_from_a_narrowed_search_leads_back_to_it(client):
    page = main_html(client.get("/search?q=raqqa&source=Gazette&since=2018&sort=oldest"))
    hrefs = re.findall(r'<h2><a href="(/article/[^"]+)"', page)
    assert hrefs == ["/article/budget?q=raqqa&amp;sort=oldest&amp;since=2018&amp;source=Gazette"]
    article = main_html(client.get(hrefs[0].replace("&amp;", "&")))
    assert ('<a href="/search?q=raqqa&amp;sort=oldest&amp;since=2018&amp;source=Gazette">'
            '← Results for “raqqa” (Source: Gazette · Since 2018)</a>') in article
    assert '<mark id="m1">Raqqa</mark>' in article
    # "Showing results for raqqa": its articles highlight raqqa, not the misspelt raqa.
    corrected = main_html(client.get("/search?q=raqa"))
    first = re.findall(r'<h2><a href="(/article/[^"]+)"', corrected)[0]
    assert first.endswith("?q=raqqa") and "<mark" in main_html(client.get(first))


def test_the_pages_links_are_the_urls_url_for_builds(index, index_path):
    from flask import url_for

    from webui.views import article_urls, page_numbers, search_urls

    app = create_app({"INDEX": str(index_path)})
    cases = [{}, {"q": "raqqa"}, {"q": 'a "b c" & d=e+f #g %h ?i/j:k;l@m!$\'()*,'},
             {"q": "ünïcode — ‘quotes’ 中文", "sort": "newest", "page": "3"},
             {"q": "x", "source": ["Evil & Co", "Daily Planet", "(no source)"], "since": "2012-05", "until": "last week"},
             {"q": "x", "source": []}, {"q": ""}]
    for root in ("", "/news"):  # the app mounted at the site's root and under a path
        with app.test_request_context("/search?q=x", base_url="http://localhost" + root):
            url = search_urls()
            for args in cases:
                assert url(args) == url_for("web.search_page", **args), args
                article = article_urls(args)
                for article_id in ("reuters-idUS123", "a/b c?d#e%f&g=h+i", "ünï/中文 ‘x’", "%00", "..", "@:;,"):
                    assert article(article_id) == url_for("web.article_page", article_id=article_id, **args)
    # The pager: first, last and two either side of the page, as a filter of every page number would give.
    for pages in range(1, 30):
        for page in range(1, 40):
            assert page_numbers(page, pages) == [n for n in range(1, pages + 1)
                                                 if n in (1, pages) or abs(n - page) <= 2]
