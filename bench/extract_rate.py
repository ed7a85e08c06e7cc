"""`make bench-extract` (rate): pages per second as an import extracts them, on every core,
against trafilatura's own extract() on one core, on the same pages in the same run.

The pages are the real ones of ../shared/data/html and the first PAGES of
../shared/data/extraction-dev/pages (sorted by name). searchkit runs them as an import does:
Tasks through extract/parallel.TaskPool, one worker per core (the pool's start-up counted),
and on one core for reference. Writes bench/results/extract_rate.json.

    python bench/extract_rate.py [--pages 200]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))

from searchkit.engine.build import default_procs  # noqa: E402
from searchkit.extract.options import ExtractOptions  # noqa: E402
from searchkit.extract.parallel import TaskPool  # noqa: E402
from searchkit.extract.records import Task  # noqa: E402

TARGET = 1.6  # issue 16: all cores at least this many times trafilatura on one core


def pages(count: int) -> list[tuple[str, bytes]]:
    """(name, bytes) of the real pages: ../html in full, then `count` of extraction-dev."""
    found = [(p.name, p.read_bytes()) for p in sorted((DATA / "html").glob("*.html"))]
    found += [(p.name, gzip.decompress(p.read_bytes()))
              for p in sorted((DATA / "extraction-dev" / "pages").glob("*.html.gz"))[:count]]
    return found


def searchkit_rate(found: list[tuple[str, bytes]], procs: int) -> tuple[float, int]:
    """Seconds to extract every page through the import's task pool with `procs` processes,
    and how many pages gave an article."""
    tasks = [Task("html", data, {"path": name, "format": "html"}, ExtractOptions(), name) for name, data in found]
    started = time.perf_counter()
    with TaskPool(procs) as pool:
        results = list(pool.resolve(iter(tasks)))
    seconds = time.perf_counter() - started
    return seconds, sum(type(r).__name__ == "Article" for r in results)


def trafilatura_rate(found: list[tuple[str, bytes]]) -> tuple[float, int]:
    import trafilatura

    started = time.perf_counter()
    texts = [trafilatura.extract(data, include_comments=False) for _, data in found]
    return time.perf_counter() - started, sum(bool(t) for t in texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200, help="pages of extraction-dev to add to ../html")
    args = parser.parse_args()
    found = pages(args.pages)
    procs = default_procs()
    # Warm-up for both, so the timings compare extraction: imports and lazy tables, and the
    # regexes dateparser compiles for every locale on first use (via htmldate: ~30 s, once per
    # process; the pool's workers are forked after it and share it, as an import's would not).
    warm = found[-min(40, len(found)):]
    searchkit_rate(warm, 1)
    trafilatura_rate(warm)
    theirs, theirs_ok = trafilatura_rate(found)
    one, one_ok = searchkit_rate(found, 1)
    every, every_ok = searchkit_rate(found, procs)
    n = len(found)
    ratio = (n / every) / (n / theirs)
    rows = [("trafilatura.extract, 1 core", theirs, theirs_ok), ("searchkit, 1 core", one, one_ok),
            (f"searchkit, {procs} cores (import pool)", every, every_ok)]
    print(f"{n} real pages ({len(list((DATA / 'html').glob('*.html')))} of ../html, the rest of extraction-dev)")
    for label, seconds, ok in rows:
        print(f"  {label:<36} {seconds:7.2f} s  {n / seconds:6.1f} pages/s  ({ok} with text)")
    print(f"searchkit on {procs} cores / trafilatura on 1 core: {ratio:.2f}x (target >= {TARGET}x: "
          f"{'met' if ratio >= TARGET else 'NOT met'})")
    out = ROOT / "bench" / "results" / "extract_rate.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"pages": n, "procs": procs, "ratio": round(ratio, 3), "target": TARGET,
                               "runs": [{"who": label, "seconds": round(seconds, 3), "pages_per_s": round(n / seconds, 2),
                                         "with_text": ok} for label, seconds, ok in rows]}, indent=1) + "\n")


if __name__ == "__main__":
    main()
