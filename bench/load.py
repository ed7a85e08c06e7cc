"""Loopback load test: `searchkit serve` on an index of >= 50,000 articles answering a bounded
number of requests at a fixed concurrency while `searchkit import` writes into the same index.

    python -m bench.load                  # 5,000 requests, concurrency 8, 50,000 articles
    python -m bench.load --requests 500   # a quick look

Prints requests/s, latency p50/p90/p99/max and the error count (target 0), and writes them to
bench/results/load.json. Everything runs on 127.0.0.1 and stops after --requests requests.

The corpus: the first --articles records of ../shared/data/news-large (real Reuters headlines,
ids, dates and URLs; no bodies), each given a body of 4-12 *other* real headlines drawn with a
seeded random.Random, so articles are paragraph-sized and every run builds the same bytes. The
next --import-articles records are what the concurrent import writes, over and over (first run
adds them, later runs update them) until the load ends: a writer is active the whole time.
The base index is built once and cached under bench/work/; each run copies it, so every run
starts from the same state.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
NEWS_LARGE = ROOT.parent / "shared" / "data" / "news-large" / "articles.jsonl.gz"
WORK = ROOT / "bench" / "work"
RESULTS = ROOT / "bench" / "results" / "load.json"
SEED = 9
SEARCHKIT = str(Path(sys.executable).with_name("searchkit"))
DESK_PREFIXES = {"update", "brief", "rpt", "corrected", "refile", "text"}


def corpus(count: int, skip: int = 0, seed: int = SEED) -> list[dict]:
    """Records skip..skip+count of news-large, each with a body of other real headlines."""
    with gzip.open(NEWS_LARGE, "rt", encoding="utf-8") as handle:
        records = [json.loads(line) for _, line in zip(range(skip + count), handle)]
    titles = [r["title"] for r in records]
    rng = random.Random(seed + skip)
    out = []
    for record in records[skip:]:
        sentences = [t if t.endswith(".") else t + "." for t in rng.sample(titles, rng.randint(4, 12))]
        record["body"] = " ".join(sentences[: len(sentences) // 2]) + "\n\n" + " ".join(sentences[len(sentences) // 2:])
        out.append(record)
    return out


def queries(records: list[dict], count: int, seed: int = SEED) -> list[str]:
    """`count` queries of 1-3 words taken from the corpus headlines (so most have hits)."""
    from searchkit.analysis import stopwords

    common = stopwords() | DESK_PREFIXES  # a query of only these would be a 400, not a search
    rng = random.Random(seed)
    out = []
    while len(out) < count:
        words = [w.strip(".,:;'\"()<>-").lower() for w in rng.choice(records)["title"].split()]
        words = [w for w in words if len(w) > 2 and w.isalpha() and w not in common]
        if words:
            out.append(" ".join(rng.sample(words, min(len(words), rng.randint(1, 3)))))
    return out


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def base_index(articles: int) -> Path:
    """The cached index of the first `articles` records, built with `searchkit import` once."""
    path = WORK / f"load-index-{articles}"
    stamp = path / "built.json"
    if stamp.exists() and json.loads(stamp.read_text())["articles"] == articles:
        return path
    shutil.rmtree(path, ignore_errors=True)
    source = write_jsonl(WORK / f"load-corpus-{articles}.jsonl", corpus(articles))
    print(f"building the {articles:,}-article base index (once; cached in {path}) ...", flush=True)
    started = time.perf_counter()
    subprocess.run([SEARCHKIT, "--index", str(path / "index"), "import", str(source)], check=True,
                   stdin=subprocess.DEVNULL)
    stamp.write_text(json.dumps({"articles": articles, "seconds": round(time.perf_counter() - started, 1)}))
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("searchkit serve did not start")
            time.sleep(0.05)


class Importer(threading.Thread):
    """Runs `searchkit import FILE` again and again until stopped; records each run."""

    def __init__(self, index: Path, source: Path) -> None:
        super().__init__(daemon=True)
        self.index, self.source = index, source
        self.stop = threading.Event()
        self.runs: list[dict] = []

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.perf_counter()
            done = subprocess.run([SEARCHKIT, "--index", str(self.index), "import", str(self.source)],
                                  capture_output=True, text=True, stdin=subprocess.DEVNULL)
            self.runs.append({"exit": done.returncode, "seconds": round(time.perf_counter() - started, 2),
                              "summary": done.stdout.strip() or done.stderr.strip()[-200:]})


def load(port: int, paths: list[str], concurrency: int) -> tuple[list[float], list[str], float]:
    """Send every path once, `concurrency` at a time; (latencies in ms, errors, elapsed seconds)."""
    latencies: list[float] = []
    errors: list[str] = []
    cursor = iter(range(len(paths)))
    lock = threading.Lock()

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            while True:
                with lock:
                    n = next(cursor, None)
                if n is None:
                    return
                started = time.perf_counter()
                try:
                    conn.request("GET", paths[n])
                    response = conn.getresponse()
                    body = response.read()
                    ok = response.status == 200 and b"Traceback" not in body
                    failure = "" if ok else f"{response.status} {paths[n]}"
                except (OSError, http.client.HTTPException) as exc:
                    failure = f"{type(exc).__name__}: {exc} ({paths[n]})"
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed)
                    if failure:
                        errors.append(failure)
                    if len(latencies) % 250 == 0:
                        print(f"  {len(latencies):,} requests, {len(errors)} errors", flush=True)
        finally:
            conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors, time.perf_counter() - started


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=50_000)
    parser.add_argument("--import-articles", type=int, default=5_000)
    parser.add_argument("--requests", type=int, default=5_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--threads", type=int, default=8, help="waitress threads of the server")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not NEWS_LARGE.exists():
        raise SystemExit(f"{NEWS_LARGE} is missing: the load test needs ../shared/data/news-large")

    base = base_index(args.articles)
    run_dir = WORK / "load-run"
    shutil.rmtree(run_dir, ignore_errors=True)
    shutil.copytree(base / "index", run_dir / "index")
    index = run_dir / "index"
    extra = write_jsonl(run_dir / "import.jsonl", corpus(args.import_articles, skip=args.articles))
    qs = queries(corpus(args.articles)[:5000], 300)
    rng = random.Random(SEED)
    paths = []
    for n in range(args.requests):
        q = quote(qs[n % len(qs)])
        paths.append(f"/search?q={q}" if n % 5 == 4 else f"/api/search?q={q}&page={rng.randint(1, 3)}")

    load_before = [round(x, 2) for x in os.getloadavg()]  # other work on the machine skews the numbers
    port = free_port()
    log = open(run_dir / "serve.log", "w")
    server = subprocess.Popen([SEARCHKIT, "--index", str(index), "serve", "--port", str(port),
                               "--threads", str(args.threads)], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=log)
    try:
        wait_for(port, server)
        importer = Importer(index, extra)
        importer.start()
        latencies, errors, elapsed = load(port, paths, args.concurrency)
        importer.stop.set()
        importer.join(600)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("GET", "/healthz")
        health = json.loads(conn.getresponse().read())
        conn.close()
    finally:
        server.terminate()
        server.wait(30)
        log.close()

    result = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "load_average_before": load_before, "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "articles": args.articles, "articles_after": health.get("articles"),
        "requests": len(latencies), "concurrency": args.concurrency, "server_threads": args.threads,
        "seconds": round(elapsed, 2), "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 50), 1), "p90_ms": round(percentile(latencies, 90), 1),
        "p99_ms": round(percentile(latencies, 99), 1), "max_ms": round(max(latencies), 1),
        "mean_ms": round(statistics.fmean(latencies), 1),
        "errors": len(errors), "error_samples": errors[:10],
        "import_runs": importer.runs,
        "import_failures": sum(run["exit"] != 0 for run in importer.runs),
        "mix": "80% /api/search (pages 1-3), 20% /search HTML; 300 queries of 1-3 headline words",
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(result, indent=2) + "\n")
    print(f"load: {result['requests']:,} requests at concurrency {args.concurrency} against {args.articles:,} "
          f"articles while `searchkit import` ran {len(importer.runs)} times ({args.import_articles:,} articles each)")
    print(f"  {result['requests_per_s']} requests/s   p50 {result['p50_ms']} ms   p90 {result['p90_ms']} ms   "
          f"p99 {result['p99_ms']} ms   max {result['max_ms']} ms")
    print(f"  errors: {result['errors']}   import failures: {result['import_failures']}   "
          f"articles after: {result['articles_after']:,} (expected {args.articles + args.import_articles:,})")
    print(f"  machine load average before/after: {load_before[0]} / {result['load_average_after'][0]} "
          f"({os.cpu_count()} CPUs)")
    print(f"  written to {args.results.relative_to(ROOT) if args.results.is_relative_to(ROOT) else args.results}")
    ok = (result["errors"] == 0 and result["import_failures"] == 0
          and result["articles_after"] == args.articles + args.import_articles)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
