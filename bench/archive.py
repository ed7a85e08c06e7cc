"""`make bench-archive` (part of `make bench`): archives imported whole, in one command each.

1. One JSON lines .gz of ARTICLES articles (bench/corpus.py, from ../shared/data/news-large).
2. One WARC .gz of at least WARC_MB megabytes built from the real pages of ../shared/data/html
   and ../shared/data/warc, each copy under its own target URI (one gzip member per record),
   with its pages/s against trafilatura's extract() alone on the same pages in the same run.

Each is imported by `searchkit import FILE` (a fresh index), then the same command is run
again: that re-run must change nothing and go at least 10x the first run's rate. Peak RSS is
that of the whole process tree (the importer and its workers), sampled. Targets (issue 16):
peak RSS <= 1 GiB for both imports. Writes bench/results/archive.json.

    python -m bench.archive --articles 1000000 --warc-mb 1024 --work bench/work
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import subprocess
import sys
import time
from pathlib import Path

from .corpus import DATA, ensure_corpus
from .worker import Sampler

ROOT = Path(__file__).resolve().parents[1]
RSS_TARGET_MB = 1024
RERUN_TARGET = 10.0


def searchkit_command() -> list[str]:
    return [sys.executable, "-c", "from searchkit.cli import main; main()"]


def timed_import(index: Path, path: Path, records: int) -> dict:
    """Run `searchkit --index INDEX import PATH` (a file of `records` records); its summary
    line, seconds, records/s and tree peak RSS."""
    sampler = Sampler(index)
    sampler.start()
    started = time.perf_counter()
    done = subprocess.run([*searchkit_command(), "--index", str(index), "import", str(path)],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    sampler.done.set()
    sampler.join()
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    return {"returncode": done.returncode, "summary": summary, "seconds": round(seconds, 2),
            "records_per_s": round(records / seconds, 1), "peak_rss_mb": round(sampler.peak_rss_kb / 1024),
            "errors": done.stderr.strip().splitlines()[-5:]}


def article_count(index: Path) -> int:
    import searchkit

    return len(searchkit.open_index(index))


def real_pages() -> list[tuple[str, bytes, str]]:
    """(target URI, page bytes, charset) of every real HTML page: ../html (URLs from
    expected.json) and the HTML responses of ../warc's archives."""
    from warcio.archiveiterator import ArchiveIterator

    html = DATA / "html"
    urls = {e["file"]: e.get("url") or "" for e in json.loads((html / "expected.json").read_text("utf-8"))}
    pages = [(urls.get(p.name) or f"https://pages.example/{p.stem}", p.read_bytes(), "")
             for p in sorted(html.glob("*.html"))]
    for archive in sorted((DATA / "warc").glob("*.warc*")):
        with open(archive, "rb") as handle:
            for record in ArchiveIterator(handle):
                kind = (record.http_headers.get_header("Content-Type") or "") if record.http_headers else ""
                if record.rec_type == "response" and kind.startswith("text/html"):
                    charset = kind.partition("charset=")[2].strip()
                    pages.append((record.rec_headers.get_header("WARC-Target-URI"),
                                  record.content_stream().read(), charset))
    return pages


