"""kill -9 at random moments of import and of reindex, for real, 20 times each.

After every kill: the index opens, every stored article is whole (all its fields, and its terms
searchable), the stored set is exactly what the finished commits wrote; re-running the import
gives exactly the expected ids and count, and a killed reindex leaves the old index answering.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import searchkit
from conftest import corpus_articles
from reliability_support import SEARCHKIT, debris, generated, write_jsonl
from searchkit.cli import main
from searchkit.importer import extract_all
from searchkit.ledger import DB_NAME as LEDGER
from searchkit import shards
from searchkit.store import CURRENT, LOCK, WHOOSH_NAME

KILLS = 20
ARTICLES = 200
BATCH = 20  # commits of 20: a kill lands before, between and inside commits
MARKER = "kmarker"
# The import a user runs, with small commits so that a kill can land between them.
DRIVER = ("import sys; from searchkit import open_index; from searchkit.importer import extract_all; "
          "open_index(sys.argv[1], create=True).write(extract_all([sys.argv[2]]), batch=int(sys.argv[3]))")


def kill_at_random(args: list[str], delay: float) -> int:
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    return proc.wait(30)


def started_with_sigint(args: list[str], disposition) -> subprocess.Popen:
    """`args` started with SIGINT set to `disposition` in this process while it starts (an
    ignored signal stays ignored across exec; a caught one is reset to its default)."""
    before = signal.signal(signal.SIGINT, disposition)
    try:
        return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
    finally:
        signal.signal(signal.SIGINT, before)


def assert_whole(index: searchkit.Index, expected: dict[str, dict]) -> set[str]:
    """Every stored article equals its record and is searchable; returns the stored ids."""
    stored = {a.id: a for a in index.articles()}
    for article_id, article in stored.items():
        record = expected[article_id]
        assert (article.title, article.body, article.source) == (record["title"], record["body"], record["source"])
    generated_ids = {i for i in stored if i.startswith("k")}
    assert searchkit.search(index, MARKER, limit=1).total == len(generated_ids)
    return set(stored)


def test_kill_9_during_import_20_times(tmp_path, runner):
    records = generated(ARTICLES, "k", 11, MARKER)
    source = write_jsonl(tmp_path / "import.jsonl", records)
    expected = {r["id"]: r for r in records}
    base = {a.id: a for a in corpus_articles()}
    expected.update({i: {"title": a.title, "body": a.body, "source": a.source} for i, a in base.items()})
    prefixes = [set(base) | {r["id"] for r in records[:n]} for n in range(0, ARTICLES + 1, BATCH)]

    def fresh(name: str) -> Path:
        path = tmp_path / name
        searchkit.open_index(path, create=True).write(corpus_articles())
        return path

    started = time.monotonic()
    subprocess.run([sys.executable, "-c", DRIVER, str(fresh("timing")), str(source), str(BATCH)], check=True)
    full_run = time.monotonic() - started
    rng = random.Random(2024)
    partial = 0
    found_debris = 0
    for trial in range(KILLS):
        index_path = fresh(f"kill-{trial}")
        kill_at_random([sys.executable, "-c", DRIVER, str(index_path), str(source), str(BATCH)],
                       rng.uniform(0, full_run))
        found_debris += bool(debris(index_path))
        stored = assert_whole(searchkit.open_index(index_path), expected)
        assert stored in prefixes, f"trial {trial}: {len(stored)} articles is not a whole number of commits"
        partial += 0 < len(stored) - len(base) < ARTICLES

        done = stored & {r["id"] for r in records}
        result = runner.invoke(main, ["--index", str(index_path), "import", str(source)])
        assert (result.exit_code, result.output) == (
            0, f"{ARTICLES - len(done)} added, {len(done)} updated, 0 duplicates, 0 failed\n")
        index = searchkit.open_index(index_path)
        assert assert_whole(index, expected) == set(expected)
        assert len(index) == ARTICLES + len(base)
        assert debris(index_path) == set()
    print(f"import: {KILLS} kills over a {full_run:.2f} s run, {partial} between commits, "
          f"{found_debris} left debris that the next import removed")


def test_kill_9_during_reindex_20_times_leaves_the_old_index_serving(tmp_path, runner):
    records = generated(ARTICLES, "k", 12, MARKER)
    index_path = tmp_path / "index"
    index = searchkit.open_index(index_path, create=True)
    index.write(corpus_articles())
    assert runner.invoke(main, ["--index", str(index_path), "import",
                                str(write_jsonl(tmp_path / "r.jsonl", records))]).exit_code == 0
    expected = {r["id"]: r for r in records}
    expected.update({a.id: {"title": a.title, "body": a.body, "source": a.source} for a in corpus_articles()})
    serving = searchkit.open_index(index_path)  # a long-lived reader, as `searchkit serve` holds
    top = [h.id for h in searchkit.search(serving, "raqqa fighter", limit=10).hits]

    started = time.monotonic()
    subprocess.run([SEARCHKIT, "--index", str(index_path), "reindex"], check=True, capture_output=True)
    full_run = time.monotonic() - started
    rng = random.Random(7)
    swapped = left_over = 0
    for trial in range(KILLS):
        before = (index_path / CURRENT).read_text()
        kill_at_random([SEARCHKIT, "--index", str(index_path), "reindex"], rng.uniform(0, full_run))
        swapped += (index_path / CURRENT).read_text() != before
        left_over += len(list(index_path.glob("gen-*"))) > 1
        assert [h.id for h in searchkit.search(serving, "raqqa fighter", limit=10).hits] == top
        assert assert_whole(searchkit.open_index(index_path), expected) == set(expected)
    result = runner.invoke(main, ["--index", str(index_path), "reindex"])
    assert (result.exit_code, result.output) == (0, f"reindexed {ARTICLES + 4} articles\n")
    assert debris(index_path) == set()
    assert [h.id for h in searchkit.search(serving, "raqqa fighter", limit=10).hits] == top
    print(f"reindex: {KILLS} kills over a {full_run:.2f} s run, {swapped} after the swap, "
          f"{left_over} left a generation that the next reindex removed")


def test_next_writer_removes_what_a_killed_writer_left(index, index_path):
    live = index_path / (index_path / CURRENT).read_text().strip()
    (live / f"{WHOOSH_NAME}.tmp").mkdir()
    (live / f"{WHOOSH_NAME}.tmp" / "run-1.pst").write_bytes(b"spilled postings")
    (live / f"{WHOOSH_NAME}_deadbeef0000.seg").write_bytes(b"a segment no TOC names")
    (live / f"_{WHOOSH_NAME}_99.toc.1700000000.5").write_bytes(b"a TOC never renamed")
    (index_path / "gen-1").mkdir()
    (index_path / "gen-1" / "_MAIN_1.toc").write_bytes(b"half a reindex")
    (index_path / "CURRENT.tmp").write_text("gen-1\n")
    assert debris(index_path) == {"gen-1", "CURRENT.tmp", f"{live.name}/{WHOOSH_NAME}.tmp",
                                  f"{live.name}/{WHOOSH_NAME}_deadbeef0000.seg",
                                  f"{live.name}/_{WHOOSH_NAME}_99.toc.1700000000.5"}
    assert [h.id for h in searchkit.search(index, "mosul").hits] == ["mosul"]  # readers ignore it
    index.delete(["boxer"])
    assert debris(index_path) == set()
    assert sorted(a.id for a in index.articles()) == ["budget", "mosul", "raqqa"]


def ended(proc: subprocess.Popen, timeout: float = 60) -> tuple[int, str, str]:
    """`proc`'s exit status, stdout and stderr; it is killed (and the test fails) if it has not
    ended within `timeout` seconds."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"still running after {timeout:g} s; stderr: {err!r}")
    return proc.returncode, out, err


