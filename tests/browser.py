"""Helpers for the browser tests and the README screenshots: a real `searchkit serve` on a
loopback port, and Debian's chromium driven by Playwright (no downloaded browser)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

CHROMIUM = os.environ.get("SEARCHKIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(index: Path) -> Iterator[str]:
    """Run `searchkit serve` on a free loopback port; yield its base URL; stop it after."""
    port = free_port()
    exe = Path(sys.executable).with_name("searchkit")
    proc = subprocess.Popen([str(exe), "--index", str(index), "serve", "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    proc.kill()
                    proc.wait(10)
                    raise RuntimeError(f"searchkit serve did not start: {proc.stderr.read().decode()}")
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stderr.close()


@contextmanager
def chromium() -> Iterator[object]:
    """A headless Debian chromium under Playwright (a Browser)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: run `make chromium` (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
