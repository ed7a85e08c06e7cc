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
import gzip
import hashlib
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
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


class WorkerFailed(RuntimeError):
    """A measurement that failed or ran past its time limit (the run goes on without it)."""


def worker(*args: str, timeout: float | None = None) -> dict:
    """Run bench.worker in a fresh process; its last stdout line is the JSON result.

    The worker gets a session of its own, so a timeout kills it *and* its children (Whoosh's
    MpWriter processes), and nothing is left writing into the work directory."""
    proc = subprocess.Popen([sys.executable, "-m", "bench.worker", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=HERE.parent, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()
        raise WorkerFailed(f"bench.worker {' '.join(args)} ran past --worker-timeout {timeout:g} s")
    if proc.returncode != 0:
        raise WorkerFailed(f"bench.worker {' '.join(args)} failed (exit {proc.returncode}):\n{stderr[-3000:]}")
    lines = stdout.strip().splitlines()
    if not lines:
        raise WorkerFailed(f"bench.worker {' '.join(args)} printed no result:\n{stderr[-3000:]}")
    return json.loads(lines[-1])


def prefix_file(source: Path, count: int, target: Path) -> Path:
    """The first `count` articles of a corpus in a file of their own (one-process import)."""
    shutil.rmtree(target.parent / (target.name.split(".")[0] + ".parts"), ignore_errors=True)
    with open(target, "w", encoding="utf-8") as out:
        for record in corpora.read_records(source, count):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return target


def searchkit_bin() -> str:
    return str(Path(sys.executable).with_name("searchkit"))


def ensure_bytecode() -> None:
    """Compile searchkit's and the bench's modules to bytecode before cold starts are timed,
    as `pip install` does for an installed package. Where PYTHONDONTWRITEBYTECODE is set (as
    on the shared build machine) an editable install would otherwise compile every module
    from source in every run (~130 ms of CPU for searchkit's ~60 modules), a cost no installed
    searchkit has; a peer's cold start runs bench.worker, so the bench is compiled too."""
    import importlib.util

    folders = [str(Path(__file__).parent)]
    spec = importlib.util.find_spec("searchkit")
    if spec is not None and spec.submodule_search_locations:
        folders += list(spec.submodule_search_locations)
    subprocess.run([sys.executable, "-m", "compileall", "-q", *folders], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def cold_start_searchkit(directory: Path, texts: list[str]) -> list[float]:
    """ms from starting `searchkit query` to its first line of output, one run per text."""
    ensure_bytecode()
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
    log = tempfile.TemporaryFile()  # the server's stderr: its last lines go into a failure's message
    server = subprocess.Popen([searchkit_bin(), "--index", str(directory), "serve", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        return _web_requests(server, base, queries, count)
    except (OSError, RuntimeError) as exc:
        log.seek(0)
        tail = log.read().decode("utf-8", "replace").strip().splitlines()[-5:]
        raise RuntimeError(f"{type(exc).__name__}: {exc}; searchkit serve "
                           f"{'exited ' + str(server.poll()) if server.poll() is not None else 'still running'}"
                           f"; its stderr ended: {' | '.join(tail) or '(nothing)'}") from exc
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _web_requests(server: subprocess.Popen, base: str, queries: list[qmod.Query], count: int) -> dict:
    """The timed /search requests against a started server (see web_latency)."""
    deadline = time.monotonic() + 300  # opening a 1M-article index can take a while
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
    from .worker import percentile

    return {"requests": len(times), "p50_ms": percentile(times, 50), "p95_ms": percentile(times, 95),
            "p99_ms": percentile(times, 99)}


def corpus_for(label: str, work: Path = WORK) -> tuple[Path, Path]:
    """(corpus file, query file) for a size label ("sample" = BBC news-sample, or a file).

    Generated corpora are cached in WORK/corpora by size and seed, so a work directory shared
    by several checkouts (`--work /work/bench-work`) generates each size once."""
    cache = work / "corpora"
    if label.endswith((".jsonl", ".jsonl.gz")):
        qpath = work / "queries.jsonl"
        qmod.write(qmod.draw(list(corpora.read_records(Path(label)))), qpath)
        return Path(label), qpath
    if label == "sample":
        path = corpora.sample_corpus(directory=cache)
        qpath = HERE / "queries-bbc.jsonl"
        if not qpath.exists():
            qmod.write(qmod.draw(list(corpora.read_records(path))), qpath)
        return path, qpath
    return corpora.ensure_corpus(int(label), directory=cache), HERE / "queries.jsonl"


def count_records(path: Path) -> int:
    """Lines in a JSON-lines file (gzip or not), without parsing them (1M articles: seconds)."""
    opener = gzip.open if str(path).endswith(".gz") else open
    count, last = 0, b"\n"
    with opener(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


def file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def git_commit() -> str:
    """The checkout's commit, "+dirty" when searchkit/ or bench/ has uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE.parent, text=True,
                              capture_output=True, timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "searchkit", "bench"], cwd=HERE.parent,
                               text=True, capture_output=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return head + ("+dirty" if dirty else "") if head else ""


def complete(name: str, entry: dict | None) -> bool:
    """Every figure of this engine measured (a failed or half-done engine is not)."""
    if not entry or "failed" in entry:
        return False
    needed = ["import", "import_1proc", "serve", "cold_start_ms"] + (["web"] if name == "searchkit" else [])
    return all(key in entry for key in needed)


def reusable(name: str, previous: dict | None, out: dict, same_day: bool) -> dict | None:
    """`name`'s entry from an earlier result when it measured the same thing: same corpus file,
    same query file (by content), same CPU, cores and peer versions; searchkit's entries also
    need the same commit, peers' need to be from the same UTC day when `same_day`."""
    if not previous:
        return None
    keys = ("articles", "file", "query_sha")
    if any(previous.get(k) != out[k] for k in keys):
        return None
    pm, m = previous.get("machine", {}), out["machine"]
    if any(pm.get(k) != m[k] for k in ("cpu", "cores", "versions")):
        return None
    entry = previous.get("engines", {}).get(name)
    if not complete(name, entry):
        return None
    assert entry is not None
    if name.startswith("searchkit") and (not out["commit"] or "+dirty" in out["commit"]
                                         or previous.get("commit") != out["commit"]):
        return None
    measured = entry.get("measured") or previous.get("date", "")
    if same_day and measured[:10] != out["date"][:10]:
        return None
    return entry


def _load(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


def run_corpus(label: str, engines: list[str], single_docs: int, cold_runs: int, web_queries: int,
               whoosh_max: int, work: Path, save=lambda result: None, previous: dict | None = None,
               peers_from: dict | None = None, worker_timeout: float | None = None,
               keep: bool = False) -> dict:
    """Every engine on one corpus; `save` gets the result so far after each engine (a long
    run that is stopped still leaves what it measured).

    `previous` (--resume): this corpus's earlier result file; its complete entries for the
    same corpus, queries, machine (and commit, for searchkit) are kept instead of measured
    again. `peers_from` (--reuse-peers): another run's result for this corpus; its peers'
    entries from the same day are copied. Either way the entry says so ("reused"), and the
    table prints it. A failed measurement is recorded ("failed") and the run goes on."""
    work.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    path, qpath = corpus_for(label, work)
    timings["corpus"] = time.perf_counter() - clock
    queries = qmod.load(qpath)
    clock = time.perf_counter()
    size = count_records(path)
    timings["count"] = time.perf_counter() - clock
    cores = os.cpu_count() or 1
    out: dict = {"corpus": label, "file": path.name, "articles": size, "queries": len(queries),
                 "query_file": qpath.name, "query_sha": file_sha(qpath),
                 "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                 "commit": git_commit(), "machine": machine(),
                 "disk_free_gb_at_start": round(shutil.disk_usage(work).free / 1e9, 1),
                 "engines": {}, "skipped": {}, "phase_seconds": timings}
    if size > whoosh_max and "whoosh" in engines:
        engines = [e for e in engines if e != "whoosh"]
        out["skipped"]["whoosh"] = (f"not run: {size:,} articles is above --whoosh-max {whoosh_max:,} "
                                    "(raw Whoosh imports ~200 articles/s)")
    reused: dict[str, dict] = {}
    for name in engines:
        for source, why, same_day in ((previous, "--resume", False), (peers_from, "--reuse-peers", True)):
            if why == "--reuse-peers" and name.startswith("searchkit"):
                continue
            entry = reusable(name, source, out, same_day)
            if entry is not None:
                entry = json.loads(json.dumps(entry))
                first = entry.get("reused") or {}
                entry["reused"] = {"by": why, "measured": first.get("measured") or entry.get("measured")
                                   or source["date"], "from": first.get("from") or source.get("_path", "")}
                reused[name] = entry
                break
    to_measure = [e for e in engines if e not in reused]
    prefix = None
    if to_measure:
        clock = time.perf_counter()
        prefix = prefix_file(path, min(single_docs, size), work / "prefix.jsonl")
        timings["prefix"] = time.perf_counter() - clock
        if any(BUILD_AS.get(e, e) == "searchkit" for e in to_measure):
            clock = time.perf_counter()
            corpora.shards(path)  # split once (cached beside the corpus), before any import is timed
            timings["shards"] = time.perf_counter() - clock
    built: dict[str, dict] = {}
    for position, name in enumerate(engines):
        if name in reused:
            out["engines"][name] = reused[name]
            print(f"[{label}] {name}: reused ({reused[name]['reused']['by']}, measured "
                  f"{reused[name]['reused']['measured']})", flush=True)
            save(out)
            continue
        store = BUILD_AS.get(name, name)
        entry = out["engines"].setdefault(name, {})
        entry["measured"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        phases = entry.setdefault("phase_seconds", {})
        directory = work / f"{Path(label).name}-{store}"
        try:
            if store not in built:
                built[store] = {}
                print(f"[{label}] building {store} ({size:,} articles) ...", flush=True)
                procs = 1 if store in SINGLE_ONLY else cores
                clock = time.perf_counter()
                built[store]["all"] = worker("build", name, str(path), str(directory), "--procs", str(procs),
                                             timeout=worker_timeout)
                phases["build"] = time.perf_counter() - clock
                if store in SINGLE_ONLY:
                    # No parallel mode: the one-process rate is the build's rate.
                    built[store]["single"] = dict(built[store]["all"])
                else:
                    assert prefix is not None
                    clock = time.perf_counter()
                    try:
                        built[store]["single"] = worker("build", name, str(prefix), str(work / "single"),
                                                        "--procs", "1", timeout=worker_timeout)
                    finally:
                        shutil.rmtree(work / "single", ignore_errors=True)
                    phases["build_1proc"] = time.perf_counter() - clock
            if "all" not in built[store] or "single" not in built[store]:
                raise WorkerFailed(f"the {store} build failed (see the first engine that uses it)")
            entry["import"] = built[store]["all"]
            entry["import_1proc"] = built[store]["single"]
            print(f"[{label}] querying {name} ...", flush=True)
            clock = time.perf_counter()
            served = worker("serve", name, str(directory), str(qpath), timeout=worker_timeout)
            phases["serve"] = time.perf_counter() - clock
            entry["results"] = served.pop("results")
            entry["serve"] = served
            texts = [q.text for q in queries if q.kind == "words2"][:cold_runs]
            clock = time.perf_counter()
            if name == "searchkit":
                times = cold_start_searchkit(directory, texts)
                phases["cold"] = time.perf_counter() - clock
                clock = time.perf_counter()
                entry["web"] = web_latency(directory, queries, web_queries)
                phases["web"] = time.perf_counter() - clock
            else:
                ensure_bytecode()
                times = [worker("cold", name, str(directory), t, timeout=worker_timeout)["ms"] for t in texts]
                phases["cold"] = time.perf_counter() - clock
            entry["cold_start_ms"] = statistics.median(times)
        except Exception as exc:  # one engine's failure must not lose the others' figures
            entry["failed"] = f"{type(exc).__name__}: {exc}"[-3000:]
            print(f"[{label}] {name} FAILED: {entry['failed']}", file=sys.stderr, flush=True)
        print(f"[{label}] {name}: " + ", ".join(f"{k} {v:.0f} s" for k, v in phases.items()), flush=True)
        if not keep and all(BUILD_AS.get(e, e) != store for e in engines[position + 1:]):
            shutil.rmtree(directory, ignore_errors=True)  # 1M indexes are gigabytes: free them early
        out["loadavg_max"] = max(out.get("loadavg_max", 0.0), os.getloadavg()[0])
        out["disk_free_gb_min"] = min(out.get("disk_free_gb_min", 1e9),
                                      round(shutil.disk_usage(work).free / 1e9, 1))
        save(out)
    if prefix is not None:
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
    parser.add_argument("--work", type=Path, default=WORK,
                        help="where indexes are built and generated corpora cached (WORK/corpora); "
                             "share one between checkouts to generate each size once")
    parser.add_argument("--keep", action="store_true", help="keep the indexes after the run")
    parser.add_argument("--resume", action="store_true",
                        help="keep the complete engine entries already in --results for the same "
                             "corpus, queries and machine (searchkit's: same commit) instead of "
                             "measuring them again, e.g. after a run that failed at 1M")
    parser.add_argument("--reuse-peers", type=Path, default=None, metavar="DIR",
                        help="copy the peers' entries from another run's results in DIR when they "
                             "were measured today on the same corpus, queries and machine; labelled "
                             "'reused' in the table. Default: every peer is measured in this run")
    parser.add_argument("--worker-timeout", type=float, default=4 * 3600,
                        help="seconds one measurement (an import, the query run) may take before "
                             "it is killed and recorded as failed (0: no limit)")
    args = parser.parse_args(argv)
    engines = [e for e in args.engines.split(",") if e]
    unknown = [e for e in engines if e not in ALL_ENGINES]
    if unknown:
        parser.error(f"unknown engine(s) {', '.join(unknown)}; known: {', '.join(ALL_ENGINES)}")
    args.results.mkdir(parents=True, exist_ok=True)
    written, failed = [], []
    for label in [s for s in args.sizes.split(",") if s]:
        target = args.results / f"{result_name(label)}.json"

        def save(result: dict, target: Path = target) -> None:
            tmp = target.with_name(target.name + ".tmp")
            tmp.write_text(json.dumps(result, indent=1) + "\n", "utf-8")
            tmp.replace(target)  # a run killed while saving leaves the previous file whole

        def earlier(path: Path) -> dict | None:
            found = _load(path)
            if found is not None:
                found["_path"] = str(path)
            return found

        previous = earlier(target) if args.resume else None
        peers_from = earlier(args.reuse_peers / target.name) if args.reuse_peers else None
        started = time.perf_counter()
        result = run_corpus(label, engines, args.single_docs, args.cold_runs, args.web_queries,
                            args.whoosh_max, args.work, save, previous=previous, peers_from=peers_from,
                            worker_timeout=args.worker_timeout or None, keep=args.keep)
        result["phase_seconds"]["total"] = time.perf_counter() - started
        save(result)
        written.append(target)
        failed += [f"{label} {name}" for name, e in result["engines"].items() if "failed" in e]
        print_tables([result])
        if not args.keep:
            for entry in args.work.glob(f"{Path(label).name}-*"):
                shutil.rmtree(entry, ignore_errors=True)
    print("results:", ", ".join(str(p) for p in written))
    if failed:
        raise SystemExit(f"bench: failed measurements (recorded in the results, the rest ran): {', '.join(failed)}")


if __name__ == "__main__":
    main()
