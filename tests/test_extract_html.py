"""HTML pages: real fixtures (tests/fixtures/html) give exact title, date, source, first sentence."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from searchkit.article import clean
from searchkit.extract import extract_bytes, extract_path
from searchkit.extract.html import STEPS, parse
from searchkit.extract.htmlmeta import date_from_url, read_meta, title_segments

HTML = Path(__file__).parent / "fixtures" / "html"


def extract_one(name: str):
    [article] = [clean(a) for a in extract_path(HTML / name)]
    return article


def first_sentence(body: str) -> str:
    paragraph = body.split("\n\n")[0]
    return paragraph.split(". ")[0]


@pytest.mark.parametrize("name, title, published, source, first", [
    ("auto-presse.de-minisuv.html", "Japanisches Mini-SUV auf dem Vormarsch", "2021-11-05T00:00:00+00:00", "",
     "Mit dem Toyota Yaris Cross will der japanische Automobilhersteller im boomenden Segment der kleinen SUV "
     "mitmischen"),
    ("badische-zeitung.de-Wohnungssuche.html", "Viele Studierende sind noch verzweifelt auf Wohnungssuche in Freiburg",
     "2023-10-18T10:50:38+00:00", "Badische Zeitung", "Die Vorlesungen an der Uni und den Hochschulen starten"),
    ("bayrische-bembel.de.504.html", "Eintracht Frankfurt stellt Weichen für die Zukunft",
     "2015-08-25T00:00:00+00:00", "",
     "Oliver Frankenbach mit Wirkung zum 1.9.2015 zum Vorstand Finanzen bestellt Axel Hellmann übernimmt die "
     "Geschäftsbereiche Marketing und Kommunikation Bruno Hübner erhält neuen Dreijahresvertrag Eintracht "
     "Frankfurt stellt die Weichen für die Zukunft und trifft langfristige Personalentscheidungen"),
    ("blog.amp.dev.axios.html", "People behind the code: The Axios ascent", "2020-04-07T17:10:46+00:00",
     "The AMP Blog", "Fast, audience-first and efficient – talk about mission alignment"),
    ("phys.org.tool.html",
     "Flint flake tool partially covered by birch tar adds to evidence of Neanderthal complex thinking",
     "2019-10-22T13:30:34+00:00", "Phys.org",
     "A team of researchers affiliated with several institutions in The Netherlands has found evidence in small "
     "a cutting tool of Neanderthals using birch tar"),
    ("xinhuanet.com.c_1125597921.html", "武汉的声音：有英勇的你，才有英雄的城！", "2020-02-19T00:00:00+00:00", "",
     "“妈妈，为什么还不能出去？”"),
])
def test_real_page_metadata_and_first_sentence(name, title, published, source, first):
    article = extract_one(name)
    assert article.title == title
    assert article.published.isoformat() == published
    assert article.source == source
    assert first_sentence(article.body) == first


def test_legacy_charsets_decode_without_mojibake():
    for name, word in (("auto-presse.de-minisuv.html", "gegenüber"),
                       ("badische-zeitung.de-Wohnungssuche.html", "fürs")):
        body = extract_one(name).body
        assert word in body
        assert "Ã" not in body and "â€" not in body and "\ufffd" not in body


def test_boilerplate_is_left_out_and_article_kept():
    body = extract_one("phys.org.tool.html").body
    assert "October 22, 2019 report" not in body  # dateline
    assert "Explore further" not in body and "Feedback to editors" not in body
    assert body.split("\n\n")[-1].startswith("The tool was found on Zandmotor beach")
    amp = extract_one("blog.amp.dev.axios.html").body
    assert "sign up for our email newsletter" not in amp
    assert amp.split("\n\n")[0].startswith("Fast, audience-first and efficient")
    assert any(p.startswith("Rick: Exactly.") for p in amp.split("\n\n"))


def test_provenance_names_file_extractor_and_metadata_sources():
    article = extract_one("blog.amp.dev.axios.html")
    assert article.origin == {
        "path": str(HTML / "blog.amp.dev.axios.html"),
        "format": "html",
        "extractor": "trafilatura",
        "modified": "2020-04-08T00:10:46+00:00",  # the page's JSON-LD, as it says (no second source)
        "metadata": "author=json-ld, language=meta:og:locale, modified=json-ld, "
                    "published=meta:article:published_time, source=json-ld, title=h1, url=meta:og:url",
    }


def test_json_ld_date_contradicted_by_two_other_sources_loses():
    # JSON-LD says 17:10 at -07:00 (00:10 UTC next day); <meta> and <time> agree on 17:10 UTC.
    article = extract_one("blog.amp.dev.axios.html")
    assert article.published.isoformat() == "2020-04-07T17:10:46+00:00"


def test_metadata_trust_order_on_a_literal_page():
    page = parse("""<html lang="fr-CA"><head><title>Ignored tab title | Le Quotidien</title>
      <script type="application/ld+json">{"@context": "https://schema.org", "@graph": [
        {"@type": "WebPage", "name": "Page"},
        {"@type": "NewsArticle", "headline": "Crues: des villages évacués", "datePublished": "2021-03-04T10:00:00+01:00",
         "author": [{"@type": "Person", "name": "Anne Roy"}, {"@type": "Person", "name": "Luc Ba"}],
         "publisher": {"@type": "Organization", "name": "Le Quotidien"}, "keywords": "crues, météo"}]}</script>
      <meta property="og:title" content="OG title loses to JSON-LD">
      <meta property="article:published_time" content="2021-03-04T09:00:00Z">
      <link rel="canonical" href="https://quotidien.example/crues?utm_source=x">
      </head><body><h1>Crues : des villages évacués</h1><p>Texte.</p></body></html>""")
    meta = read_meta(page)
    assert meta.title == "Crues : des villages évacués"  # the visible headline, confirmed by JSON-LD
    assert meta.sources["title"] == "h1"
    assert (meta.author, meta.source, meta.language) == ("Anne Roy, Luc Ba", "Le Quotidien", "fr")
    assert meta.published == "2021-03-04T09:00:00+00:00" and meta.sources["published"] == "json-ld"
    assert meta.url == "https://quotidien.example/crues?utm_source=x"
    assert meta.tags == ["crues", "météo"]


def test_title_without_site_name_and_url_dates():
    assert title_segments("EFC Bembel - Eintracht stellt Weichen - News") == ["EFC Bembel", "Eintracht stellt Weichen",
                                                                            "News"]
    assert date_from_url("https://www.theguardian.com/education/2020/jan/20/thousands") == "2020-01-20"
    assert date_from_url("http://www.xinhuanet.com/comments/2020-02/19/c_1125597921.htm") == "2020-02-19"
    assert date_from_url("https://blog.amp.dev/2020/04/07/people-behind/") == "2020-04-07"
    assert date_from_url("https://example.com/news/20191022/story") == "2019-10-22"
    assert date_from_url("https://example.com/2019/13/45/nonsense") == ""


def test_query_path_never_imports_heavy_extractors():
    import subprocess

    code = ("import sys, searchkit.cli, searchkit.search, searchkit.importer; "
            "print(sorted(m for m in ('trafilatura', 'htmldate', 'lxml', 'feedparser', 'warcio', "
            "'charset_normalizer') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


SENTENCES = "".join(f"<p>Sentence {n} of the article goes on for a while, about trees, rivers and the people "
                    f"who live along them.</p>" for n in range(4))


def extract_page(markup: str):
    [article] = [clean(a) for a in extract_bytes(markup.encode("utf-8"), {"path": "page.html"}, "html")]
    return article


def trafilatura_modes(markup: str) -> list[str | None]:
    import trafilatura

    return [trafilatura.extract(markup, include_comments=False, **settings) for _, settings in STEPS[:3]]


def test_fallback_chain_when_precision_mode_finds_nothing():
    # trafilatura reads a <footer> as page furniture: only its recall mode keeps the text.
    page = f"<html><head><title>Rivers</title></head><body><footer>{SENTENCES}</footer></body></html>"
    default, precision, recall = trafilatura_modes(page)
    assert precision is None and default is None and recall
    article = extract_page(page)
    assert article.origin["extractor"] == "trafilatura:recall"
    assert article.body.startswith("Sentence 0 of the article") and article.body.count("\n\n") == 3


def test_fallback_chain_after_trafilatura_json_ld_then_largest_block():
    # Text in a comments box: no trafilatura mode returns it (include_comments=False).
    body = f"<body><div id='comments'>{SENTENCES}</div></body>"
    assert trafilatura_modes(f"<html>{body}</html>") == [None, None, None]
    json_ld = ('<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Rivers",'
               ' "articleBody": "The publisher\'s own text of the story.\\nIts second paragraph."}</script>')
    article = extract_page(f"<html><head>{json_ld}</head>{body}</html>")
    assert article.origin["extractor"] == "json-ld:articleBody"
    assert article.body == "The publisher's own text of the story.\n\nIts second paragraph."
    article = extract_page(f"<html>{body}</html>")
    assert article.origin["extractor"] == "searchkit:paragraphs"
    assert article.body.split("\n\n")[-1].startswith("Sentence 3 of the article")


def test_a_page_is_parsed_once_and_that_tree_serves_every_step():
    """Counts, with the interpreter's profiling hook, every lxml parse call whose input is this
    page, recognised by a marker in its <head> (trafilatura parses readability's extract of the
    body again to compare it with its own; that is not the page). lxml.html's parse functions are
    Python; etree's are C and are counted whatever they parse."""
    import lxml.etree
    import lxml.html

    marker = "Unmistakable-marker-7f3a"
    page = (f"<html><head><title>Rivers</title><meta name='keywords' content='{marker}'></head><body>"
            f"<article><h1>Rivers</h1>{SENTENCES}</article></body></html>")
    extract_page(page)  # imports and lazy set-up out of the way
    python_parsers = {f.__code__ for f in (lxml.html.document_fromstring, lxml.html.fragment_fromstring,
                                           lxml.html.fragments_fromstring, lxml.html.fromstring)}
    c_parsers = {lxml.etree.fromstring, lxml.etree.HTML, lxml.etree.XML, lxml.etree.parse}
    page_parses, other_parses = [], []

    def count(frame, event, arg):
        if event == "call" and frame.f_code in python_parsers:
            given = frame.f_locals.get("html")
            if isinstance(given, (str, bytes)) and marker in (given if isinstance(given, str) else given.decode()):
                page_parses.append(frame.f_code.co_name)
        elif event == "c_call" and arg in c_parsers:
            other_parses.append(arg.__name__)

    sys.setprofile(count)
    try:
        article = extract_page(page)
    finally:
        sys.setprofile(None)
    assert article.tags == [marker] and article.body.startswith("Sentence 0")
    assert page_parses == ["document_fromstring"]
    assert other_parses == []
