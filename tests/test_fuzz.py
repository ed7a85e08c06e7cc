"""Fuzzed input: any query string through the library, the CLI and HTTP (never a 500 or a
traceback), and hostile import files (random bytes, truncated and huge files, deep HTML, gzip
bombs): a clear error for the bad file, everything else imported, memory bounded."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import query_grammar
import searchkit
from conftest import corpus_articles
from reliability_support import SEARCHKIT, Client, run_cli, serving
from searchkit.cli import main
from searchkit.importer import extract_all

FUZZ = settings(database=None, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
# Query-language pieces, so the fuzzer builds near-valid queries as well as noise.
PIECES = ['"', "(", ")", "AND", "OR", "NOT", "-", "*", "~", "title:", "source:", "author:", "tags:", "published:[",
          "TO", "]", "since:", '"last week"', "raqqa", "fighter", "isis", "2017-01-01", ":", "\\", "^2", "{", "}",
          "<script>", "&amp;", "\x00", "\u202e", "ﬁ", "Ωμέγα", "🙂", " ", "\t", "\n"]
queries = st.one_of(st.text(max_size=200), st.lists(st.sampled_from(PIECES), max_size=12).map("".join),
                    st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=8)), max_size=10).map(" ".join),
                    query_grammar.queries, query_grammar.queries)
params = st.one_of(st.none(), st.text(max_size=30), st.sampled_from(["0", "-1", "1", "1000", "1001", "1e9", "2017-13-45",
                                                                      "newest", "oldest", "last week", "x" * 250]),
                   query_grammar.numbers)
# Found by the adversarial run of issue 20 (and kept, so they run every time): a date field
# reaching Whoosh's parser as a word, fuzzy words with huge edit counts (minutes of CPU), and
# wildcards that stand for the whole vocabulary.
FOUND = ['x-published:""', 'profit;published:""', 'x(published:"")', "fighter-published:\"\"", "a~99999",
         "fighters~9", "**", "?*?*?*", "fighter~2/3", "raqqa^²", "title:*"]

ALLOWED_QUERY_ERRORS = (searchkit.QueryError, ValueError)


@pytest.fixture(scope="module")
def fuzz_index(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fuzz") / "index"
    searchkit.open_index(path, create=True).write(corpus_articles())
    return path


def _snippet_is_safe(html: str) -> bool:
    return "<" not in html.replace("<mark>", "").replace("</mark>", "")


def found_examples(**others):
    """A decorator adding each FOUND query as an explicit example (other arguments: `others`)."""
    def add(test):
        for q in reversed(FOUND):
            test = example(q=q, **others)(test)
        return test
    return add


@FUZZ
@given(q=queries, sort=st.sampled_from(["relevance", "newest", "oldest"]), since=params, source=params)
@found_examples(sort="relevance", since=None, source=None)
def test_any_query_through_the_library(fuzz_index, q, sort, since, source):
    index = searchkit.open_index(fuzz_index)
    try:
        result = searchkit.search(index, q, sort=sort, since=since, source=source)
    except ALLOWED_QUERY_ERRORS as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert result.total >= len(result.hits)
    assert all(_snippet_is_safe(hit.snippet) and _snippet_is_safe(hit.title_html) for hit in result.hits)


@settings(FUZZ, max_examples=60)
@given(q=queries, dash=st.booleans())
@found_examples(dash=False)
def test_any_query_through_the_cli(fuzz_index, runner, q, dash):
    args = ["--index", str(fuzz_index), "query", "--format", "json"] + (["--"] if dash else []) + [q]
    result = runner.invoke(main, args)
    assert result.exit_code in (0, 1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    if result.exit_code == 0:
        assert json.loads(result.output)["query"] == q
    else:
        assert result.output.strip().splitlines()[-1].startswith("Error:")


def test_found_queries_in_one_queries_run_each_answered(fuzz_index, tmp_path):
    # One bad query used to abort a whole --queries run with a traceback.
    queries_file = tmp_path / "queries.tsv"
    queries_file.write_text("".join(f"q{n}\t{q}\n" for n, q in enumerate(FOUND + ["raqqa"])), "utf-8")
    done = run_cli("--index", str(fuzz_index), "query", "--queries", str(queries_file), "--format", "trec")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert f"q{len(FOUND)} Q0 raqqa 1 " in done.stdout  # the run went on to its last query


@pytest.fixture(scope="module")
def fuzz_server(fuzz_index):
    with serving(fuzz_index) as (host, port, _):
        client = Client(host, port)
        yield client
        client.close()


@settings(FUZZ, max_examples=150)
@given(q=queries, page=params, limit=params, sort=params, since=params, until=params, source=params)
@found_examples(page=None, limit=None, sort=None, since=None, until=None, source=None)
@example(q="profit", page="²", limit=None, sort=None, since=None, until=None, source=None)
@example(q="profit", page=None, limit="¹", sort=None, since=None, until=None, source=None)
@example(q="profit", page="①", limit="①", sort=None, since=None, until=None, source=None)
def test_any_request_through_http(fuzz_server, q, page, limit, sort, since, until, source):
    args = "&".join(f"{name}={quote(value)}" for name, value in
                    (("q", q), ("page", page), ("limit", limit), ("sort", sort), ("since", since),
                     ("until", until), ("source", source)) if value is not None)
    status, headers, body = fuzz_server.get(f"/api/search?{args}")
    assert status in (200, 400), (status, body)
    data = json.loads(body)
    assert ("error" in data) == (status == 400)
    assert status == 400 or all(_snippet_is_safe(hit["snippet"]) for hit in data["hits"])
    status, headers, body = fuzz_server.get(f"/search?{args}")
    assert status in (200, 400), (status, body)
    assert "Traceback" not in body and headers["content-type"] == "text/html; charset=utf-8"
    status, headers, body = fuzz_server.get(f"/search.atom?{args}")
    assert status in (200, 400), (status, body)
    assert "Traceback" not in body


@settings(FUZZ, max_examples=60)
@given(article_id=st.text(min_size=1, max_size=50))
def test_any_article_path_through_http(fuzz_server, article_id):
    status, headers, body = fuzz_server.get("/article/" + quote(article_id, safe=""))
    assert status in (200, 404, 308), (status, article_id)
    if status == 308:  # werkzeug merges repeated slashes: a redirect to this same site
        assert headers["location"].startswith(("/article/", f"http://127.0.0.1:{fuzz_server.port}/article/"))
    assert "Traceback" not in body


# -- import input --------------------------------------------------------------------------

GOOD = [{"id": f"good{i}", "title": f"Good article {i} about raqqa", "body": "Fighters left Raqqa."} for i in range(3)]
NAMES = ["x.txt", "x.jsonl", "x.json", "x.html", "x.jsonl.gz", "x.txt.gz", "noext"]


@settings(FUZZ, max_examples=150)
@given(data=st.one_of(st.binary(max_size=3000), st.text(max_size=2000).map(str.encode),
                      st.binary(max_size=500).map(lambda b: gzip.compress(b)[: len(b) // 2 + 10])),
       name=st.sampled_from(NAMES))
def test_any_file_content_is_imported_or_named_with_a_reason(tmp_path_factory, data, name):
    folder = tmp_path_factory.mktemp("imp")
    bad, good = folder / name, folder / "good.jsonl"
    bad.write_bytes(data)
    good.write_text("".join(json.dumps(r) + "\n" for r in GOOD), "utf-8")
    errors: list[str] = []
    articles = list(extract_all([str(bad), str(good)], on_error=errors.append))
    assert [a.id for a in articles if a.origin.get("path") == str(good)] == ["good0", "good1", "good2"]
    for message in errors:
        assert message.startswith(f"{bad}:") and "\n" not in message and len(message) < 500, message
    for article in articles:
        assert article.id and (article.title or article.body)


def _gzip_bomb(path: Path, inflated: int, before: bytes = b"", after: bytes = b"", fill: bytes = b"\0") -> None:
    """`inflated` bytes of `fill` between `before` and `after`, gzipped: about a thousandth of
    that on disk."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = fill * (1 << 20)
    with open(path, "wb") as out:
        out.write(deflate.compress(before))
        for _ in range(inflated >> 20):
            out.write(deflate.compress(chunk))
        out.write(deflate.compress(after))
        out.write(deflate.flush())


