"""`make bench-cluster`: a sharded index on a Dask LocalCluster against one index, same run.

    python -m bench.cluster --size 100000 --shards 4 --workers 2 --queries 200 --work bench/work

Imports the same generated corpus (bench/corpus.py) into one index (`searchkit import`, its
own worker processes) and into a sharded index (`searchkit --cluster local:N import`: each
file read and extracted on a worker, checked for duplicates and routed by the importing
process, each shard's batches written on a worker), then runs the same queries
(bench/queries.jsonl, top 10 with snippets, facets and collapse: the web page's
configuration) on one index, on the shards one after another in one process, and on the
shards on the cluster. The scatter-gather overhead per query is the cluster's p50 less the
shards' own work shared among the workers (the one-process p50 over the number of workers);
the round trip of an empty task on every shard is shown beside it. --reuse keeps the indexes
a run before built (to time the queries again). Prints a table and writes
bench/results/cluster-<size>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from . import corpus as corpora
from . import queries as qmod

HERE = Path(__file__).resolve().parent
SEARCHKIT = str(Path(sys.executable).with_name("searchkit"))


def _import(args: list[str], size: int) -> dict:
    """A `searchkit ... import` (it must succeed): its seconds, the CPU seconds of its process
    tree (its build workers, or the LocalCluster it starts: each reaped when it ends) and the
    load average around it. Articles per CPU-second is the figure load does not change much."""
    cpu = _children_cpu()
    load = os.getloadavg()[0]
    started = time.perf_counter()
    subprocess.run([SEARCHKIT, *args], check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    cpu = _children_cpu() - cpu
    return {"import_s": seconds, "import_rate": size / seconds, "import_cpu_s": cpu,
            "import_per_cpu_s": size / cpu if cpu else None, "load": [load, os.getloadavg()[0]]}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _latencies(index, texts: list[str]) -> dict:
    """p50/p99 ms of search() over `texts`, after one warm-up pass (and the load meanwhile)."""
    import searchkit

    load = os.getloadavg()[0]
    for text in texts:
        searchkit.search(index, text)
    times = []
    for text in texts:
        started = time.perf_counter()
        searchkit.search(index, text)
        times.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": statistics.median(times), "p99_ms": _percentile(times, 0.99), "queries": len(times),
            "query_load": [load, os.getloadavg()[0]]}


def _round_trips(runner, sharded, count: int = 200) -> float:
    """Median ms of an empty task on every shard, through the cluster."""
    from searchkit.shards import task_nothing

    times = []
    for _ in range(count):
        started = time.perf_counter()
        runner.map(task_nothing, list(range(sharded.count)))
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def run(size: int, shards: int, workers: int, queries: int, work: Path, reuse: bool = False) -> dict:
    import searchkit
    from searchkit import shards as shardmod
    from searchkit.cluster import connect

    corpus = corpora.ensure_corpus(size, directory=work / "corpora")
    parts = str(corpora.shards(corpus))
    target = work / f"cluster-{size}-{shards}"
    one_path, sharded_path = target / "one", target / "sharded"
    results: dict = {"size": size, "shards": shards, "workers": workers, "cores": os.cpu_count(),
                     "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    imported = target / "imported.json"
    if reuse and imported.exists():
        results.update(json.loads(imported.read_text()))
    else:
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        results["one"] = _import(["--index", str(one_path), "import", parts], size)
        _import(["--index", str(sharded_path), "create", "--shards", str(shards)], size)
        results["cluster"] = _import(["--index", str(sharded_path), "--cluster", f"local:{workers}", "import",
                                      parts], size)
        imported.write_text(json.dumps({"one": results["one"], "cluster": results["cluster"]}))

    texts = [q.text for q in qmod.load(HERE / "queries.jsonl")][:queries]
    one = searchkit.open_index(one_path)
    results["one"].update(_latencies(one, texts))
    sharded = shardmod.open_sharded(sharded_path)
    results["serial"] = _latencies(sharded, texts)
    runner = connect(f"local:{workers}")
    try:
        runner.attach(sharded)
        results["cluster"].update(_latencies(sharded, texts))
        results["round_trip_ms"] = _round_trips(runner, sharded)
        results["worker_rss_mb"] = _worker_memory(runner)
    finally:
        runner.close()
    results["overhead_ms"] = results["cluster"]["p50_ms"] - results["serial"]["p50_ms"] / workers
    results["bytes"] = {"one": _size(one_path), "sharded": _size(sharded_path)}
    return results


def _rss_mb() -> float:
    import psutil  # a dependency of distributed

    return psutil.Process().memory_info().rss / 1e6


def _worker_memory(runner) -> list[float]:
    """Each worker's resident memory (MB) after the queries: its shards open and warm."""
    return sorted(runner.client.run(_rss_mb).values())


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _per_cpu(part: dict) -> str:
    rate = part.get("import_per_cpu_s")
    return f"{rate:,.0f}" if rate else "-"


