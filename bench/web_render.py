"""How long the web pages take on the demo corpus: `make bench-web`.

Imports seeds/ into a temporary index, starts a real `searchkit serve` on a loopback port,
warms it up, then requests each page ROUNDS times and prints, per page, the median and
95th-percentile time the app took (its Server-Timing header) and the time the client waited.
The peer in the same run is /healthz (a tiny JSON answer through the same server): the
ratio says how much of a page's time is the page's own work. The target is < 100 ms a page.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from browser import serve  # noqa: E402

ROUNDS = 30
PAGES = [
    ("home", "/"),
    ("search, 2 words", "/search?q=journalist+arrested"),
    ("search, common word", "/search?q=people"),
    ("search, phrase", "/search?q=%22human+rights%22"),
    ("search, page 3 newest", "/search?q=government&page=3&sort=newest"),
    ("search, filtered", "/search?q=protest&since=2012-05-05&until=2012-05-15&source=Global+Voices"),
    ("search, a timeline year", "/search?q=journalist+arrested&since=2012&until=2012"),
    ("search, no results", "/search?q=zzxqvv"),
    ("article, highlighted", "/article/globalvoices-316447?q=journalist+kidnapped"),
    ("atom feed", "/search.atom?q=journalist"),
    ("api/search", "/api/search?q=journalist+arrested"),
    ("peer: /healthz", "/healthz"),
]


def fetch(url: str) -> tuple[float, float]:
    """(app ms from Server-Timing, client ms) for one GET."""
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()
        timing = response.headers.get("Server-Timing", "app;dur=nan")
    client = (time.perf_counter() - started) * 1000
    return float(timing.split("dur=")[1]), client


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(len(values) * 0.95) - 1)]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        exe = Path(sys.executable).with_name("searchkit")
        subprocess.run([str(exe), "--index", str(index), "import", str(ROOT / "seeds")], check=True,
                       stdout=subprocess.DEVNULL)
        with serve(index) as base:
            cold = {name: fetch(base + path)[0] for name, path in PAGES}
            rows = []
            for name, path in PAGES:
                app, client = zip(*(fetch(base + path) for _ in range(ROUNDS)))
                rows.append((name, cold[name], statistics.median(app), p95(list(app)), statistics.median(client)))
    peer = rows[-1][2] or 0.1
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"web render time on the demo archive (seeds/), {ROUNDS} rounds a page, target < 100 ms")
    print(f"({os.cpu_count()} CPUs, load average {load}: other work on the machine slows every row alike)")
    print(f"{'page':24} {'first ms':>9} {'median ms':>10} {'p95 ms':>8} {'client ms':>10} {'x healthz':>10}")
    for name, first, median, high, client in rows:
        print(f"{name:24} {first:9.1f} {median:10.1f} {high:8.1f} {client:10.1f} {median / peer:10.1f}")
    worst = max(r[3] for r in rows)
    print(f"slowest p95: {worst:.1f} ms ({'under' if worst < 100 else 'OVER'} the 100 ms target)")


if __name__ == "__main__":
    main()
