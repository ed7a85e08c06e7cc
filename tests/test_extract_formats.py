"""Feeds, web archives, CSV, JSON lines, plain text, encodings and dates: exact results."""

from __future__ import annotations

import codecs
import gzip
import io
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from searchkit.article import clean, parse_date
from searchkit.errors import ExtractError
from searchkit.extract import extract_bytes, extract_path
from searchkit.extract.boilerplate import learn_repeated_lines
from searchkit.extract.encoding import decode, repair_mojibake
from searchkit.extract.notice import ExtractNotice
from searchkit.importer import extract_all

from conftest import SEED_ARTICLE

FIXTURES = Path(__file__).parent / "fixtures"


def articles(path: Path, fmt: str = "auto"):
    return [clean(a) for a in extract_path(path, fmt) if not isinstance(a, (ExtractError, ExtractNotice))]


# -- plain text -----------------------------------------------------------------------------

SEED_PARAGRAPHS = [
    "ISIS fighters leave Raqqa under the gaze of British and other forces",
    "A BBC investigation has uncovered details of a secret deal that let thousands of heavily-armed ISIS fighters "
    "and their families escape from Raqqa in Syria, under the gaze of the US and British-led coalition and "
    "Kurdish-led forces who control the city.",
    "Almost 4,000 ISIS militants and their families were reportedly allowed to leave in a four-mile convoy as the "
    "group were defeated in the city last month.",
    "The remarkable report can be seen here.",
    "British fighters are thought to be among hundreds of foreigners allowed to escape ISIS’s former stronghold "
    "under the noses of coalition forces.",
    "This was despite the coalition being assured that no foreign fighters would be allowed to leave and previous "
    "US pledges that they would all be killed rather than be allowed to return home.",
    "U.S.-backed forces celebrate defeat of ISIS in Raqqa",
    "The exodus is understood to have been agreed to spare Kurdish forces, the BBC reported. They were leading the "
    "fight against ISIS on the ground and it would have required a fight to the death to clear the last surviving "
    "ISIS fighters from the capital of their self-declared caliphate.",
    "So a truce was negotiated with local leaders to allow the remaining fighters and their families to leave.",
    "The convoy, which was also said to have been carrying tons of weapons and ammunition, left on October 12 "
    "bound for a camp further north in territory still held by ISIS or towards Turkey.",
    "The coalition monitored the convoy from the air, dropping flares to help drivers in the 163 vehicles, "
    "including lorries and buses, navigate the road, witnesses told the BBC.",
    "One driver hired to take part in the convoy said there was a “huge number” of foreign fighters among the "
    "thousands involved, including many from Europe.",
    "Many of those who escaped have now moved on from Syria, with human traffickers on the Syria-Turkey border "
    "reporting a boom in business with the influx. One who has helped smuggle 20 families into Turkey in the past "
    "week said most were foreign. “Some were talking in French, others in English, others in some foreign "
    "language,” he told the BBC.",
    "Others went to the city of Idlib, to the west of Raqqa, where many Britons have also escaped from the country, "
    "usually paying £3,000 per fighter, it was reported.",
    "As yet, neither the coalition, nor the Kurdish fighters, have commented.",
]


def test_seed_article_loses_its_page_leftovers_and_keeps_every_paragraph():
    [article] = articles(SEED_ARTICLE)
    assert article.title == "Britain and allies do deal with ISIS to let thousands of fighters escape Raqqa"
    assert article.body.split("\n\n") == SEED_PARAGRAPHS


def test_caption_repeating_the_title_is_dropped_but_a_long_sentence_never(tmp_path):
    page = tmp_path / "a.txt"
    long_line = ("Subscribe to our newsletter, the minister said, was the advice given to every civil servant "
                 "who asked how the department planned to tell the public about the new rules next spring.")
    page.write_text("Floods hit the coast\n\nFloods hit the coast.\n\nRivers burst their banks.\n\n"
                    f"{long_line}\n\nShare this article\n", "utf-8")
    [article] = articles(page)
    assert article.body.split("\n\n") == ["Rivers burst their banks.", long_line]