def files_of(path: Path) -> dict[str, tuple[int, int]]:
    """Every file under `path` but the writer locks: size and modification time (what a write changes)."""
    return {str(f.relative_to(path)): (f.stat().st_size, f.stat().st_mtime_ns)
            for f in sorted(path.rglob("*")) if f.is_file() and f.name != LOCK}


WAITED = "interrupted while waiting for another writer: nothing was written"


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("command", ["import", "reindex", "delete"])
def test_a_signal_while_waiting_for_the_lock_says_nothing_was_written(index, index_path, corpus_file, command,
                                                                     signal_name):
    """Ctrl-C or SIGTERM (not -9) ends a waiting writer with one line saying that it wrote
    nothing, and exit status 130; the index is unchanged, to the byte."""
    extra = {"import": [str(corpus_file)], "reindex": [], "delete": ["mosul"]}[command]
    args = [SEARCHKIT, "--index", str(index_path), command, *extra]
    before = files_of(index_path)
    with searchkit.open_index(index_path)._writer_lock():
        # Started as a terminal starts a foreground command: SIGINT at its default. A suite run
        # as a background job of a script (`pytest &`) ignores SIGINT, a child inherits that
        # across exec and Python keeps it: the Ctrl-C below would then never arrive. A caught
        # signal is reset to its default in the child, so catch it here while it starts.
        proc = started_with_sigint(args, signal.default_int_handler)
        assert proc.stderr.readline().startswith("waiting for another searchkit process writing to")
        proc.send_signal(getattr(signal, signal_name))
        status, out, err = ended(proc)
    assert (status, out, err) == (
        130, "", WAITED + (" (the import had not started)" if command == "import" else "") + "\n")
    assert files_of(index_path) == before
    assert len(searchkit.open_index(index_path)) == 4
    assert debris(index_path) == set()


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
def test_a_signal_while_a_sharded_import_waits_for_the_lock_says_nothing_was_written(tmp_path, corpus_file,
                                                                                    signal_name):
    """A sharded index takes its writer lock when the import starts writing (with the import's
    own stop handling in place, which would commit what was read and carry on waiting): a
    signal there ends it at once with the same line."""
    path = tmp_path / "sharded"
    sharded = shards.create(path, 2)
    sharded.write(corpus_articles())
    before = files_of(path)
    with sharded.writing():
        proc = started_with_sigint([SEARCHKIT, "--index", str(path), "import", str(corpus_file)],
                                   signal.default_int_handler)
        assert proc.stderr.readline().startswith("waiting for another searchkit process writing to")
        proc.send_signal(getattr(signal, signal_name))
        status, out, err = ended(proc)
    assert (status, out, err) == (130, "", WAITED + " (the import had not started)\n")
    after = files_of(path)
    assert {name: after[name] for name in before} == before  # the shards and the manifest
    assert set(after) - set(before) <= {LEDGER}, "only the import's (empty) record of what it took in"
    with sqlite3.connect(path / LEDGER) as ledger:
        assert ledger.execute("SELECT count(*) FROM record").fetchone() == (0,)


