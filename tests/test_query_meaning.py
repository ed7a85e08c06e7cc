"""Queries mean what a reader means (issue 18): questions are words, qualifiers narrow,
no silent cap on results, pages never repeat, and an untitled article has no indexed title.

Each test here failed before the fix it guards.
"""

import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

import searchkit
from searchkit.article import Article, clean
from searchkit.cli import main
from searchkit.eval import read_queries, run_queries

from conftest import SHARED

NOW = datetime(2024, 6, 15, 12, 0, tzinfo=timezone.utc)
README = (Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8")

NEWS = [
    dict(id="boe", title="Bank of England raises rates", body="The Bank of England raised interest rates.",
         source="BBC News", author="Jane Smith", published="2024-06-14T10:00:00+00:00",
         tags=["economy", "UK"], language="en"),
    dict(id="fed", title="Federal Reserve holds rates", body="The Federal Reserve kept interest rates unchanged.",
         source="Reuters", author="Jane Doe", published="2024-04-15T09:00:00+00:00",
         tags=["economy", "US"], language="en"),
    dict(id="bce", title="La BCE baisse ses taux", body="Interest rates: la Banque centrale européenne baisse ses taux.",
         source="Le Monde", author="Jean Dupont", published="2024-06-06T09:00:00+00:00",
         tags=["economy"], language="fr"),
    dict(id="cuba", title="Journalist arrested in Cuba", body="Police arrested a journalist in Havana.",
         source="Global Voices", author="Ana Ruiz", published="2012-05-02T09:00:00+00:00",
         tags=["freedom of speech"], language="en"),
    dict(id="iran", title="Blogger detained", body="A journalist was arrested in Tehran after a blog post.",
         source="Global Voices", author="Omid Nasser", published="2012-05-10T09:00:00+00:00",
         tags=["freedom of speech"], language="en"),
    dict(id="press", title="Press freedom report", body="Journalists arrested worldwide: the yearly report.",
         source="Reporters Weekly", author="Jane Doe", published="2013-01-20T09:00:00+00:00", language="en"),
    dict(id="science", title="What is information science?",
         body="Information science studies how information is collected, classified and retrieved.",
         source="Library Journal", published="2020-02-02T09:00:00+00:00", language="en"),
]


@pytest.fixture(scope="module")
def news(tmp_path_factory):
    ix = searchkit.open_index(tmp_path_factory.mktemp("meaning") / "index", create=True)
    ix.write([clean(Article(**record)) for record in NEWS])
    return ix


def ids(ix, text, **options):
    return [h.id for h in searchkit.search(ix, text, now=NOW, **options).hits]


# -- 2. questions are words -------------------------------------------------------------

@pytest.mark.parametrize("question, words", [
    ("science?", "science"),
    ("what is information science?", "what is information science"),
    ("journalist arrested?", "journalist arrested"),
    ("note: journalist arrested", "note journalist arrested"),        # note: names no field
    ("journalist ( arrested", "journalist arrested"),                  # a lone ( is punctuation
    ("journalist * arrested", "journalist arrested"),                  # so is a lone *
    ("journalist (arrested)", "journalist arrested"),                  # parentheses grouping no operator
    ("press-freedom report", "press freedom report"),                  # a hyphen inside a word is not NOT
])
def test_a_question_is_searched_as_its_words(news, question, words):
    asked = searchkit.search(news, question, now=NOW)
    assert [h.id for h in asked.hits] == ids(news, words)
    assert [h.score for h in asked.hits] == [h.score for h in searchkit.search(news, words, now=NOW).hits]
    assert asked.hits and asked.notice == ""


@pytest.mark.parametrize("text, meant", [
    ("AND oil  spill OR", "oil spill"),           # plain words (as_meant's short way): spacing and
    ("NOT oil\tspill NOT", "NOT oil spill"),      # operators at the edges are all that change
    ("ölpreis\u00a0steigt", "ölpreis steigt"),
    ("OR AND", ""),
    ("oil-spill science?", "oil spill science"),  # marks: the rules
])
def test_plain_words_are_meant_as_typed_but_for_spacing_and_edge_operators(text, meant):
    from searchkit.query import as_meant

    assert as_meant(text) == meant


def test_science_question_finds_science_and_keeps_the_word(news):
    assert ids(news, "science?") == ["science"]
    result = searchkit.search(news, "what is information science?", now=NOW)
    assert [h.id for h in result.hits] == ["science"]
    assert "scienc" in searchkit.query.parse("what is information science?", None).stems


def test_a_phrase_among_words_ranks_as_the_words_do(news):
    """In an any-word query a quoted phrase is not required, so it gets the plain-word
    ranking (BM25F, proximity) like the words beside it, and is highlighted as a unit."""
    quoted = searchkit.search(news, 'journalist "press freedom" report', now=NOW)
    plain = searchkit.search(news, "journalist press freedom report", now=NOW)
    assert [(h.id, h.score) for h in quoted.hits] == [(h.id, h.score) for h in plain.hits]
    assert quoted.hits[0].id == "press"
    assert "<mark>Press freedom</mark>" in quoted.hits[0].title_html
    assert ids(news, '"press freedom"') == ["press"]  # a phrase alone is still required as typed


def test_deliberate_syntax_stays_syntax(news):
    assert ids(news, "journ*") == ids(news, "journalist OR journalists")
    assert ids(news, "journalist -cuba") == ["iran", "press"]
    assert ids(news, "(cuba OR tehran) journalist") == ["cuba", "iran", "press"]


# -- 4. qualifiers narrow --------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    # press has "Journalists arrested" as a phrase (sequential dependence's ordered pair);
    # iran has the words three positions apart (only the unordered window)
    ("journalist arrested", ["cuba", "press", "iran"]),
    ("journalist arrested source:global", ["cuba", "iran"]),
    ('journalist arrested source:"global voices"', ["cuba", "iran"]),
    ("journalist arrested -source:global", ["press"]),
    ("journalist arrested title:cuba", ["cuba"]),
    ('journalist arrested author:"ana ruiz"', ["cuba"]),
    ("journalist arrested author:doe", ["press"]),
    ('journalist arrested tags:"freedom of speech"', ["cuba", "iran"]),
    ("journalist arrested since:2012-05-05", ["press", "iran"]),
    ("journalist arrested until:2012-12-31", ["cuba", "iran"]),
    ("journalist arrested published:2013", ["press"]),
    ("interest rates", ["boe", "fed", "bce"]),
    ("interest rates language:fr", ["bce"]),
    ("interest rates source:bbc OR source:reuters", ["boe", "fed"]),
    ("interest rates NOT source:reuters", ["boe", "bce"]),
    ("interest rates tags:us", ["fed"]),
    ("rates AND interest source:bbc", ["boe"]),
    ("source:reuters", ["fed"]),
    ("author:jane", ["boe", "fed", "press"]),
    ("title:journalist", ["cuba"]),
    ("title:blogger journalist", ["iran"]),
    ("title:journalist AND havana", ["cuba"]),
    ("title:journalist AND tehran", []),                               # AND still needs tehran
])
def test_qualifiers_narrow_the_results(news, text, expected):
    assert ids(news, text, sort="relevance") == expected


