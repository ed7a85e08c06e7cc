"""Bad input: each case reported as `file[:line]: reason`, the rest imported, exit 1, nothing lost;
an import killed midway leaves an index that opens, and running it again completes it."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import searchkit
from searchkit.cli import main

from conftest import SHARED


def run(runner, index_path, *args):
    return runner.invoke(main, ["--index", str(index_path), *args])


def test_every_bad_input_is_named_and_the_rest_goes_in(runner, index_path, tmp_path, corpus_file):
    assert run(runner, index_path, "import", str(corpus_file)).exit_code == 0  # already in the index
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02\xff" * 200)
    (folder / "empty.html").write_bytes(b"")
    (folder / "truncated.jsonl.gz").write_bytes(gzip.compress(b'{"title": "t", "body": "b"}\n' * 500)[:-30])
    (folder / "huge.html").write_bytes(b"<html><body><p>" + b"word " * (10 * 1024 * 1024) + b"</p></body></html>")
    # No text at all (a lone nav link such as "Home" is kept by trafilatura as a body since issue 21).
    (folder / "nothing.html").write_text("<html><head><title>x</title></head><body>"
                                         "<script>var a;</script></body></html>", "utf-8")
    lines = [json.dumps({"id": f"n{n}", "title": f"Good {n}", "body": "Fine."}) for n in range(1, 40)]
    lines[36] = '{"id": "n37", "title": "broken'
    (folder / "lines.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    (folder / "ok.txt").write_text("A good headline\n\nA good body.", "utf-8")
    result = run(runner, index_path, "import", str(folder), "https://example.com/feed.xml")
    assert result.exit_code == 1
    failed = [line for line in result.output.splitlines() if line.startswith("failed: ")]
    assert failed == [
        f"failed: {folder / 'binary.txt'}: binary file, not text, HTML, a feed, a WARC, CSV or JSON lines",
        f"failed: {folder / 'empty.html'}: empty file",
        f"failed: {folder / 'huge.html'}: HTML page is 52 MB, over the 20 MB limit",
        f"failed: {folder / 'lines.jsonl'}:37: invalid JSON (Unterminated string starting at column 24)",
        f"failed: {folder / 'nothing.html'}: no article text found in the page",
        f"failed: {folder / 'truncated.jsonl.gz'}: truncated gzip file (it ends before the compressed data does)",
        "failed: https://example.com/feed.xml: is a URL: searchkit reads files only and has no network to fetch "
        "it from; download it (e.g. with curl -o feed.xml URL) and import the file",
    ]
    assert result.output.splitlines()[-1] == "39 added, 0 updated, 0 duplicates, 7 failed"
    ix = searchkit.open_index(index_path)
    assert len(ix) == 4 + 38 + 1
    assert ix.get("raqqa").title == "Fighters escape Raqqa in secret deal"  # what was there is still there


def test_extract_prints_fields_and_origin_without_an_index(runner, tmp_path):
    page = tmp_path / "p.html"
    page.write_text('<html lang="en"><head><meta property="og:title" content="Floods hit towns">'
                    '<meta property="og:site_name" content="Daily Planet">'
                    '<meta property="article:published_time" content="2021-03-04T09:00:00+01:00"></head>'
                    "<body><article><p>Rivers burst their banks overnight.</p></article></body></html>", "utf-8")
    result = runner.invoke(main, ["--index", str(tmp_path / "none"), "extract", str(page), "--format", "jsonl"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert (data["title"], data["source"], data["published"], data["body"]) == (
        "Floods hit towns", "Daily Planet", "2021-03-04T08:00:00+00:00", "Rivers burst their banks overnight.")
    assert data["origin"]["path"] == str(page) and data["origin"]["format"] == "html"
    assert not (tmp_path / "none").exists()


def test_progress_bar_line():
    from searchkit.cli import _progress_line
    from searchkit.importer import Progress

    line = _progress_line(Progress(files_done=3, files_total=10, articles=1234, seconds=2.0))
    assert line == "[######--------------] 3/10 files · 1,234 articles · 617/s · ETA 0:04"
    # With the input's size known, the bar counts bytes from the first second of one big file.
    line = _progress_line(Progress(files_done=0, files_total=1, articles=1, seconds=2.0,
                                   bytes_done=1_500_000_000, bytes_total=6_000_000_000))
    assert line == "[#####---------------] 1.5 GB/6.0 GB · 1 article · 0/s · ETA 0:06"


def _count(index_path: Path) -> int:
    return len(searchkit.open_index(index_path))


def test_killed_import_leaves_a_usable_index_and_rerun_completes(tmp_path):
    sample = SHARED / "news-sample"  # the whole folder, in one command
    index_path = tmp_path / "index"
    command = [sys.executable, "-c", "from searchkit.cli import main; main()",
               "--index", str(index_path), "import", str(sample)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    victim = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 60
    while not (index_path / "CURRENT").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert _count(index_path) in (0, 2225)  # each batch is all in or not in
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].endswith(", 0 failed")
    assert done.stderr == (f"warning: {sample / 'duplicates.tsv'}: skipped, no title or body column in the header "
                           "(kept_id, duplicate_ids): name one title/headline or body/text/content\n")
    assert _count(index_path) == 2225
    print(f"news-sample: 2225 articles in {seconds:.1f} s ({2225 / seconds:.0f} articles/s)")


def test_progress_bar_and_rate_on_a_terminal_plain_summary_otherwise(tmp_path):
    import pty

    feeds = Path(__file__).parent / "fixtures" / "feeds"
    command = [sys.executable, "-c", "from searchkit.cli import main; main()",
               "--index", str(tmp_path / "index"), "import", str(feeds)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=follower, stdin=subprocess.DEVNULL,
                              env=env, text=True, timeout=120)
        os.close(follower)
        follower = -1
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)
        if follower != -1:
            os.close(follower)
    assert done.stdout == "34 added, 0 updated, 0 duplicates, 0 failed\n"
    screen = shown.decode("utf-8")
    assert "[--------------------] 0 B/83 kB · 0/4 files · 0 articles" in screen
    assert screen.rstrip().splitlines()[-1].startswith("34 articles from 4 files in ")
    assert screen.rstrip().endswith(" articles/s)")
    plain = subprocess.run(command, capture_output=True, env=env, text=True, stdin=subprocess.DEVNULL, timeout=120)
    assert (plain.stdout, plain.stderr) == ("0 added, 0 updated, 0 duplicates, 0 failed, 34 unchanged\n", "")
