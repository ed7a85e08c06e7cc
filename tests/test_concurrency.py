"""Writers and readers at the same time, through the real processes a user runs: `searchkit serve`
answering while `searchkit import` and `searchkit reindex` write, and two imports at once."""

from __future__ import annotations

import select
import subprocess
import threading
from pathlib import Path

import searchkit
from conftest import corpus_articles
from reliability_support import SEARCHKIT, Client, generated, run_cli, serving, write_jsonl

BATCHES = 4
PER_BATCH = 60


class Hammer(threading.Thread):
    """Sends requests in a loop until stopped, recording every (status, article count, total)."""

    def __init__(self, host: str, port: int, query: str) -> None:
        super().__init__(daemon=True)
        self.client = Client(host, port)
        self.query = query
        self.stop = threading.Event()
        self.seen: list[tuple[int, int, int]] = []
        self.failures: list[str] = []

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                health_status, health = self.client.json("/healthz")
                status, data = self.client.json(f"/api/search?q={self.query}&limit=3")
                self.seen.append((status if status != 200 else health_status,
                                  health.get("articles", -1), data.get("total", -1)))
                page_status, _, page = self.client.get(f"/search?q={self.query}")
                if page_status != 200 or "Traceback" in page:
                    self.failures.append(f"page {page_status}")
        except Exception as exc:  # noqa: BLE001 - recorded and asserted on by the test
            self.failures.append(repr(exc))
        finally:
            self.client.close()


def test_import_while_serving_never_fails_a_request_and_shows_each_commit(index, index_path, tmp_path):
    files = [write_jsonl(tmp_path / f"batch{n}.jsonl", generated(PER_BATCH, f"b{n}-", n, f"marker{n}"))
             for n in range(BATCHES)]
    with serving(index_path) as (host, port, _):
        hammer = Hammer(host, port, "fighter")
        hammer.start()
        client = Client(host, port)
        try:
            for n, path in enumerate(files):
                done = run_cli("--index", str(index_path), "import", str(path))
                assert (done.returncode, done.stdout) == (0, f"{PER_BATCH} added, 0 updated, 0 duplicates, 0 failed\n")
                # Visible to the very next request after the import returns, every article of it.
                assert client.json(f"/api/search?q=marker{n}&limit=1")[1]["total"] == PER_BATCH
                assert client.json("/healthz")[1] == {"status": "ok", "articles": 4 + PER_BATCH * (n + 1)}
        finally:
            hammer.stop.set()
            hammer.join(30)
            client.close()
    assert hammer.failures == []
    assert len(hammer.seen) > 10
    assert {status for status, _, _ in hammer.seen} == {200}
    committed = {4 + PER_BATCH * n for n in range(BATCHES + 1)}
    counts = [count for _, count, _ in hammer.seen]
    assert set(counts) <= committed  # never a half-written state
    assert counts == sorted(counts)  # never an older state after a newer one


def _start_import(index_path: Path, path: Path) -> subprocess.Popen:
    return subprocess.Popen([SEARCHKIT, "--index", str(index_path), "import", str(path)], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)


def _first_line(proc: subprocess.Popen, timeout: float) -> str:
    """The first line the process writes to stderr, waiting at most `timeout` seconds for it."""
    ready, _, _ = select.select([proc.stderr], [], [], timeout)
    assert ready, f"no line on stderr within {timeout} s"
    return proc.stderr.readline()


