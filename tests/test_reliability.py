"""A full disk: the write is undone with a clear one-line message, the old index intact and
searchable, no half-written files left behind, and the same command works once there is room.

On a real 3 MB tmpfs when this machine lets us mount one (root); always also under a real
kernel file-size limit (RLIMIT_FSIZE), which makes writes fail the same way without root.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

import searchkit
from conftest import corpus_articles
from reliability_support import SEARCHKIT, debris, generated, run_cli, write_jsonl
from searchkit.store import CURRENT

BIG = 9000  # generated articles: an index of them does not fit in 3 MB (3,000 now do, compressed)


def full(index_path: Path, reason: str) -> str:
    return (f"Error: out of disk space writing the index at {index_path} ({reason}): nothing committed was "
            "lost and searches still work; free some disk space and run the same command again\n")


def failed_write(index_path: Path, reason: str) -> str:
    return (f"Error: cannot write the index at {index_path} ({reason}): check its permissions and disk, "
            "then run the same command again\n")


def assert_intact(index_path: Path, generation: str) -> None:
    assert (index_path / CURRENT).read_text() == generation
    index = searchkit.open_index(index_path)
    assert sorted(a.id for a in index.articles()) == ["boxer", "budget", "mosul", "raqqa"]
    assert [h.id for h in searchkit.search(index, "isis fighters raqqa").hits] == ["raqqa", "boxer", "mosul", "budget"]
    assert debris(index_path) == set()


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB tmpfs mounted for this test, or a skip saying why it cannot be (the file-size
    limit test below still runs)."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root: test_file_size_limit_is_handled_like_a_full_disk covers this")
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}): the file-size limit test covers this")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def test_full_disk_during_import_and_reindex(small_disk, tmp_path, corpus_file):
    index_path = small_disk / "index"
    assert run_cli("--index", str(index_path), "import", str(corpus_file)).returncode == 0
    generation = (index_path / CURRENT).read_text()

    big = write_jsonl(tmp_path / "big.jsonl", generated(BIG, "big", 5))
    done = run_cli("--index", str(index_path), "import", str(big))
    # The Whoosh segment or dedupe.sqlite (signatures beside the index) may fill the disk first.
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr in (full(index_path, "No space left on device"), full(index_path, "database or disk is full"))
    assert_intact(index_path, generation)
    # Whoosh's partial segment and spill files are gone; dedupe.sqlite keeps the signatures it
    # committed (every 1,000 articles), so the disk is not back to where it was: free space.
    assert not list((index_path / generation.strip()).glob("MAIN.tmp"))
    subprocess.run(["mount", "-o", "remount,size=16m", str(small_disk)], check=True)

    # Reindex with the disk all but full: the old index stays live.
    ballast = small_disk / "ballast"
    with open(ballast, "wb") as out:
        out.write(bytes(max(0, shutil.disk_usage(small_disk).free - 8192)))
    done = run_cli("--index", str(index_path), "reindex")
    assert (done.returncode, done.stdout, done.stderr) == (1, "", full(index_path, "No space left on device"))
    assert_intact(index_path, generation)

    ballast.unlink()  # room again: the same commands now work
    assert run_cli("--index", str(index_path), "reindex").stdout == "reindexed 4 articles\n"
    small = write_jsonl(tmp_path / "small.jsonl", generated(50, "small", 6))
    done = run_cli("--index", str(index_path), "import", str(small))
    assert (done.stdout, done.stderr) == ("50 added, 0 updated, 0 duplicates, 0 failed\n", "")
    assert len(searchkit.open_index(index_path)) == 54


def _limit_file_size(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_file_size_limit_is_handled_like_a_full_disk(index, index_path, tmp_path):
    generation = (index_path / CURRENT).read_text()
    big = write_jsonl(tmp_path / "big.jsonl", generated(BIG, "big", 5))
    for args in (["import", str(big)], ["reindex"]):
        limit = 200 * 1024 if args[0] == "import" else 2 * 1024
        done = subprocess.run([SEARCHKIT, "--index", str(index_path), *args], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, preexec_fn=_limit_file_size(limit), timeout=120)
        assert (done.returncode, done.stdout) == (1, ""), args
        # SQLite (dedupe.sqlite) reports the same failed write as "disk I/O error", without errno.
        assert done.stderr in (full(index_path, "File too large"), failed_write(index_path, "disk I/O error")), args
        assert_intact(index_path, generation)


def test_the_readme_backup_command_holds_writers_off_and_copies_a_working_index(index, index_path, tmp_path):
    """`flock index/writer.lock cp -a index BACKUP` (README, Operations): writers wait meanwhile."""
    if not shutil.which("flock"):
        pytest.skip("the flock command (util-linux) is not installed")
    # The copy runs with the lock held, then holds it until we close its stdin.
    holder = subprocess.Popen(["flock", str(index_path / "writer.lock"), "sh", "-c",
                               f"cp -a {index_path} {tmp_path / 'backup'} && echo copied && cat >/dev/null"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "copied\n"
        extra = write_jsonl(tmp_path / "extra.jsonl", generated(3, "x"))
        done = run_cli("--index", str(index_path), "--lock-timeout", "0.3", "import", str(extra))
        assert done.returncode == 1 and "did not finish within 0.3 s" in done.stderr
    finally:
        holder.stdin.close()
        assert holder.wait(30) == 0
        holder.stdout.close()
    backup = searchkit.open_index(tmp_path / "backup")
    assert sorted(a.id for a in backup.articles()) == ["boxer", "budget", "mosul", "raqqa"]
    assert [h.id for h in searchkit.search(backup, "mosul").hits] == ["mosul"]


def test_export_then_import_restores_every_article(index, index_path, tmp_path):
    """The README's restore from an export: same ids, titles, bodies, sources, dates, URLs."""
    export = run_cli("--index", str(index_path), "export")
    assert export.returncode == 0
    (tmp_path / "backup.jsonl").write_text(export.stdout, "utf-8")
    restored_path = tmp_path / "index.new"
    done = run_cli("--index", str(restored_path), "import", str(tmp_path / "backup.jsonl"))
    assert done.stdout == "4 added, 0 updated, 0 duplicates, 0 failed\n"

    def fields(ix):
        return sorted((a.id, a.title, a.body, a.source, a.author, a.url, a.published) for a in ix.articles())

    assert fields(searchkit.open_index(restored_path)) == fields(index)
