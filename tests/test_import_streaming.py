"""Archives of any size: every format read as a stream, a record at a time, compressed any of
four ways; a broken or oversized record is named (line or WARC offset) and the rest goes in.

The per-record limit is lowered to 64 KB through the CLI's --max-record-mb, so files of a few
hundred KB stand for multi-gigabyte ones: each is many times the limit and still imported.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import lzma
import random

import pytest
import zstandard

import searchkit
from searchkit.cli import main

LIMIT = ["--max-record-mb", "0.0625"]  # 64 KB
WORDS = ("council harbour budget river school bridge storm minister train museum garden market election "
         "court farmer hospital festival factory police village airport library island mayor strike").split()


def body(n: int) -> str:
    """About 600 bytes of text of its own (copies of one text would be marked duplicates)."""
    rng = random.Random(n)
    return " ".join(rng.choice(WORDS) for _ in range(80)) + "."


def run(runner, index_path, *args):
    return runner.invoke(main, ["--index", str(index_path), "import", *LIMIT, *args])


def ids(index_path) -> list[str]:
    return sorted(a.id for a in searchkit.open_index(index_path).articles())


def jsonl_lines(count: int, broken: int) -> list[str]:
    lines = [json.dumps({"id": f"a{n}", "title": f"Story {n}", "body": body(n)}) for n in range(1, count + 1)]
    lines[broken - 1] = '{"id": "broken", "title": "cut'
    return lines


@pytest.mark.parametrize("name, pack", [
    ("big.jsonl", lambda data: data),
    ("big.jsonl.gz", gzip.compress),
    ("big.jsonl.bz2", bz2.compress),
    ("big.jsonl.xz", lzma.compress),
    ("big.jsonl.zst", lambda data: zstandard.ZstdCompressor().compress(data)),
])
def test_json_lines_of_any_size_and_compression_name_the_broken_line(runner, tmp_path, name, pack):
    lines = jsonl_lines(600, broken=300)  # ~400 KB: six times the record limit
    (tmp_path / name).write_bytes(pack(("\n".join(lines) + "\n").encode("utf-8")))
    result = run(runner, tmp_path / "index", str(tmp_path / name))
    assert result.exit_code == 1
    assert result.output == (f"failed: {tmp_path / name}:300: invalid JSON (Unterminated string starting "
                             "at column 27)\n599 added, 0 updated, 0 duplicates, 1 failed\n")
    assert ids(tmp_path / "index") == sorted(f"a{n}" for n in range(1, 601) if n != 300)


def test_a_compressed_file_of_another_name_is_recognised_by_its_bytes(runner, tmp_path):
    path = tmp_path / "export.jsonl"  # zstd inside, whatever the name says
    path.write_bytes(zstandard.ZstdCompressor().compress("\n".join(jsonl_lines(3, broken=2)).encode()))
    result = run(runner, tmp_path / "index", str(path))
    assert result.output.splitlines()[-1] == "2 added, 0 updated, 0 duplicates, 1 failed"


def test_a_record_over_the_limit_is_skipped_and_named_and_the_lines_after_it_go_in(runner, tmp_path):
    lines = jsonl_lines(5, broken=5)
    lines[1] = json.dumps({"id": "giant", "title": "Giant", "body": "x" * 100_000})  # over 64 KB
    lines[4] = json.dumps({"id": "a5", "title": "Story 5", "body": body(5)})
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    result = run(runner, tmp_path / "index", str(tmp_path / "a.jsonl.gz"))
    assert result.output == (f"failed: {tmp_path / 'a.jsonl.gz'}:2: over 64 KB, skipped\n"
                             "4 added, 0 updated, 0 duplicates, 1 failed\n")
    assert ids(tmp_path / "index") == ["a1", "a3", "a4", "a5"]


def test_one_deeply_nested_line_fails_alone_named_with_its_line(runner, tmp_path):
    path = tmp_path / "deep.jsonl"
    path.write_text(json.dumps({"id": "one", "title": "One", "body": "b"}) + "\n" + "[" * 100_000 + "\n"
                    + json.dumps({"id": "three", "title": "Three", "body": "b"}) + "\n"
                    + json.dumps({"id": "four", "title": "Four", "body": "b"}) + "\n")
    result = runner.invoke(main, ["--index", str(tmp_path / "index"), "import", str(path)])
    assert result.output == (f"failed: {path}:2: JSON nested too deeply to read\n"
                             "3 added, 0 updated, 0 duplicates, 1 failed\n")
    assert ids(tmp_path / "index") == ["four", "one", "three"]


def test_a_json_array_is_read_an_item_at_a_time(runner, tmp_path):
    items = [{"id": f"a{n}", "title": f"Story {n}", "body": body(n)} for n in range(1, 301)]
    items[149] = ["not an object"]
    (tmp_path / "array.json.xz").write_bytes(lzma.compress(json.dumps(items, indent=1).encode()))
    result = run(runner, tmp_path / "index", str(tmp_path / "array.json.xz"))
    assert result.output == (f"failed: {tmp_path / 'array.json.xz'}:item 150: not a JSON object\n"
                             "299 added, 0 updated, 0 duplicates, 1 failed\n")


@pytest.mark.parametrize("name, delimiter", [("big.csv.gz", ","), ("big.tsv", "\t")])
def test_csv_and_tsv_of_any_size_name_the_bad_rows_by_their_first_line(runner, tmp_path, name, delimiter):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(["id", "headline", "text"])
    first_lines = {}
    for n in range(1, 601):
        first_lines[n] = out.getvalue().count("\n") + 1
        if n == 200:
            out.write(f"short{delimiter}row\n")  # two cells
        elif n == 400:
            writer.writerow([f"a{n}", "Giant", "y" * 70_000])  # over the limit
        else:
            writer.writerow([f"a{n}", f"Story {n}", body(n).replace(" s", "\ns")])  # quoted, many lines
    data = out.getvalue().encode()
    assert first_lines[600] > 1000  # rows of many lines: the first line of each is named
    (tmp_path / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    result = run(runner, tmp_path / "index", str(tmp_path / name))
    assert result.output == (f"failed: {tmp_path / name}:{first_lines[200]}: 2 cells, the header has 3\n"
                             f"failed: {tmp_path / name}:{first_lines[400]}: over 64 KB, skipped\n"
                             "598 added, 0 updated, 0 duplicates, 2 failed\n")
    assert len(ids(tmp_path / "index")) == 598


def _warc(path, pages: list[tuple[str, bytes]], compress: bool) -> None:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as handle:
        writer = WARCWriter(handle, gzip=compress)  # gzip: one member per record
        for uri, body in pages:
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(uri, "response", payload=io.BytesIO(body),
                                                          length=len(body), http_headers=headers))


def _page(n: int) -> bytes:
    paragraphs = "".join(f"<p>Paragraph {k} of report {n}: {body(n * 10 + k)}</p>" for k in range(3))
    return (f"<html><head><title>Report {n}</title></head><body><article><h1>Report {n}</h1>"
            f"{paragraphs}</article></body></html>").encode()


@pytest.mark.parametrize("name, compress", [("crawl.warc.gz", True), ("crawl.warc", False)])
def test_warc_records_stream_and_a_giant_one_is_named_by_its_offset(runner, tmp_path, name, compress):
    pages = [(f"https://news.example/{n}", _page(n)) for n in range(1, 121)]  # ~250 KB of pages
    pages[59] = ("https://news.example/giant", b"<html><body><p>" + b"word " * 20_000 + b"</p></body></html>")
    _warc(tmp_path / name, pages, compress)
    from warcio.archiveiterator import ArchiveIterator

    with open(tmp_path / name, "rb") as handle:
        records = ArchiveIterator(handle)
        offsets = {}
        for record in records:
            offsets[record.rec_headers.get_header("WARC-Target-URI")] = records.get_record_offset()
    result = run(runner, tmp_path / "index", str(tmp_path / name))
    assert result.output == (f"failed: {tmp_path / name}:record at byte {offsets['https://news.example/giant']} "
                             "(https://news.example/giant): over 64 KB, skipped\n"
                             "119 added, 0 updated, 0 duplicates, 1 failed\n")
    index = searchkit.open_index(tmp_path / "index")
    assert sorted(a.url for a in index.articles()) == sorted(u for u, _ in pages if not u.endswith("giant"))


def test_a_giant_record_of_a_warc_compressed_whole_is_named_by_its_number(runner, tmp_path):
    pages = [(f"https://news.example/{n}", _page(n)) for n in range(1, 31)]
    pages[19] = ("https://news.example/giant", b"<html><body><p>" + b"word " * 20_000 + b"</p></body></html>")
    _warc(tmp_path / "plain.warc", pages, compress=False)
    (tmp_path / "crawl.warc.xz").write_bytes(lzma.compress((tmp_path / "plain.warc").read_bytes()))
    result = run(runner, tmp_path / "index", str(tmp_path / "crawl.warc.xz"))
    # No byte offset of the inflated data (nothing could seek to it): the 20th record of the file.
    assert result.output == (f"failed: {tmp_path / 'crawl.warc.xz'}:record 20 (https://news.example/giant): "
                             "over 64 KB, skipped\n29 added, 0 updated, 0 duplicates, 1 failed\n")


def test_a_whole_file_gzip_warc_and_a_cut_one_keep_the_pages_before_the_cut(runner, tmp_path):
    pages = [(f"https://news.example/{n}", _page(n)) for n in range(1, 41)]
    _warc(tmp_path / "plain.warc", pages, compress=False)
    whole = gzip.compress((tmp_path / "plain.warc").read_bytes())
    (tmp_path / "cut.warc.gz").write_bytes(whole[: len(whole) * 3 // 4])
    result = run(runner, tmp_path / "index", str(tmp_path / "cut.warc.gz"))
    lines = result.output.splitlines()
    assert lines[-1].startswith(tuple(f"{n} added, 0 updated, 0 duplicates, 1 failed" for n in range(20, 40)))
    assert lines[0] == (f"failed: {tmp_path / 'cut.warc.gz'}: truncated gzip file (it ends before the "
                        "compressed data does)")


def test_single_page_formats_over_the_limit_are_skipped_and_named(runner, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "big.html").write_bytes(b"<html><body><p>" + b"word " * 20_000 + b"</p></body></html>")
    (folder / "big.txt.bz2").write_bytes(bz2.compress(b"Title\n\n" + b"word " * 20_000))
    (folder / "feed.rss.gz").write_bytes(gzip.compress(
        b'<rss version="2.0"><channel><title>F</title>'
        + b"".join(b"<item><title>Item %d</title><description>%s</description></item>" % (n, b"word " * 200)
                   for n in range(100)) + b"</channel></rss>"))
    (folder / "ok.txt").write_text("A headline\n\nA body.")
    result = run(runner, tmp_path / "index", str(folder))
    assert result.output == (f"failed: {folder / 'big.html'}: over 64 KB, skipped\n"
                             f"failed: {folder / 'big.txt.bz2'}: over 64 KB, skipped\n"
                             f"failed: {folder / 'feed.rss.gz'}: over 64 KB, skipped\n"
                             "1 added, 0 updated, 0 duplicates, 3 failed\n")


def test_a_folder_with_unknown_files_names_them_in_the_summary(runner, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "report.pdf").write_bytes(b"%PDF-1.4")
    (folder / "data.bin").write_bytes(bytes(10))
    (folder / "README.md").write_text("notes about this folder")  # a note: passed over quietly
    (folder / "one.txt").write_text("A headline\n\nA body.")
    result = runner.invoke(main, ["--index", str(tmp_path / "index"), "import", str(folder)])
    assert (result.exit_code, result.output) == (0, "skipped 2 files: unknown format (data.bin, report.pdf)\n"
                                                    "1 added, 0 updated, 0 duplicates, 0 failed\n")


# -- interrupt and resume -------------------------------------------------------------------

def _committed(index_path) -> int:
    try:
        return len(searchkit.open_index(index_path))
    except searchkit.SearchkitError:
        return 0  # not created yet


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
def test_a_stopped_import_commits_and_the_same_command_resumes_to_exactly_the_reference_ids(tmp_path, signal_name):
    import signal
    import subprocess
    import sys
    import time

    total = 30000  # reading must still be going when the first commit shows (~6,900 in on a quiet machine)
    path = tmp_path / "big.jsonl.gz"
    lines = [json.dumps({"id": f"a{n}", "title": f"Story {n}", "body": body(n)}) for n in range(total)]
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    index_path = tmp_path / "index"
    command = [sys.executable, "-c", "from searchkit.cli import main; main()", "--index", str(index_path), "import", "--commit-every", "0.3",
               str(path)]
    victim = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _committed(index_path) == 0 and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # polling for the first commit, the condition the signal waits for
    victim.send_signal(getattr(signal, signal_name))
    out, err = victim.communicate(timeout=120)
    done = _committed(index_path)
    assert victim.returncode == 130, err
    assert 0 < done < total, "the signal did not land mid-import"
    assert out == f"{done:,} added, 0 updated, 0 duplicates, 0 failed\n"
    assert err.endswith("interrupted: what was read is committed; run the same command again to import the rest "
                        "(records already in are skipped)\n")
    assert "Traceback" not in err
    resumed = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)
    assert (resumed.returncode, resumed.stdout) == (
        0, f"{total - done:,} added, 0 updated, 0 duplicates, 0 failed, {done:,} unchanged\n"), resumed.stderr
    assert ids(index_path) == sorted(f"a{n}" for n in range(total))


def test_a_second_import_skips_every_record_unread_and_changes_nothing(runner, tmp_path):
    pages = [(f"https://news.example/{n}", _page(n)) for n in range(1, 31)]
    # A page with no text at all (trafilatura now keeps a lone nav link such as "Home" as a body).
    pages[9] = ("https://news.example/empty", b"<html><head><title>x</title></head><body>"
                                              b"<script>var a;</script></body></html>")
    _warc(tmp_path / "crawl.warc.gz", pages, compress=True)
    (tmp_path / "more.jsonl").write_text("\n".join(jsonl_lines(20, broken=4)) + "\n")
    args = [str(tmp_path / "crawl.warc.gz"), str(tmp_path / "more.jsonl")]
    first = run(runner, tmp_path / "index", *args)
    before = {a.id: a.imported for a in searchkit.open_index(tmp_path / "index").articles()}
    again = run(runner, tmp_path / "index", *args)
    failures = [line for line in first.output.splitlines() if line.startswith("failed: ")]
    assert len(failures) == 2 and first.output.splitlines()[-1] == "48 added, 0 updated, 0 duplicates, 2 failed"
    # The same failures again (from the ledger, not by extracting), nothing added or rewritten.
    assert again.output.splitlines() == failures + ["0 added, 0 updated, 0 duplicates, 2 failed, 48 unchanged"]
    assert {a.id: a.imported for a in searchkit.open_index(tmp_path / "index").articles()} == before
    # A deleted article is not "already imported": importing again brings it back.
    searchkit.open_index(tmp_path / "index").delete(["a1"])
    assert run(runner, tmp_path / "index", *args).output.splitlines()[-1] == (
        "1 added, 0 updated, 0 duplicates, 2 failed, 47 unchanged")
    # --again reads everything anew.
    assert runner.invoke(main, ["--index", str(tmp_path / "index"), "import", "--again", *args]
                         ).output.splitlines()[-1] == "0 added, 48 updated, 0 duplicates, 2 failed"