def test_title_qualifier_ranks_its_word_and_needs_it_in_the_headline(news):
    result = searchkit.search(news, "title:journalist", now=NOW)
    assert [h.id for h in result.hits] == ["cuba"]  # press's headline says "Press freedom report"
    assert "journalist" in result.hits[0].snippet.lower() or result.hits[0].title_html.count("<mark>") == 1


def _satisfies(article: Article, name: str, value: str) -> bool:
    value = value.strip('"').lower()
    if name == "source":
        return set(value.split()) <= set(article.source.lower().split())
    if name == "author":
        return set(value.split()) <= set(article.author.lower().split())
    if name == "tags":
        return value in [t.lower() for t in article.tags]
    if name == "language":
        return article.language.lower() == value
    if name == "title":
        return value in article.title.lower()
    raise AssertionError(name)


QUALIFIER_EXAMPLE = re.compile(r'(?<![\w])(-?)(source|author|tags|language|title):("[^"]*"|\S+)')


def _query_section() -> str:
    start = README.index("## Query syntax")
    return README[start:README.index("\n## ", start + 1)]


def test_readme_qualifier_examples_narrow(news):
    """Every qualifier example in the README's query table: each result has what it asks."""
    examples = [e for e in re.findall(r"`([^`]+)`", _query_section()) if QUALIFIER_EXAMPLE.search(e)]
    assert len(examples) >= 5
    for example in examples:
        result = searchkit.search(news, example, now=NOW)
        assert result.hits, example
        for hit in result.hits:
            article = news.get(hit.id)
            checks = [_satisfies(article, name, value) != bool(minus)
                      for minus, name, value in QUALIFIER_EXAMPLE.findall(example)]
            assert (any(checks) if " OR " in example else all(checks)), (example, hit.id)