def _loads(part: dict) -> str:
    return "-".join(f"{x:.1f}" for x in part.get("load", []))


def table(r: dict) -> str:
    one, serial, cluster = r["one"], r["serial"], r["cluster"]
    rows = [
        ("import articles/s", f"{one['import_rate']:,.0f}", "-", f"{cluster['import_rate']:,.0f}"),
        ("import articles/CPU-s", _per_cpu(one), "-", _per_cpu(cluster)),
        ("query p50 ms", f"{one['p50_ms']:.1f}", f"{serial['p50_ms']:.1f}", f"{cluster['p50_ms']:.1f}"),
        ("query p99 ms", f"{one['p99_ms']:.1f}", f"{serial['p99_ms']:.1f}", f"{cluster['p99_ms']:.1f}"),
        ("index MB", f"{r['bytes']['one'] / 1e6:,.0f}", f"{r['bytes']['sharded'] / 1e6:,.0f}",
         f"{r['bytes']['sharded'] / 1e6:,.0f}"),
    ]
    head = ("metric", "one index", f"{r['shards']} shards, 1 process",
            f"{r['shards']} shards, LocalCluster({r['workers']})")
    widths = [max(len(str(row[i])) for row in [head, *rows]) for i in range(4)]
    lines = ["  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(row, widths)))
             for row in [head, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(f"scatter-gather overhead per query: {r['overhead_ms']:.1f} ms (cluster p50 less the one-process "
                 f"p50 / {r['workers']} workers); round trip of an empty task on {r['shards']} shards: "
                 f"{r['round_trip_ms']:.1f} ms (a query of under 6 words makes two: statistics, then the query "
                 "with the first page's snippets)")
    lines.append(f"worker memory after the queries: {', '.join(f'{m:,.0f}' for m in r['worker_rss_mb'])} MB "
                 f"({r['size'] / r['workers']:,.0f} articles' shards each)")
    lines.append(f"{r['size']:,} articles, {r['cores']} cores; queries: {r['one']['queries']} of bench/queries.jsonl, "
                 "top 10 with snippets, facets and collapse")
    lines.append(f"run {r.get('date', '?')}; load average (1 min) at the start and end of each import: one index "
                 f"{_loads(one)}, sharded {_loads(cluster)}; during the queries: "
                 + ", ".join(f"{name} {'-'.join(f'{x:.1f}' for x in r[name].get('query_load', []))}"
                             for name in ("one", "serial", "cluster")))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--work", type=Path, default=HERE / "work")
    parser.add_argument("--reuse", action="store_true", help="keep the indexes of a run before")
    args = parser.parse_args()
    results = run(args.size, args.shards, args.workers, args.queries, args.work, args.reuse)
    out = HERE / "results" / f"cluster-{args.size}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))


if __name__ == "__main__":
    main()