def test_lines_repeated_across_a_corpus_are_learned_and_dropped(tmp_path):
    folder = tmp_path / "site"
    folder.mkdir()
    for n in range(6):
        (folder / f"{n}.txt").write_text(
            f"Headline {n}\n\nStory {n} starts here with its own words.\n\n"
            f"The Weekly Clarion: independent since 1901\n\nStory text {n} goes on.\n", "utf-8")
    found = list(extract_all([str(folder)]))
    assert [a.body for a in found] == [f"Story {n} starts here with its own words.\n\nStory text {n} goes on."
                                       for n in range(6)]
    assert learn_repeated_lines([["a b", "x"], ["a b", "y"]], min_files=3) == frozenset()


# -- feeds ----------------------------------------------------------------------------------

def test_rss_feed_entries_become_articles_with_decoded_entities():
    found = articles(FIXTURES / "feeds" / "HuffPostCanada.xml")
    assert [a.title for a in found] == ["Winnipeg High School Orders Custom Hijabs For Muslim Athletes",
                                        "The Once-In-A-Lifetime Thrill Of Opening For Tom Petty"]
    first = found[0]
    assert (first.source, first.author, first.published.isoformat()) == (
        "HuffPost Canada - Athena2 - All Posts", "Canadian Press", "2017-10-17T22:17:00+00:00")
    assert first.url == ("http://www.huffingtonpost.ca/2017/10/17/"
                         "winnipeg-high-school-orders-custom-hijabs-for-muslim-athletes_a_23246627/")
    assert first.body.startswith("Winnipeg high school student Nusaybah Mohamed's basketball uniform")
    assert first.body.split("\n\n")[-1] == ("Sung estimated about 50 girls who attend Dakota Collegiate wear a hijab. "
                                           "Physical education is part of the high school's curriculum.")
    assert first.origin["extractor"] == "feedparser" and first.origin["entry"] == "1"


def test_atom_feed_with_escaped_html_and_redirect_links():
    found = articles(FIXTURES / "feeds" / "google_alerts_atom.xml")
    assert len(found) == 20
    assert found[1].title == "Slack Stock Has a Compelling Story and the Numbers to Back It Up"
    assert found[1].url.startswith("https://investorplace.com/")
    assert not any("&nbsp;" in a.body or "&#39;" in a.body or "<b>" in a.title for a in found)
    assert found[0].published == datetime(2019, 7, 10, 11, 53, 37, tzinfo=timezone.utc)


def test_truncated_feed_with_an_epoch_date_still_reads():
    found = articles(FIXTURES / "feeds" / "InvalidDateFormat.xml")
    assert [(a.title, a.published.isoformat()) for a in found] == [
        ("Item 0 with an invalid date", "2017-10-16T15:10:00+00:00"),
        ("Item 1 with all valid dates", "2017-10-17T12:17:00+00:00")]


def test_atom_with_leading_whitespace_and_offset_dates():
    found = articles(FIXTURES / "feeds" / "TypePadNews.xml")
    assert len(found) == 10
    assert (found[0].title, found[0].published.isoformat()) == ("Spotlight: Friday Favorites!",
                                                                "2013-02-22T17:47:09+00:00")


# -- web archives ---------------------------------------------------------------------------

def test_warc_html_responses_become_articles_with_uri_and_fetch_date():
    [page] = articles(FIXTURES / "warc" / "example.warc.gz")
    assert (page.title, page.url, page.published.isoformat()) == ("Example Domain", "http://example.com/",
                                                                   "2017-03-06T04:02:06+00:00")
    assert page.origin["fetched"] == "2017-03-06T04:02:06Z" and page.origin["format"] == "warc"
    [chunked] = articles(FIXTURES / "warc" / "example-iana.org-chunked.warc")
    assert chunked.title == "Internet Assigned Numbers Authority"
    assert chunked.origin["record"] == "http://www.iana.org/"


