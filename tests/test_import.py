import io
import json
import sys
from pathlib import Path

import searchkit
from conftest import CORPUS, SEED_ARTICLE


def test_seed_article_title_and_paragraphs(index_path):
    ix = searchkit.open_index(index_path, create=True)
    report = searchkit.import_paths(ix, [str(SEED_ARTICLE)])
    assert (report.added, report.updated, report.failed) == (1, 0, [])
    [article] = list(ix.articles())
    assert article.title == "Britain and allies do deal with ISIS to let thousands of fighters escape Raqqa"
    paragraphs = article.body.split("\n\n")
    assert paragraphs[0] == "ISIS fighters leave Raqqa under the gaze of British and other forces"
    assert paragraphs[1].startswith("A BBC investigation has uncovered details of a secret deal")
    assert article.origin["extractor"] == "searchkit.text"
    assert article.id.startswith("h") and len(article.id) == 17


def test_jsonl_import_keeps_fields(index_path, corpus_file):
    ix = searchkit.open_index(index_path, create=True)
    report = searchkit.import_paths(ix, [str(corpus_file)])
    assert report.summary() == "4 added, 0 updated, 0 duplicates, 0 failed"
    article = ix.get("raqqa")
    assert article.url == "https://planet.example/raqqa"
    assert article.author == "Lois Lane"
    assert article.published.isoformat() == "2017-11-14T09:00:00+00:00"
    assert article.body.split("\n\n") == ["Thousands of ISIS fighters left Raqqa in a convoy.",
                                          "The coalition watched from the air."]


def test_reimport_updates_in_place(index_path, corpus_file):
    ix = searchkit.open_index(index_path, create=True)
    searchkit.import_paths(ix, [str(corpus_file)])
    changed = [dict(r, title=r["title"] + " (updated)") for r in CORPUS[:2]]
    corpus_file.write_text("".join(json.dumps(r) + "\n" for r in changed), "utf-8")
    report = searchkit.import_paths(ix, [str(corpus_file)])
    assert (report.added, report.updated) == (0, 2)
    assert len(ix) == 4
    assert ix.get("raqqa").title == "Fighters escape Raqqa in secret deal (updated)"


def test_ids_are_stable_from_url_or_content(index_path, tmp_path):
    page = tmp_path / "a.txt"
    page.write_text("Same headline\n\nSame body text.", "utf-8")
    ix = searchkit.open_index(index_path, create=True)
    searchkit.import_paths(ix, [str(page)])
    report = searchkit.import_paths(ix, [str(page)], resume=False)  # read again, not skipped as imported
    assert (report.added, report.updated, len(ix)) == (0, 1, 1)
    with_url = tmp_path / "b.jsonl"
    with_url.write_text(json.dumps({"title": "T", "body": "B", "url": "https://x.example/a?utm_source=rss#top"}) + "\n"
                        + json.dumps({"title": "T2", "body": "B2", "url": "https://X.example/a"}) + "\n", "utf-8")
    report = searchkit.import_paths(ix, [str(with_url)])
    assert (report.added, report.duplicates, len(ix)) == (1, 1, 2)


def test_html_page_title_and_visible_text(index_path, tmp_path):
    page = tmp_path / "page.html"
    page.write_text("""<html lang="en"><head><title>Ignored tab title</title>
      <meta property="og:title" content="Floods hit &lt;coastal&gt; towns">
      <link rel="canonical" href="https://news.example/floods"><script>var x = 1;</script></head>
      <body><nav>Home | World</nav><article><h1>Floods</h1><p>Rivers burst their banks after a week of rain,
      and the water reached the old town square by Sunday evening.</p>
      <p>Thousands were evacuated from the valley overnight, the regional authorities said.</p></article>
      <footer>Copyright</footer></body></html>""", "utf-8")
    ix = searchkit.open_index(index_path, create=True)
    report = searchkit.import_paths(ix, [str(page)])
    assert report.failed == []
    [article] = list(ix.articles())
    assert article.title == "Floods hit <coastal> towns"
    assert article.url == "https://news.example/floods"
    assert article.body == ("Rivers burst their banks after a week of rain, and the water reached the old town "
                            "square by Sunday evening.\n\nThousands were evacuated from the valley overnight, the "
                            "regional authorities said.")


