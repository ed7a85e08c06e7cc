"""Helpers for the reliability, crash, concurrency and security tests: a real `searchkit serve`
on a loopback port, a real `searchkit` subprocess, and a generated corpus with known contents."""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import whoosh.index
from whoosh.filedb.filestore import FileStorage

from searchkit.dedupe import DB_NAME
from searchkit.ledger import DB_NAME as LEDGER
from searchkit.store import CURRENT, LOCK, META, WHOOSH_NAME

SEARCHKIT = str(Path(sys.executable).with_name("searchkit"))
WORDS = ("raqqa mosul fighter budget parliament vote election storm market bank oil price city "
         "council school police court river bridge train strike harbour minister drought").split()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def generated(count: int, prefix: str = "a", seed: int = 1, marker: str = "") -> list[dict]:
    """`count` articles with ids prefix00000.., random words from WORDS, and `marker` (a word no
    other article has) in every title, so a search for it counts exactly these."""
    rng = random.Random(seed)
    return [{"id": f"{prefix}{i:05d}", "source": "Generated",
             "title": " ".join([marker] * bool(marker) + rng.choices(WORDS, k=6)),
             "body": " ".join(rng.choices(WORDS, k=80)) + ".\n\n" + " ".join(rng.choices(WORDS, k=40)) + "."}
            for i in range(count)]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    return path


def run_cli(*args: str, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the real `searchkit` console script and capture its output."""
    return subprocess.run([SEARCHKIT, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)


@contextmanager
def serving(index_path: Path, *extra: str, env: dict | None = None) -> Iterator[tuple[str, int, subprocess.Popen]]:
    """A `searchkit serve` subprocess on a free loopback port: yields (host, port, process);
    server_log(process) is what it has written to stderr so far."""
    port = free_port()
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([SEARCHKIT, "--index", str(index_path), "serve", "--port", str(port), *extra],
                            stdout=subprocess.DEVNULL, stderr=log, stdin=subprocess.DEVNULL,
                            env={**os.environ, **(env or {})})
    _LOGS[proc.pid] = log
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"searchkit serve did not start: {server_log(proc)}")
                time.sleep(0.05)
        yield "127.0.0.1", port, proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        _LOGS.pop(proc.pid).close()


_LOGS: dict[int, "tempfile._TemporaryFileWrapper"] = {}


def server_log(proc: subprocess.Popen) -> str:
    """What a server started by serving() has written to stderr so far."""
    log = _LOGS[proc.pid]
    log.seek(0)
    return log.read().decode("utf-8", "replace")


class Client:
    """A keep-alive HTTP client for one server: get(path) -> (status, headers, body text).

    The server closes a connection that has sent nothing for IDLE_SECONDS (webui), as servers
    do; like a browser, the client then opens a new one and sends the request again, but only
    when its connection had in fact been idle that long. Any other dropped connection is an
    error (a failed request)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.conn = http.client.HTTPConnection(host, port, timeout=30)
        self.last_used = time.monotonic()

    def request(self, method: str, path: str) -> tuple[int, dict, str]:
        """One request; a dropped connection is an error here unless the server was entitled to
        close it for idleness."""
        from webui import IDLE_SECONDS

        idle = time.monotonic() - self.last_used
        try:
            return self._send(method, path)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            if idle < IDLE_SECONDS:
                raise
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            return self._send(method, path)

    def _send(self, method: str, path: str) -> tuple[int, dict, str]:
        self.conn.request(method, path)
        response = self.conn.getresponse()
        body = response.read().decode("utf-8", "replace")
        self.last_used = time.monotonic()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body

    def get(self, path: str) -> tuple[int, dict, str]:
        return self.request("GET", path)

    def json(self, path: str) -> tuple[int, dict]:
        status, _, body = self.get(path)
        return status, json.loads(body)

    def close(self) -> None:
        self.conn.close()


def live_files(index_path: Path) -> set[str]:
    """The files a clean live generation may hold: its TOC, the segments it names, the metadata."""
    live = index_path / (index_path / CURRENT).read_text().strip()
    toc = whoosh.index.TOC.read(FileStorage(str(live)), WHOOSH_NAME)
    segments = {s.segment_id() for s in toc.segments}
    return {f"_{WHOOSH_NAME}_{toc.generation}.toc", f"{WHOOSH_NAME}_WRITELOCK", META} | {
        name for name in os.listdir(live) if name.split(".")[0] in segments}


def debris(index_path: Path) -> set[str]:
    """Anything in the index directory a clean index would not have."""
    live_name = (index_path / CURRENT).read_text().strip()
    live = index_path / live_name
    # dedupe.py keeps its signatures beside the generations (SQLite recovers its own journal).
    kept = (CURRENT, LOCK, live_name, *(name + end for name in (DB_NAME, LEDGER) for end in ("", "-journal", "-wal", "-shm")))
    found = {name for name in os.listdir(index_path) if name not in kept}
    return found | {f"{live_name}/{name}" for name in set(os.listdir(live)) - live_files(index_path)}