def test_started_with_ctrl_c_ignored_an_import_ignores_it_while_waiting_and_while_importing(index, index_path, tmp_path):
    """A shell starts a background job (without job control) with SIGINT ignored, so that the
    Ctrl-C typed for the command in the foreground does not reach it. The import then keeps
    ignoring it, while it waits for the writer lock (as Python does) and while it imports (it
    used to install its own Ctrl-C handler there and stop): it imports everything."""
    total = 12000  # still importing when the first commit shows
    source = write_jsonl(tmp_path / "many.jsonl", generated(total, "g", 5, MARKER))
    args = [SEARCHKIT, "--index", str(index_path), "import", "--commit-every", "0.3", str(source)]
    with searchkit.open_index(index_path)._writer_lock():
        proc = started_with_sigint(args, signal.SIG_IGN)  # inherited across exec, as a shell's `&` does
        assert proc.stderr.readline().startswith("waiting for another searchkit process writing to")
        proc.send_signal(signal.SIGINT)  # while it waits
    deadline = time.monotonic() + 120
    while len(searchkit.open_index(index_path)) == 4 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # polling for the first commit, the condition the second signal waits for
    proc.send_signal(signal.SIGINT)  # while it imports
    assert len(searchkit.open_index(index_path)) < 4 + total, "the signal did not land mid-import"
    out, err = proc.communicate(timeout=300)
    assert (proc.returncode, out) == (0, f"{total:,} added, 0 updated, 0 duplicates, 0 failed\n"), err
    assert "stopping" not in err and "interrupted" not in err and "Traceback" not in err
    assert len(searchkit.open_index(index_path)) == 4 + total
