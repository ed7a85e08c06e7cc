"""Against a real `searchkit serve` process on a loopback port."""

import json
import os
import socket
import subprocess
import sys
import time
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