def test_two_imports_at_once_both_complete_one_waiting_for_the_other(index, index_path, tmp_path):
    first = write_jsonl(tmp_path / "first.jsonl", generated(300, "f", 1))
    second = write_jsonl(tmp_path / "second.jsonl", generated(300, "s", 2))
    holder = searchkit.open_index(index_path)
    with holder._writer_lock():  # both start while a writer holds the lock, so both must queue
        procs = [_start_import(index_path, first), _start_import(index_path, second)]
        # Each must say it is waiting before the lock is let go: read that line, not a timer.
        waiting = [_first_line(proc, timeout=60) for proc in procs]
        for proc in procs:
            assert proc.returncode is None, "an import ran while another process held the lock"
    outputs = []
    for proc, line in zip(procs, waiting):
        out, err = proc.communicate(timeout=120)
        outputs.append((proc.returncode, out, line + err))
    for returncode, out, err in outputs:
        assert (returncode, out) == (0, "300 added, 0 updated, 0 duplicates, 0 failed\n")
        assert err.startswith(f"waiting for another searchkit process writing to {index_path} (up to 600 s)")
        assert "Traceback" not in err and "LockError" not in err
    ids = {a.id for a in searchkit.open_index(index_path).articles()}
    assert ids == {a.id for a in corpus_articles()} | {f"f{i:05d}" for i in range(300)} | {f"s{i:05d}" for i in range(300)}


def test_lock_timeout_gives_a_clear_message_and_changes_nothing(index, index_path, corpus_file, tmp_path):
    extra = write_jsonl(tmp_path / "extra.jsonl", generated(5, "x"))
    holder = searchkit.open_index(index_path)
    with holder._writer_lock():
        done = run_cli("--index", str(index_path), "--lock-timeout", "0.5", "import", str(extra))
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        f"waiting for another searchkit process writing to {index_path} (up to 0.5 s)…\n"
        f"Error: another searchkit process is writing to {index_path} and did not finish within 0.5 s: "
        "try again when it is done (or wait longer with --lock-timeout SECONDS)\n")
    assert len(searchkit.open_index(index_path)) == 4


def test_reindex_while_serving_keeps_answering_from_the_old_index_until_the_swap(index_path, tmp_path):
    write_jsonl(tmp_path / "many.jsonl", generated(2000, "r", 7, "needle"))
    assert run_cli("--index", str(index_path), "import", str(tmp_path / "many.jsonl")).returncode == 0
    before = (index_path / "CURRENT").read_text()
    with serving(index_path) as (host, port, _):
        client = Client(host, port)
        expected = client.json("/api/search?q=needle+raqqa&limit=5")[1]
        hammer = Hammer(host, port, "needle+raqqa")
        hammer.start()
        try:
            done = run_cli("--index", str(index_path), "reindex")
            assert (done.returncode, done.stdout) == (0, "reindexed 2,000 articles\n")
            after_swap = client.json("/api/search?q=needle+raqqa&limit=5")[1]
        finally:
            hammer.stop.set()
            hammer.join(30)
            client.close()
    assert (index_path / "CURRENT").read_text() != before
    assert sorted(p.name for p in index_path.glob("gen-*")) == [(index_path / "CURRENT").read_text().strip()]
    assert hammer.failures == []
    assert len(hammer.seen) > 10
    assert set(hammer.seen) == {(200, 2000, expected["total"])}
    assert [h["id"] for h in after_swap["hits"]] == [h["id"] for h in expected["hits"]]


def test_a_reader_that_loses_the_race_with_a_reindex_swap_retries_on_the_new_index(index, index_path, monkeypatch):
    """Force the race: the reader reads CURRENT, then a real reindex swaps and deletes that
    generation before the reader opens it. It must answer from the new one, not fail."""
    import searchkit.store as store

    real_open_dir = store.container.open_dir
    raced = []

    def open_dir_after_a_reindex(path, *args, **kwargs):
        if not raced:
            raced.append(path)
            searchkit.open_index(index_path).reindex()
        return real_open_dir(path, *args, **kwargs)

    reader = searchkit.open_index(index_path)
    reader._open = None
    monkeypatch.setattr(store.container, "open_dir", open_dir_after_a_reindex)
    assert [h.id for h in searchkit.search(reader, "mosul").hits] == ["mosul"]
    assert not Path(raced[0]).exists()  # the generation it first read was really gone
    assert reader._open[0] == (index_path / "CURRENT").read_text().strip()
