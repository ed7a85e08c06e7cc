"""One measurement in a fresh process, printed as one JSON line (run.py starts these).

    python -m bench.worker build ENGINE CORPUS DIR --procs N   import: seconds, peak RSS, temp disk
    python -m bench.worker serve ENGINE DIR QUERIES            warm top-10 latency with snippets
    python -m bench.worker cold ENGINE DIR TEXT                process start -> first result printed

A fresh process per measurement keeps peak RSS honest (VmHWM, plus child processes sampled
from /proc while an import runs).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import threading
import time
from pathlib import Path

STARTED = time.perf_counter()


def _rss_kb(pid: int | str) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    found = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as handle:
                found += [int(c) for c in handle.read().split()]
    except OSError:
        pass
    return found


def peak_hwm_kb() -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class Sampler(threading.Thread):
    """Samples the RSS of this process tree and the bytes under a directory, keeping maxima."""

    def __init__(self, directory: Path, every: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.directory, self.every = directory, every
        self.peak_rss_kb = self.peak_disk = 0
        self.done = threading.Event()

    def run(self) -> None:
        from .engines import dir_bytes

        n = 0
        while not self.done.is_set():
            pids = [os.getpid()]
            for pid in list(pids):
                pids += _children(pid)
            pids += [c for p in pids[1:] for c in _children(p)]
            self.peak_rss_kb = max(self.peak_rss_kb, sum(_rss_kb(p) for p in set(pids)))
            if n % 4 == 0 and self.directory.exists():
                self.peak_disk = max(self.peak_disk, dir_bytes(self.directory))
            n += 1
            self.done.wait(self.every)


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (MpWriter workers).

    The machine may be shared: CPU time per article is the figure that other work cannot
    inflate much, where wall time can grow without bound."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def build(engine_name: str, corpus: Path, directory: Path, procs: int) -> dict:
    from .engines import dir_bytes, make

    if directory.exists():
        shutil.rmtree(directory)
    engine = make(engine_name)
    sampler = Sampler(directory)
    sampler.start()
    started, cpu_started = time.perf_counter(), cpu_seconds()
    count = engine.build(corpus, directory, procs)
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu_started
    sampler.done.set()
    sampler.join()
    size = dir_bytes(directory)
    return {"engine": engine_name, "docs": count, "procs": procs, "seconds": seconds,
            "docs_per_s": count / seconds, "cpu_seconds": cpu, "docs_per_cpu_s": count / cpu,
            "bytes": size,
            "peak_rss_mb": max(sampler.peak_rss_kb, peak_hwm_kb()) / 1024,
            "peak_disk_bytes": max(sampler.peak_disk, size)}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def serve(engine_name: str, directory: Path, queries_path: Path, warmup: int) -> dict:
    from .engines import make
    from .queries import load

    queries = load(queries_path)
    engine = make(engine_name)
    engine.open(directory)
    errors: list[str] = []

    def answer(q) -> list[tuple[str, str]]:
        try:
            return engine.search(q)
        except Exception as exc:  # an engine's bug is a finding to report, not the end of the run
            errors.append(f"{q.qid} {q.text!r}: {type(exc).__name__}: {exc}")
            return []

    for q in queries[:warmup]:
        answer(q)
    errors.clear()
    latencies: dict[str, float] = {}
    cpu_ms: list[float] = []
    results: dict[str, list[str]] = {}
    snippets = 0
    for q in queries:
        started, cpu_started = time.perf_counter(), time.process_time()
        hits = answer(q)
        latencies[q.qid] = (time.perf_counter() - started) * 1000
        cpu_ms.append((time.process_time() - cpu_started) * 1000)
        results[q.qid] = [doc_id for doc_id, _ in hits]
        snippets += sum(1 for _, s in hits if s)
    engine.close()
    values = list(latencies.values())
    by_kind: dict[str, list[float]] = {}
    for q in queries:
        by_kind.setdefault(q.kind, []).append(latencies[q.qid])
    return {"engine": engine_name, "queries": len(queries),
            "p50_ms": percentile(values, 50), "p95_ms": percentile(values, 95),
            "p99_ms": percentile(values, 99), "mean_ms": sum(values) / len(values),
            "cpu_p50_ms": percentile(cpu_ms, 50), "cpu_p95_ms": percentile(cpu_ms, 95),
            "cpu_p99_ms": percentile(cpu_ms, 99),
            "p50_by_kind_ms": {k: percentile(v, 50) for k, v in by_kind.items()},
            "answered": sum(1 for ids in results.values() if ids), "snippets": snippets,
            "errors": len(errors), "error_examples": errors[:5],
            "peak_rss_mb": peak_hwm_kb() / 1024, "results": results}


def cold(engine_name: str, directory: Path, text: str) -> dict:
    """A peer's cold start: import, open, one query, print the first result."""
    from .engines import make
    from .queries import Query

    engine = make(engine_name)
    engine.open(directory)
    hits = engine.search(Query("cold", "words", text.split()))
    print(hits[0][0] if hits else "", flush=True)
    return {"engine": engine_name, "ms": (time.perf_counter() - STARTED) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("engine"), b.add_argument("corpus", type=Path), b.add_argument("dir", type=Path)
    b.add_argument("--procs", type=int, default=1)
    s = sub.add_parser("serve")
    s.add_argument("engine"), s.add_argument("dir", type=Path), s.add_argument("queries", type=Path)
    s.add_argument("--warmup", type=int, default=50)
    c = sub.add_parser("cold")
    c.add_argument("engine"), c.add_argument("dir", type=Path), c.add_argument("text")
    args = parser.parse_args()
    if args.cmd == "build":
        out = build(args.engine, args.corpus, args.dir, args.procs)
    elif args.cmd == "serve":
        out = serve(args.engine, args.dir, args.queries, args.warmup)
    else:
        out = cold(args.engine, args.dir, args.text)
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
