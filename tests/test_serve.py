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