def test_directory_recursion_skips_notes_and_reports_failures(index_path, tmp_path, corpus_file):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "one.txt").write_text("Title one\nBody one.", "utf-8")
    (folder / "README.md").write_text("# not an article", "utf-8")
    (folder / "LICENSE.txt").write_text("license text", "utf-8")
    (folder / "bad.jsonl").write_text('{"title": "ok", "body": "fine"}\n{broken\n', "utf-8")
    (folder / "empty.txt").write_text("", "utf-8")
    ix = searchkit.open_index(index_path, create=True)
    report = searchkit.import_paths(ix, [str(folder), str(tmp_path / "missing.txt")])
    assert (report.added, len(report.failed)) == (2, 3)
    assert report.failed[0].startswith(f"{folder / 'bad.jsonl'}:2: invalid JSON")
    assert report.failed[1] == f"{folder / 'empty.txt'}: empty file"
    assert report.failed[2] == f"{tmp_path / 'missing.txt'}: cannot read: No such file or directory"


def test_binary_and_truncated_gzip_are_reported(index_path, tmp_path):
    import gzip

    binary = tmp_path / "x.dat"
    binary.write_bytes(b"\x00\x01\x02\xff" * 100)
    truncated = tmp_path / "t.jsonl.gz"
    truncated.write_bytes(gzip.compress(b'{"title": "a", "body": "b"}\n' * 1000)[:-40])
    ix = searchkit.open_index(index_path, create=True)
    report = searchkit.import_paths(ix, [str(binary), str(truncated)])
    assert report.failed == [f"{binary}: binary file, not text, HTML, a feed, a WARC, CSV or JSON lines",
                             f"{truncated}: truncated gzip file (it ends before the compressed data does)"]


def test_gzip_jsonl_and_stdin(index_path, tmp_path, corpus_file, monkeypatch):
    import gzip

    packed = tmp_path / "c.jsonl.gz"
    packed.write_bytes(gzip.compress(corpus_file.read_bytes()))
    ix = searchkit.open_index(index_path, create=True)
    assert searchkit.import_paths(ix, [str(packed)]).added == 4
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"Stdin headline\n\nFrom a pipe.")))
    report = searchkit.import_paths(ix, ["-"])
    assert report.added == 1
    assert [a.title for a in ix.articles() if a.origin["path"] == "<stdin>"] == ["Stdin headline"]


def test_unparseable_date_stays_empty_and_bad_url_dropped(index_path, tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"id": "d1", "title": "T", "body": "B", "published": "last Tuesday",
                                "url": "javascript:alert(1)"}) + "\n", "utf-8")
    ix = searchkit.open_index(index_path, create=True)
    searchkit.import_paths(ix, [str(path)])
    article = ix.get("d1")
    assert (article.published, article.url) == (None, "")


def test_news_sample_imports_in_one_command(index_path):
    sample = Path(__file__).resolve().parents[2] / "shared" / "data" / "news-sample" / "demo.jsonl"
    ix = searchkit.open_index(index_path, create=True)
    report = searchkit.import_paths(ix, [str(sample)])
    assert (report.added, report.failed) == (200, [])


def test_normalize_text_fast_paths_give_what_the_regex_gives():
    import random
    import re

    from searchkit.article import normalize_text

    space = re.compile(r"[ \t\r\f\v\u00a0\u200b]+")

    def reference(text):  # normalize_text before its lone-space fast path
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
        paragraphs = (space.sub(" ", p).strip() for p in re.split(r"\n\s*\n+", text))
        paragraphs = (" ".join(line.strip() for line in p.split("\n") if line.strip()) for p in paragraphs)
        return "\n\n".join(p for p in paragraphs if p)

    pieces = [" ", " ", "  ", "\t", "\r", "\f", "\v", "\u00a0", "\u200b", "\n", "\n\n", "\x00", "\u2003",
              "word", "é", "The end."]
    rng = random.Random(8)
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 30))) for _ in range(5000)]
    assert sum(1 for t in texts if "  " not in t and "\t" not in t and "\u00a0" not in t) > 100  # fast path taken
    for text in texts:
        assert normalize_text(text) == reference(text), repr(text)
    # Texts normal already (what the reference gives) and near misses: returned as they are
    # only when nothing would change them. Other Unicode spaces stay inside a line.
    pieces += ["\u2028", "\x85", "\x1c", "\u3000", "\n\n\n", " \n", "\n "]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 12))) for _ in range(20000)]
    normal = [reference(text) for text in texts]
    for text in texts + normal + [t + " " for t in normal] + ["\u3000" + t for t in normal]:
        assert normalize_text(text) == reference(text), repr(text)
    plain = [text for text in normal if not any(c in text for c in "\x1c\x1d\x1e\x1f")]  # taken as odd
    assert len(plain) > 5000 and all(normalize_text(text) is text for text in plain)
