"""Against a real `searchkit serve` process on a loopback port."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from searchkit.cli import main


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(runner, index_path, corpus_file):
    runner.invoke(main, ["--index", str(index_path), "import", str(corpus_file)])
    port = free_port()
    exe = Path(sys.executable).with_name("searchkit")
    proc = subprocess.Popen([str(exe), "--index", str(index_path), "serve", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                with proc.stderr:
                    raise RuntimeError(proc.stderr.read().decode())
            time.sleep(0.1)
    yield base
    proc.terminate()
    proc.wait(10)
    proc.stderr.close()


def test_real_server_answers_search_and_api(server):
    html = urllib.request.urlopen(server + "/search?q=isis+fighters+raqqa").read().decode()
    assert "<mark>fighters</mark>" in html
    with urllib.request.urlopen(server + "/api/search?q=isis+fighters+raqqa") as response:
        assert response.headers["Content-Type"] == "application/json"
        data = json.load(response)
    assert [h["id"] for h in data["hits"]] == ["raqqa", "boxer", "mosul", "budget"]
    assert json.load(urllib.request.urlopen(server + "/healthz")) == {"status": "ok", "articles": 4}


def test_serve_answers_when_its_connections_get_descriptors_past_1024(runner, index_path, corpus_file):
    # A 1M-article index keeps over a thousand files open; select() cannot watch descriptor
    # 1024 or above, so the server must use poll(). Here 1,100 open files stand in for them.
    runner.invoke(main, ["--index", str(index_path), "import", str(corpus_file)])
    port = free_port()
    script = (
        "import os, resource, sys\n"
        "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
        "if hard != resource.RLIM_INFINITY and hard < 2048: sys.exit(3)\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (4096 if hard == resource.RLIM_INFINITY else min(4096, hard), hard))\n"
        "held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]\n"
        "from searchkit.cli import main\n"
        f"main(['--index', {str(index_path)!r}, 'serve', '--port', '{port}'])\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        for _ in range(3):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/search?q=raqqa", timeout=10) as response:
                assert json.load(response)["hits"][0]["id"] == "raqqa"
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stderr.close()


def _spread(base: str, paths: list[str], times: int = 30) -> list[tuple[int, bytes]]:
    """(status, body) of `times` requests over the paths, 8 at a time, so every server thread
    answers some of them."""
    from concurrent.futures import ThreadPoolExecutor

    def get(i: int) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(base + paths[i % len(paths)], timeout=20) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(get, range(times)))


def _cli(index_path, *args: str) -> None:
    exe = Path(sys.executable).with_name("searchkit")
    subprocess.run([str(exe), "--index", str(index_path), *args], check=True, capture_output=True)


def test_every_server_thread_forgets_a_deleted_article(server, index_path):
    warm = _spread(server, ["/article/raqqa", "/api/search?q=raqqa"])  # each thread opens a searcher
    assert {status for status, _ in warm} == {200}
    _cli(index_path, "delete", "raqqa")
    article = _spread(server, ["/article/raqqa"])
    assert [status for status, _ in article] == [404] * 30
    found = _spread(server, ["/api/search?q=raqqa"])
    assert [[h["id"] for h in json.loads(body)["hits"]] for _, body in found] == [["budget"]] * 30


def test_every_server_thread_answers_from_an_import_and_a_reindex(server, index_path, tmp_path):
    _spread(server, ["/article/mosul", "/api/search?q=mosul"])
    update = tmp_path / "update.jsonl"
    update.write_text(json.dumps({"id": "mosul", "title": "Mosul rebuilds its old city",
                                  "body": "Masons rebuild the old city of Mosul.",
                                  "published": "2019-07-10T12:00:00+00:00"}) + "\n", "utf-8")
    _cli(index_path, "import", str(update))
    pages = _spread(server, ["/article/mosul"])
    assert [b"Mosul rebuilds its old city" in body for _, body in pages] == [True] * 30
    found = _spread(server, ["/api/search?q=masons"])
    assert [[h["id"] for h in json.loads(body)["hits"]] for _, body in found] == [["mosul"]] * 30
    _cli(index_path, "reindex")
    _cli(index_path, "delete", "boxer")
    found = _spread(server, ["/api/search?q=fighter"])
    assert [(status, [h["id"] for h in json.loads(body).get("hits", [])]) for status, body in found] == [
        (200, ["raqqa"])] * 30, found[0]


def test_a_busy_port_is_one_line_and_exit_1(busy_port, index_path):
    exe = Path(sys.executable).with_name("searchkit")
    done = subprocess.run([str(exe), "--index", str(index_path), "serve", "--port", str(busy_port)],
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == f"Error: port {busy_port} is in use: choose another with --port\n"


def test_serving_on_is_said_once_the_port_is_open(runner, index_path, corpus_file):
    runner.invoke(main, ["--index", str(index_path), "import", str(corpus_file)])
    exe = Path(sys.executable).with_name("searchkit")
    # Port 0: the OS picks one, so the line can only name it once the socket is bound.
    proc = subprocess.Popen([str(exe), "--index", str(index_path), "serve", "--port", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        prefix = f"serving {index_path} on http://127.0.0.1:"
        assert line.startswith(prefix) and line.endswith("/\n"), line
        port = int(line[len(prefix):-2])
        assert port > 0
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=20) as response:
            assert json.load(response) == {"status": "ok", "articles": 4}
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stderr.close()


def test_idle_connections_cannot_starve_the_server(runner, index_path, corpus_file):
    # 200 clients that connect and send nothing (or half a request) used to fill waitress's
    # 100 connections for 120 s each: every other request waited. Now a real request still
    # gets its answer within a second, and the idle connections are closed soon after.
    from webui import IDLE_SECONDS

    from reliability_support import serving

    runner.invoke(main, ["--index", str(index_path), "import", str(corpus_file)])
    with serving(index_path) as (host, port, _):
        idle = []
        try:
            for n in range(200):
                sock = socket.create_connection((host, port), timeout=5)
                if n % 2:
                    sock.sendall(b"GET /search?q=raqqa HTTP/1.1\r\nHost: x\r\n")  # never finished
                idle.append(sock)
            started = time.monotonic()
            with urllib.request.urlopen(f"http://{host}:{port}/api/search?q=raqqa", timeout=1) as response:
                assert json.load(response)["hits"][0]["id"] == "raqqa"
            assert time.monotonic() - started < 1
            idle[0].settimeout(IDLE_SECONDS + 10)
            assert idle[0].recv(1) == b""  # the server closed it (a timeout here would raise)
            assert time.monotonic() - started < IDLE_SECONDS + 10
        finally:
            for sock in idle:
                sock.close()