def test_hostile_files_through_the_cli_each_named_the_rest_imported_memory_bounded(tmp_path):
    good = tmp_path / "good.jsonl"
    good.write_text("".join(json.dumps(r) + "\n" for r in GOOD), "utf-8")
    _gzip_bomb(tmp_path / "bomb.jsonl.gz", 1 << 30)
    # A bomb in one record of a JSON lines file: that line is skipped, the lines around it go in.
    _gzip_bomb(tmp_path / "lines.jsonl.gz", 256 << 20, fill=b"x",
               before=json.dumps({"id": "b1", "title": "Before the bomb", "body": "b"}).encode() + b'\n{"id": "',
               after=b'"}\n' + json.dumps({"id": "b3", "title": "After the bomb", "body": "b"}).encode() + b"\n")
    whole = gzip.compress(good.read_bytes() * 20)
    (tmp_path / "truncated.jsonl.gz").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "huge.jsonl").write_text('{"id": "h1", "title": "' + "x" * 8_000_000 + "\n"
                                         + json.dumps({"id": "h2", "title": "After the huge line", "body": "b"}) + "\n")
    (tmp_path / "deep.html").write_text("<html><body><article>" + "<div>" * 50_000 + "<p>Deep nested text</p>"
                                        + "</div>" * 50_000 + "</article></body></html>")
    (tmp_path / "random.bin").write_bytes(bytes(range(256)) * 400)
    (tmp_path / "cut.jsonl").write_text(json.dumps({"id": "c1", "title": "Whole line", "body": "b"})
                                        + '\n{"id": "c2", "title": "cut of')
    (tmp_path / "empty.txt").write_bytes(b"")
    files = ["good.jsonl", "bomb.jsonl.gz", "lines.jsonl.gz", "truncated.jsonl.gz", "huge.jsonl", "deep.html", "random.bin",
             "cut.jsonl", "empty.txt", "missing.jsonl"]
    index_path = tmp_path / "index"
    returncode, out, err, peak_mb = _run_measured([SEARCHKIT, "--index", str(index_path), "import",
                                                   *[str(tmp_path / f) for f in files]], tmp_path)
    assert (returncode, out) == (1, "8 added, 0 updated, 0 duplicates, 8 failed\n"), err
    assert err.splitlines() == [
        f"failed: {tmp_path}/bomb.jsonl.gz: binary file, not text, HTML, a feed, a WARC, CSV or JSON lines",
        f"failed: {tmp_path}/lines.jsonl.gz:2: over 64 MB, skipped",
        f"failed: {tmp_path}/truncated.jsonl.gz: truncated gzip file (it ends before the compressed data does)",
        f"failed: {tmp_path}/huge.jsonl:1: invalid JSON (Unterminated string starting at column 23)",
        f"failed: {tmp_path}/random.bin: binary file, not text, HTML, a feed, a WARC, CSV or JSON lines",
        f"failed: {tmp_path}/cut.jsonl:2: invalid JSON (Unterminated string starting at column 23)",
        f"failed: {tmp_path}/empty.txt: empty file",
        f"failed: {tmp_path}/missing.jsonl: cannot read: No such file or directory",
    ]
    index = searchkit.open_index(index_path)
    assert sorted(a.display_title for a in index.articles()) == [
        "After the bomb", "After the huge line", "Before the bomb", "Deep nested text", "Good article 0 about raqqa", "Good article 1 about raqqa",
        "Good article 2 about raqqa", "Whole line"]
    # Bounded far below the 1 GB bomb and the 256 MB line: all of them in one import peak where the
    # worst file alone does (lines.jsonl.gz, 118 MB: a line is dropped a megabyte at a time once
    # past the limit), so nothing is kept from one file to the next.
    assert peak_mb < 400, f"import peaked at {peak_mb:.0f} MB with a 1 GB gzip bomb among its inputs"
    print(f"hostile import: peak RSS {peak_mb:.0f} MB (1 GB gzip bomb, 8 MB line, 50,000-deep HTML)")


# Started from a small Python, not from pytest: a child's peak RSS (ru_maxrss) starts at the RSS of the
# process it was forked (or vforked) from, so a command started straight from a long pytest run
# reports pytest's own peak (400 MB late in the whole suite) instead of its own.
_MEASURE = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
open(sys.argv[1], "w").write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _run_measured(args: list[str], folder: Path) -> tuple[int, str, str, float]:
    """Run a command; (exit status, stdout, stderr, its own peak resident memory in MB)."""
    peak = folder / "peak-kb.txt"
    with open(folder / "out.txt", "w+") as out, open(folder / "err.txt", "w+") as err:
        proc = subprocess.run([sys.executable, "-c", _MEASURE, str(peak), *args], stdout=out, stderr=err,
                              stdin=subprocess.DEVNULL)
        out.seek(0)
        err.seek(0)
        return proc.returncode, out.read(), err.read(), int(peak.read_text()) / 1024