def test_warc_written_by_warcio_skips_non_html_and_uses_the_http_charset(tmp_path):
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    page = ("<html><head><title>Grüße aus Köln</title></head><body><article><p>Die Straßenbahn fährt "
            "wieder – „endlich“, sagen die Fahrgäste am Rhein.</p></article></body></html>").encode("cp1252")
    path = tmp_path / "crawl.warc.gz"
    with open(path, "wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        for uri, body, kind in (("https://koeln.example/bahn", page, "text/html; charset=windows-1252"),
                                ("https://koeln.example/api", b'{"a": 1}', "application/json")):
            headers = StatusAndHeaders("200 OK", [("Content-Type", kind)], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(uri, "response", payload=io.BytesIO(body), length=len(body),
                                                          http_headers=headers))
    [article] = articles(path)
    assert article.title == "Grüße aus Köln"
    assert article.body == "Die Straßenbahn fährt wieder – „endlich“, sagen die Fahrgäste am Rhein."
    assert article.url == "https://koeln.example/bahn"


# -- CSV and JSON lines ---------------------------------------------------------------------

def test_csv_columns_map_by_common_names_and_unknown_ones_warn_once(tmp_path):
    path = tmp_path / "export.csv.gz"
    path.write_bytes(gzip.compress(
        "Headline,Text,Link,PubDate,Publication,Byline,Word Count\n"
        'Floods hit town,"Rivers burst.\n\nMany left.",https://n.example/f,'
        "2020-01-02T03:04:05+01:00,Gazette,Ann Lee,4\n"
        "Budget passes,The vote was close.,https://n.example/b,\"Jan 5, 2020\",Gazette,,4\n".encode("utf-8")))
    records = list(extract_path(path))
    assert [str(r) for r in records if isinstance(r, ExtractNotice)] == [f"{path}: ignored columns: Word Count"]
    found = [clean(r) for r in records if not isinstance(r, ExtractNotice)]
    assert [(a.title, a.body, a.url, a.source, a.author) for a in found] == [
        ("Floods hit town", "Rivers burst.\n\nMany left.", "https://n.example/f", "Gazette", "Ann Lee"),
        ("Budget passes", "The vote was close.", "https://n.example/b", "Gazette", "")]
    assert [a.published.isoformat() for a in found] == ["2020-01-02T02:04:05+00:00", "2020-01-05T00:00:00+00:00"]
    assert found[1].origin["line"] == "5"


def test_csv_without_a_title_or_body_column_says_what_to_name():
    with pytest.raises(ExtractError, match="no title or body column in the header"):
        list(extract_bytes(b"a,b\n1,2\n", {"path": "x.csv"}))


def test_tsv_and_a_short_row_is_reported_with_its_line(tmp_path):
    path = tmp_path / "a.tsv"
    path.write_text("title\tbody\nOne\tFirst body.\nTwo\n", "utf-8")
    records = list(extract_path(path))
    assert [str(r) for r in records if isinstance(r, ExtractError)] == [f"{path}:3: 1 cells, the header has 2"]
    assert [r.title for r in records if not isinstance(r, ExtractError)] == ["One"]


def test_jsonl_aliases_and_json_array(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"headline": "H", "content": "C", "link": "https://x.example/1",
                                "pubdate": "Tue, 10 Oct 2017 18:00:00 EDT", "byline": "Bo"}) + "\n", "utf-8")
    [article] = articles(path)
    assert (article.title, article.body, article.url, article.author) == ("H", "C", "https://x.example/1", "Bo")
    assert article.published.isoformat() == "2017-10-10T22:00:00+00:00"
    array = tmp_path / "b.json"
    array.write_text(json.dumps([{"title": "A", "body": "x"}, {"title": "B", "text": "y"}]), "utf-8")
    assert [(a.title, a.body) for a in articles(array)] == [("A", "x"), ("B", "y")]


# -- encodings ------------------------------------------------------------------------------

@pytest.mark.parametrize("data", [
    "Grüße – „Köln“\n\nSüß".encode("utf-8-sig"),
    "Grüße – „Köln“\n\nSüß".encode("utf-16"),
    "Grüße – „Köln“\n\nSüß".encode("utf-16-le"),
    "Grüße – „Köln“\n\nSüß".encode("cp1252"),
])
def test_text_encodings_come_out_right(data):
    [article] = [clean(a) for a in extract_bytes(data, {"path": "a.txt"})]
    assert (article.title, article.body) == ("Grüße – „Köln“", "Süß")