# -- 1. no silent cap --------------------------------------------------------------------

@pytest.fixture(scope="module")
def storms(tmp_path_factory):
    """1,200 articles that all mention "storm" (1 to 7 times): more than any old cap."""
    path = tmp_path_factory.mktemp("storms") / "index"
    ix = searchkit.open_index(path, create=True)
    ix.write([clean(Article(id=f"s{n:04d}", title=f"Report {n}", body=" ".join(["storm"] * (n % 7 + 1) + [f"w{n}"] * 5)))
              for n in range(1200)])
    return path


def test_query_limit_1000_gives_1000_results(runner, storms):
    out = runner.invoke(main, ["--index", str(storms), "query", "storm", "--limit", "1000", "--format", "trec"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert len(lines) == 1000
    assert [line.split()[3] for line in lines] == [str(n) for n in range(1, 1001)]


def test_queries_file_goes_to_depth_1000(runner, storms, tmp_path):
    queries = tmp_path / "q.tsv"
    queries.write_text("1\tstorm\n2\tstorm report\n", "utf-8")
    out = runner.invoke(main, ["--index", str(storms), "query", "--queries", str(queries), "--format", "trec",
                               "--limit", "1000"])
    assert out.exit_code == 0, out.output
    per_query: dict[str, int] = {}
    for line in out.output.splitlines():
        per_query[line.split()[0]] = per_query.get(line.split()[0], 0) + 1
    assert per_query == {"1": 1000, "2": 1000}


def test_eval_runs_to_depth_1000(storms):
    run = run_queries(searchkit.open_index(storms), [("1", "storm")])
    assert len(run["1"]) == 1000


def test_a_capped_limit_says_so(storms):
    result = searchkit.search(searchkit.open_index(storms), "storm", limit=5000, facets=False)
    assert len(result.hits) == 1000
    assert result.notice == "limit 5000 is more than 1000: showing limit 1000"


def test_cli_refuses_a_limit_over_1000_with_a_message(runner, storms):
    out = runner.invoke(main, ["--index", str(storms), "query", "storm", "--limit", "5000"])
    assert out.exit_code == 2
    assert "5000 is not in the range 1<=x<=1000" in out.output


def test_export_of_a_query_writes_every_match(runner, storms):
    out = runner.invoke(main, ["--index", str(storms), "export", "--query", "storm"])
    assert out.exit_code == 0
    assert len({json.loads(line)["id"] for line in out.output.splitlines()}) == 1200


# -- 3. pages never repeat ---------------------------------------------------------------

@pytest.fixture(scope="module")
def cranfield(tmp_path_factory):
    docs = [json.loads(line) for line in (SHARED / "cranfield" / "docs.jsonl").read_text("utf-8").splitlines()]
    ix = searchkit.open_index(tmp_path_factory.mktemp("cran") / "index", create=True)
    ix.write(clean(Article(id=d["id"], title=d.get("title", ""), body=d.get("body", "")))
             for d in docs if d.get("title") or d.get("body"))
    return ix


@pytest.mark.parametrize("text", [
    "previous solutions to the boundary layer similarity equations -theory",
    "experimental results on hypersonic viscous interaction -theory",
])
def test_page_two_continues_page_one(cranfield, text):
    first = [h.id for h in searchkit.search(cranfield, text, limit=10, page=1, facets=False).hits]
    second = [h.id for h in searchkit.search(cranfield, text, limit=10, page=2, facets=False).hits]
    both = [h.id for h in searchkit.search(cranfield, text, limit=20, page=1, facets=False).hits]
    assert len(first) == len(second) == 10
    assert first + second == both


# -- 6. an untitled article is indexed without a title ------------------------------------

def test_untitled_article_is_shown_with_a_derived_title_but_indexed_without(index_path):
    ix = searchkit.open_index(index_path, create=True)
    body = "Storm floods the coast. Thousands leave their homes.\n\nA second paragraph about the storm."
    ix.write([clean(Article(id="untitled", body=body)),
              clean(Article(id="titled", title="Storm floods the coast", body="Thousands leave their homes."))])
    assert ix.get("untitled").title == ""
    assert [h.id for h in searchkit.search(ix, "title:storm").hits] == ["titled"]
    hit = next(h for h in searchkit.search(ix, "thousands leave").hits if h.id == "untitled")
    assert hit.title == "Storm floods the coast. Thousands leave their homes."
