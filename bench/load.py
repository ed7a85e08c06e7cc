"""Loopback load test: `searchkit serve` on an index of >= 50,000 articles answering a bounded
number of requests at a fixed concurrency while `searchkit import` writes into the same index.

    python -m bench.load                  # 5,000 requests, concurrency 8, 50,000 articles
    python -m bench.load --requests 500   # a quick look
    python -m bench.load --articles 100000 --seconds 60 --expensive 0.1   # issue 20's run

With --expensive F, that share of the requests are expensive (wildcards, fuzzy words, long OR
queries) and the report gives requests/s, p50 and p99 for the cheap and the expensive ones
apart, and the cheap ones' timeouts (no answer within --timeout seconds).

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
from dataclasses import dataclass
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


def expensive_queries(cheap: list[str], count: int, seed: int = SEED) -> list[str]:
    """`count` expensive queries made of the corpus's words: a prefix (3 letters then *), a
    wildcard inside a word, a fuzzy word (~2), or 15-25 words OR'ed, in turn."""
    rng = random.Random(seed + 1)
    words = sorted({w for q in cheap for w in q.split() if len(w) > 4})
    out = []
    for n in range(count):
        word = rng.choice(words)
        kind = n % 4
        if kind == 0:
            out.append(word[:3] + "*")
        elif kind == 1:
            out.append(word[:2] + "*" + word[-2:])
        elif kind == 2:
            out.append(word + "~2")
        else:
            out.append(" OR ".join(rng.sample(words, rng.randint(15, 25))))
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


@dataclass
class Outcome:
    """One request: its kind ("cheap" or "expensive"), latency, and what went wrong if anything."""

    kind: str
    ms: float
    failure: str = ""
    timed_out: bool = False  # no answer within the client's timeout
    cut: bool = False  # answered, but the server's time budget cut the search ("timed_out": true)


def load(port: int, paths: list[tuple[str, str]], concurrency: int, seconds: float | None = None,
         timeout: float = 60) -> tuple[list[Outcome], float]:
    """Send the (kind, path) pairs `concurrency` at a time: each once, or round and round for
    `seconds`; (outcomes, elapsed seconds)."""
    outcomes: list[Outcome] = []
    counter = iter(range(10**12))
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds if seconds else None

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            while True:
                with lock:
                    n = next(counter)
                if (stop_at is None and n >= len(paths)) or (stop_at is not None and time.perf_counter() >= stop_at):
                    return
                kind, path = paths[n % len(paths)]
                started = time.perf_counter()
                timed_out = cut = False
                try:
                    conn.request("GET", path)
                    response = conn.getresponse()
                    body = response.read()
                    ok = response.status == 200 and b"Traceback" not in body
                    failure = "" if ok else f"{response.status} {path}"
                    cut = path.startswith("/api/") and ok and json.loads(body).get("timed_out") is True
                except (OSError, http.client.HTTPException) as exc:
                    timed_out = isinstance(exc, TimeoutError)
                    failure = f"{type(exc).__name__}: {exc} ({path})"
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    outcomes.append(Outcome(kind, elapsed, failure, timed_out, cut))
                    if len(outcomes) % 250 == 0:
                        print(f"  {len(outcomes):,} requests, {sum(bool(o.failure) for o in outcomes)} errors",
                              flush=True)
        finally:
            conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes, time.perf_counter() - started


def summary(outcomes: list[Outcome], elapsed: float) -> dict:
    """requests/s, latency percentiles and failures of some outcomes."""
    ms = [o.ms for o in outcomes] or [0.0]
    return {"requests": len(outcomes), "requests_per_s": round(len(outcomes) / elapsed, 1),
            "p50_ms": round(percentile(ms, 50), 1), "p90_ms": round(percentile(ms, 90), 1),
            "p99_ms": round(percentile(ms, 99), 1), "max_ms": round(max(ms), 1),
            "mean_ms": round(statistics.fmean(ms), 1), "errors": sum(bool(o.failure) for o in outcomes),
            "timeouts": sum(o.timed_out for o in outcomes), "cut_by_time_budget": sum(o.cut for o in outcomes)}


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
    parser.add_argument("--seconds", type=float, default=None,
                        help="send requests round and round for this long (instead of --requests once each)")
    parser.add_argument("--expensive", type=float, default=0.0,
                        help="share of expensive requests (wildcards, fuzzy, long OR), e.g. 0.1")
    parser.add_argument("--timeout", type=float, default=60.0, help="client timeout per request, seconds")
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
    qs = queries(corpus(min(args.articles, 5000)), 300)
    slow = expensive_queries(qs, 100)
    rng = random.Random(SEED)
    paths: list[tuple[str, str]] = []
    every = round(1 / args.expensive) if args.expensive else 0
    for n in range(args.requests):
        if every and n % every == every - 1:
            q = quote(slow[n % len(slow)])
            paths.append(("expensive", f"/search?q={q}" if n % 2 else f"/api/search?q={q}"))
            continue
        q = quote(qs[n % len(qs)])
        paths.append(("cheap", f"/search?q={q}" if n % 5 == 4 else f"/api/search?q={q}&page={rng.randint(1, 3)}"))

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
        outcomes, elapsed = load(port, paths, args.concurrency, args.seconds, args.timeout)
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
        "concurrency": args.concurrency, "server_threads": args.threads, "seconds": round(elapsed, 2),
        **summary(outcomes, elapsed),
        "error_samples": [o.failure for o in outcomes if o.failure][:10],
        "expensive_share": args.expensive,
        "cheap": summary([o for o in outcomes if o.kind == "cheap"], elapsed),
        "expensive": summary([o for o in outcomes if o.kind == "expensive"], elapsed),
        "import_runs": importer.runs,
        "import_failures": sum(run["exit"] != 0 for run in importer.runs),
        "mix": "cheap: 80% /api/search (pages 1-3), 20% /search HTML, 300 queries of 1-3 headline words; "
               "expensive (--expensive share): prefix*, wi*ld, word~2, 15-25 words OR'ed, half /search",
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(result, indent=2) + "\n")
    print(f"load: {result['requests']:,} requests at concurrency {args.concurrency} against {args.articles:,} "
          f"articles while `searchkit import` ran {len(importer.runs)} times ({args.import_articles:,} articles each)")
    for kind in ("cheap", "expensive") if args.expensive else ():
        part = result[kind]
        print(f"  {kind:9} {part['requests']:,} requests, {part['requests_per_s']}/s   p50 {part['p50_ms']} ms   "
              f"p99 {part['p99_ms']} ms   max {part['max_ms']} ms   errors {part['errors']}   "
              f"timeouts {part['timeouts']}   cut by the time budget {part['cut_by_time_budget']}")
    print(f"  {result['requests_per_s']} requests/s   p50 {result['p50_ms']} ms   p90 {result['p90_ms']} ms   "
          f"p99 {result['p99_ms']} ms   max {result['max_ms']} ms")
    print(f"  errors: {result['errors']}   import failures: {result['import_failures']}   "
          f"articles after: {result['articles_after']:,} (expected {args.articles + args.import_articles:,})")
    print(f"  machine load average before/after: {load_before[0]} / {result['load_average_after'][0]} "
          f"({os.cpu_count()} CPUs)")
    print(f"  written to {args.results.relative_to(ROOT) if args.results.is_relative_to(ROOT) else args.results}")
    ok = (result["errors"] == 0 and result["import_failures"] == 0
          and (not args.expensive or (result["cheap"]["timeouts"] == 0 and result["cheap"]["p99_ms"] <= 1000))
          and result["articles_after"] == args.articles + args.import_articles)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