def test_declared_charsets_and_mojibake():
    latin = "<meta charset='iso-8859-1'><p>Ä \x93q\x94"
    assert decode(latin.encode("latin-1")) == "<meta charset='iso-8859-1'><p>Ä “q”"
    assert decode('<?xml version="1.0" encoding="ISO-8859-1"?><a>ü</a>'.encode("latin-1")).endswith("<a>ü</a>")
    assert decode("It’s".encode("utf-8").decode("cp1252").encode("utf-8")) == "It’s"
    assert repair_mojibake("café — naïve") == "café — naïve"
    chinese = "武汉的声音：有英勇的你，才有英雄的城！"
    assert decode(chinese.encode("gb18030")) == chinese


# -- dates ----------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("2020-01-19T12:25:36Z", "2020-01-19T12:25:36+00:00"),
    ("2019-10-22T09:20:01-0400", "2019-10-22T13:20:01+00:00"),
    ("Mon, 28 Nov 2011 12:00:00 +0000", "2011-11-28T12:00:00+00:00"),
    ("1518478934", "2018-02-12T23:42:14+00:00"),
    ("October 22nd, 2019", "2019-10-22T00:00:00+00:00"),
    ("19 January 2020", "2020-01-19T00:00:00+00:00"),
    ("2015/08/25", "2015-08-25T00:00:00+00:00"),
])
def test_dates_normalise_to_utc(value, expected):
    assert parse_date(value).isoformat() == expected


@pytest.mark.parametrize("value", ["last Tuesday", "May", "2020", "0", "soon"])
def test_vague_dates_are_refused_never_now(value):
    with pytest.raises(ValueError):
        parse_date(value)


def test_jsonl_unknown_keys_warn_once_and_an_export_reimports_quietly(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"title": "A", "body": "x", "wordcount": 1, "imported": "2020-01-01"}) + "\n"
                    + json.dumps({"title": "B", "body": "y", "wordcount": 2, "section": "news", "kicker": "k"})
                    + "\n", "utf-8")
    notices = [str(r) for r in extract_path(path) if isinstance(r, ExtractNotice)]
    assert notices == [f"{path}: ignored keys: wordcount, kicker"]


@pytest.mark.parametrize("name, data", [
    ("page.html.gz", b"<html><head><meta http-equiv='Content-Type' content='text/html; charset=iso-8859-1'>"
                     b"<title>Gr\xfc\xdfe</title></head><body><article><p>Stra\xdfe und Br\xfccke.</p></article>"
                     b"</body></html>"),
    ("feed.xml.gz", b"<?xml version='1.0' encoding='ISO-8859-1'?><rss version='2.0'><channel><title>Blatt</title>"
                    b"<item><title>Gr\xfc\xdfe</title><description>Stra\xdfe und Br\xfccke.</description></item>"
                    b"</channel></rss>"),
    ("notes.txt.gz", "Grüße\n\nStraße und Brücke.".encode("utf-16")),
])
def test_gzip_works_for_every_format_with_its_declared_charset(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(gzip.compress(data))
    [article] = articles(path)
    assert (article.title, article.body) == ("Grüße", "Straße und Brücke.")


def test_json_lines_read_a_line_at_a_time_keep_every_record_and_line_number():
    lines = [json.dumps({"title": f"Story {n} \u00e9t\u00e9", "body": "x" * 3000}) for n in range(1200)]
    lines[700] = "{broken"
    data = ("\n".join(lines) + "\n").encode("utf-8")  # 3.6 MB: several pieces of a megabyte
    found = list(extract_bytes(data, {"path": "big.jsonl"}))
    articles = [a for a in found if not isinstance(a, ExtractError)]
    errors = [e for e in found if isinstance(e, ExtractError)]
    assert len(articles) == 1199
    assert [a.title for a in articles[:2]] == ["Story 0 \u00e9t\u00e9", "Story 1 \u00e9t\u00e9"]
    assert articles[-1].origin["line"] == "1200"
    assert len(errors) == 1 and "big.jsonl:701" in str(errors[0])
