"""Committed means on disk (issue 20, item 6): every file a commit names is fsynced, with its
directory, before the rename that makes the commit, and the commit itself before the command
reports success. Checked on the real system calls of a real import, traced with strace."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from reliability_support import SEARCHKIT, generated, write_jsonl

CALL = re.compile(r'^\d+\s+(?P<call>openat|fsync|rename|close)\((?P<args>.*)\)\s+= (?P<result>-?\d+)')


def _trace(args: list[str], log: Path) -> list[tuple[str, str, int]]:
    """Run `args` under strace; its (call, path, result) in order, fsync's fd read as a path."""
    done = subprocess.run(["strace", "-f", "-qq", "-e", "trace=openat,fsync,rename,close", "-o", str(log), *args],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)
    assert done.returncode == 0, done.stderr
    fds: dict[str, str] = {}
    calls = []
    for line in log.read_text().splitlines():
        m = CALL.match(line)
        if not m:
            continue
        call, parts, result = m["call"], m["args"].split(", "), int(m["result"])
        pid = line.split()[0]
        if call == "openat" and result >= 0:
            fds[f"{pid}:{result}"] = parts[1].strip('"')
        elif call == "fsync":
            calls.append(("fsync", fds.get(f"{pid}:{parts[0]}", "?"), result))
        elif call == "rename":
            calls.append(("rename", parts[1].strip('"'), result))
    return calls


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace to see the system calls")
def test_an_import_syncs_its_segments_before_the_commit_and_the_commit_before_it_returns(tmp_path):
    source = write_jsonl(tmp_path / "a.jsonl", generated(300))
    index = tmp_path / "index"
    calls = _trace([SEARCHKIT, "--index", str(index), "import", str(source)], tmp_path / "strace.log")
    live = index / (index / "CURRENT").read_text().strip()
    toc = max(live.glob("_MAIN_*.toc"))
    segment_files = {str(p) for p in live.iterdir() if p.name.startswith("MAIN_") and p.name != "MAIN_WRITELOCK"}
    assert segment_files, "the import wrote no segment"
    commit = calls.index(("rename", str(toc), 0))
    synced_before = {path for call, path, result in calls[:commit] if call == "fsync" and result == 0}
    assert segment_files <= synced_before, sorted(segment_files - synced_before)
    assert str(live) in synced_before  # their names too
    synced_after = [path for call, path, result in calls[commit:] if call == "fsync" and result == 0]
    assert str(toc) in synced_after and str(live) in synced_after
