"""`make bench`: every engine on the same articles and queries, one table, one JSON per corpus.

    python -m bench.run --sizes sample,10000,30000,100000,1000000

For each corpus: build each engine's index with all cores (and with one process on a prefix),
measure size, peak RSS and peak temporary disk; answer the query file warm (top 10 with
snippets); time `searchkit query` from process start to first printed result (and the
same for each peer as a small script); time /search on a real `searchkit serve`.
Results go to bench/results/<corpus>.json with the machine's CPU, cores and Python.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

from . import corpus as corpora
from . import queries as qmod
from .engines import BUILD_AS
from .report import print_tables

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
WORK = HERE / "work"
PEERS = ("fts5-and", "fts5-or", "tantivy", "whoosh")
ALL_ENGINES = ("searchkit", "searchkit-lean") + PEERS
# Engines whose build has no parallel mode of its own: their one-process figure is the build.
SINGLE_ONLY = ("fts5", "whoosh")


def machine() -> dict:
    model = ""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as handle:
            mem_gib = int(handle.readline().split()[1]) / 1024 / 1024
    except (OSError, ValueError, IndexError):
        mem_gib = 0.0
    import sqlite3

    versions = {"sqlite": sqlite3.sqlite_version}
    for name in ("whoosh", "tantivy"):
        try:
            from importlib.metadata import version

            versions[name] = version("whoosh-reloaded" if name == "whoosh" else name)
        except Exception:  # a peer not installed: reported as missing
            versions[name] = "missing"
    return {"cpu": model, "cores": os.cpu_count(), "memory_gib": round(mem_gib, 1),
            "loadavg_at_start": os.getloadavg()[0],
            "python": platform.python_version(), "platform": platform.platform(), "versions": versions}


def worker(*args: str, timeout: float | None = None) -> dict:
    """Run bench.worker in a fresh process; its last stdout line is the JSON result."""
    done = subprocess.run([sys.executable, "-m", "bench.worker", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=HERE.parent)
    if done.returncode != 0:
        raise RuntimeError(f"bench.worker {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def prefix_file(source: Path, count: int, target: Path) -> Path:
    """The first `count` articles of a corpus in a file of their own (one-process import)."""
    shutil.rmtree(target.parent / (target.name.split(".")[0] + ".parts"), ignore_errors=True)
    with open(target, "w", encoding="utf-8") as out:
        for record in corpora.read_records(source, count):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return target


def searchkit_bin() -> str:
    return str(Path(sys.executable).with_name("searchkit"))


def cold_start_searchkit(directory: Path, texts: list[str]) -> list[float]:
    """ms from starting `searchkit query` to its first line of output, one run per text."""
    times = []
    for text in texts:
        started = time.perf_counter()
        proc = subprocess.Popen([searchkit_bin(), "--index", str(directory), "query", text, "--limit", "10"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert proc.stdout is not None
        proc.stdout.readline()
        times.append((time.perf_counter() - started) * 1000)
        proc.stdout.close()
        proc.wait()
    return times


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def web_latency(directory: Path, queries: list[qmod.Query], count: int) -> dict:
    """Latency of /search on a real `searchkit serve` on loopback (warm, one client)."""
    port = _free_port()
    server = subprocess.Popen([searchkit_bin(), "--index", str(directory), "serve", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
                    response.read()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("searchkit serve did not start")
                time.sleep(0.2)
        urls = []
        for q in queries[:count]:
            params = {"q": q.text, "sort": q.sort}
            for key in ("since", "until", "source"):
                if getattr(q, key):
                    params[key] = getattr(q, key)
            urls.append(base + "/search?" + urllib.parse.urlencode(params))
        for url in urls[:20]:  # warm
            with urllib.request.urlopen(url, timeout=60) as response:
                response.read()
        times = []
        for url in urls:
            started = time.perf_counter()
            with urllib.request.urlopen(url, timeout=60) as response:
                response.read()
            times.append((time.perf_counter() - started) * 1000)
    finally:
        server.terminate()
        server.wait(timeout=30)
    from .worker import percentile

    return {"requests": len(times), "p50_ms": percentile(times, 50), "p95_ms": percentile(times, 95),
            "p99_ms": percentile(times, 99)}


def corpus_for(label: str, work: Path = WORK) -> tuple[Path, Path]:
    """(corpus file, query file) for a size label ("sample" = BBC news-sample, or a file)."""
    if label.endswith((".jsonl", ".jsonl.gz")):
        qpath = work / "queries.jsonl"
        qmod.write(qmod.draw(list(corpora.read_records(Path(label)))), qpath)
        return Path(label), qpath
    if label == "sample":
        path = corpora.sample_corpus()
        qpath = HERE / "queries-bbc.jsonl"
        if not qpath.exists():
            qmod.write(qmod.draw(list(corpora.read_records(path))), qpath)
        return path, qpath
    return corpora.ensure_corpus(int(label)), HERE / "queries.jsonl"


def run_corpus(label: str, engines: list[str], single_docs: int, cold_runs: int, web_queries: int,
               whoosh_max: int, work: Path, save=lambda result: None) -> dict:
    """Every engine on one corpus; `save` gets the result so far after each engine (a long
    run that is stopped still leaves what it measured)."""
    work.mkdir(parents=True, exist_ok=True)
    path, qpath = corpus_for(label, work)
    queries = qmod.load(qpath)
    size = sum(1 for _ in corpora.read_records(path))
    if size > whoosh_max:
        engines = [e for e in engines if e != "whoosh"]
    cores = os.cpu_count() or 1
    out: dict = {"corpus": label, "file": path.name, "articles": size, "queries": len(queries),
                 "query_file": qpath.name, "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                 "machine": machine(), "engines": {}}
    built: dict[str, dict] = {}
    prefix = prefix_file(path, min(single_docs, size), work / "prefix.jsonl")
    corpora.shards(path)  # split once, before any import is timed
    for name in engines:
        store = BUILD_AS.get(name, name)
        entry = out["engines"].setdefault(name, {})
        directory = work / f"{Path(label).name}-{store}"
        if store not in built:
            print(f"[{label}] building {store} ({size} articles) ...", flush=True)
            procs = 1 if store in SINGLE_ONLY else cores
            built[store] = {"all": worker("build", name, str(path), str(directory), "--procs", str(procs))}
            if store in SINGLE_ONLY:
                # No parallel mode: the one-process rate is the build's rate.
                built[store]["single"] = dict(built[store]["all"])
            else:
                built[store]["single"] = worker("build", name, str(prefix), str(work / "single"), "--procs", "1")
                shutil.rmtree(work / "single", ignore_errors=True)
        entry["import"] = built[store]["all"]
        entry["import_1proc"] = built[store]["single"]
        print(f"[{label}] querying {name} ...", flush=True)
        served = worker("serve", name, str(directory), str(qpath))
        entry["results"] = served.pop("results")
        entry["serve"] = served
        texts = [q.text for q in queries if q.kind == "words2"][:cold_runs]
        if name == "searchkit":
            times = cold_start_searchkit(directory, texts)
            entry["web"] = web_latency(directory, queries, web_queries)
        else:
            times = [worker("cold", name, str(directory), t)["ms"] for t in texts]
        entry["cold_start_ms"] = statistics.median(times)
        out["loadavg_max"] = max(out.get("loadavg_max", 0.0), os.getloadavg()[0])
        save(out)
    prefix.unlink(missing_ok=True)
    shutil.rmtree(work / "prefix.parts", ignore_errors=True)
    return out


def result_name(label: str) -> str:
    if label == "sample":
        return "bbc-sample"
    if label.isdigit():
        return f"reuters-{label}"
    return Path(label).name.split(".")[0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="sample,10000,30000,100000,1000000",
                        help="comma-separated corpus sizes; 'sample' is the real BBC news-sample")
    parser.add_argument("--engines", default=",".join(ALL_ENGINES))
    parser.add_argument("--single-docs", type=int, default=10_000,
                        help="one-process import rate measured on this many articles")
    parser.add_argument("--cold-runs", type=int, default=10)
    parser.add_argument("--web-queries", type=int, default=100)
    parser.add_argument("--whoosh-max", type=int, default=100_000,
                        help="skip raw Whoosh above this size (it imports ~200 articles/s)")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--work", type=Path, default=WORK, help="where indexes are built")
    parser.add_argument("--keep", action="store_true", help="keep the indexes after the run")
    args = parser.parse_args(argv)
    engines = [e for e in args.engines.split(",") if e]
    args.results.mkdir(parents=True, exist_ok=True)
    written = []
    for label in [s for s in args.sizes.split(",") if s]:
        target = args.results / f"{result_name(label)}.json"

        def save(result: dict, target: Path = target) -> None:
            target.write_text(json.dumps(result, indent=1) + "\n", "utf-8")

        result = run_corpus(label, engines, args.single_docs, args.cold_runs, args.web_queries,
                            args.whoosh_max, args.work, save)
        save(result)
        written.append(target)
        print_tables([result])
        if not args.keep:
            for entry in args.work.glob(f"{Path(label).name}-*"):
                shutil.rmtree(entry, ignore_errors=True)
    print("results:", ", ".join(str(p) for p in written))


if __name__ == "__main__":
    main()