def build_warc(path: Path, megabytes: int) -> int:
    """A WARC.gz of at least `megabytes` MB of copies of the real pages, each copy under its
    own URI (`.../copy-N`); returns its number of response records. Written once, reused."""
    done = path.with_suffix(".count")
    if path.exists() and done.exists():
        return int(done.read_text())
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    pages = [(uri, body, charset, _urls(uri, body, charset)) for uri, body, charset in real_pages()]
    count = 0
    with open(path, "wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        while handle.tell() < megabytes * 1_000_000:
            uri, body, charset, urls = pages[count % len(pages)]
            kind = f"text/html; charset={charset}" if charset else "text/html"
            headers = StatusAndHeaders("200 OK", [("Content-Type", kind)], protocol="HTTP/1.1")
            target = f"{uri.rstrip('/')}/copy-{count}"
            # Each copy names itself (its canonical link, og:url): one article per copy, not one
            # article and thousands of updates of it.
            for url in urls:
                body = body.replace(url.encode(), target.encode()).replace(url.replace("/", "\\/").encode(),
                                                                            target.replace("/", "\\/").encode())
            writer.write_record(writer.create_warc_record(target, "response", payload=io.BytesIO(body),
                                                          length=len(body), http_headers=headers))
            count += 1
    done.write_text(f"{count}\n")
    return count


def _urls(uri: str, body: bytes, charset: str) -> list[str]:
    """The spellings of a page's own URL in it (its target URI, the canonical URL searchkit
    reads from it, each as http and https), longest first, to be replaced in each copy."""
    from searchkit.extract import extract_bytes
    from searchkit.extract.options import ExtractOptions

    found = {uri} if uri else set()
    try:
        found |= {a.url for a in extract_bytes(body, {"path": "page.html"}, "html", ExtractOptions(url=uri, charset=charset))
                  if getattr(a, "url", "")}
    except Exception:
        pass
    found |= {u.replace("https://", "http://", 1) for u in found} | {u.replace("http://", "https://", 1) for u in found}
    return sorted(found, key=len, reverse=True)


def trafilatura_rate(seconds_budget: float = 60.0) -> float:
    """Pages per second of trafilatura.extract alone, one core, on the same real pages."""
    import trafilatura

    pages = real_pages()
    trafilatura.extract(pages[0][1])
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds_budget or done < len(pages):
        trafilatura.extract(pages[done % len(pages)][1], include_comments=False)
        done += 1
    return done / (time.perf_counter() - started)


def measure(name: str, path: Path, work: Path, records: int) -> dict:
    index = work / f"index-{name}"
    if index.exists():
        import shutil

        shutil.rmtree(index)
    first = timed_import(index, path, records)
    articles = article_count(index)
    again = timed_import(index, path, records)
    speedup = again["records_per_s"] / first["records_per_s"] if first["records_per_s"] else 0.0
    result = {"file": str(path), "file_mb": round(path.stat().st_size / 1e6), "records": records,
              "first": first, "again": again, "articles": articles, "articles_after_again": article_count(index),
              "rerun_speedup": round(speedup, 1)}
    result["targets"] = {"peak_rss_le_1GiB": max(first["peak_rss_mb"], again["peak_rss_mb"]) <= RSS_TARGET_MB,
                         "rerun_10x": speedup >= RERUN_TARGET,
                         "rerun_changes_nothing": result["articles_after_again"] == articles
                         and again["summary"].startswith("0 added, 0 updated")}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1_000_000, help="articles in the JSON lines .gz (0: skip)")
    parser.add_argument("--warc-mb", type=int, default=1024, help="size of the WARC .gz in MB (0: skip)")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "work")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results" / "archive.json")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    results: dict = {}
    if args.articles:
        corpus = ensure_corpus(args.articles, directory=args.work / "corpora")
        results["jsonl"] = measure(f"jsonl-{args.articles}", corpus, args.work, args.articles)
        report("jsonl", results["jsonl"])
    if args.warc_mb:
        path = args.work / f"pages-{args.warc_mb}mb.warc.gz"
        count = build_warc(path, args.warc_mb)
        results["warc"] = measure(f"warc-{args.warc_mb}", path, args.work, count)
        results["warc"]["trafilatura_pages_per_s"] = round(trafilatura_rate(), 2)
        results["warc"]["vs_trafilatura"] = round(results["warc"]["first"]["records_per_s"]
                                                  / results["warc"]["trafilatura_pages_per_s"], 2)
        report("warc", results["warc"])
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=1) + "\n")
    failed = [f"{name}: {target}" for name, result in results.items()
              for target, met in result["targets"].items() if not met]
    if failed:
        print("NOT met: " + "; ".join(failed))
        sys.exit(1)


def report(name: str, result: dict) -> None:
    first, again = result["first"], result["again"]
    print(f"{name}: {result['file']} ({result['file_mb']:,} MB, {result['records']:,} records)")
    for label, run in (("import", first), ("again", again)):
        print(f"  {label:<7} {run['seconds']:>9.1f} s  {run['records_per_s']:>9,.1f} records/s  "
              f"peak RSS {run['peak_rss_mb']:,} MB  | {run['summary']}")
    print(f"  re-run {result['rerun_speedup']}x the first rate; articles {result['articles']:,} -> "
          f"{result['articles_after_again']:,}")
    if "trafilatura_pages_per_s" in result:
        print(f"  trafilatura.extract alone, 1 core: {result['trafilatura_pages_per_s']} pages/s; "
              f"the import {result['vs_trafilatura']}x that")


if __name__ == "__main__":
    main()
