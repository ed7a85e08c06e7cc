"""Tables, growth exponents and the chart from bench/results/*.json.

    python -m bench.report            print every corpus's table and the growth table
    python -m bench.report --chart docs/bench-latency.png
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
ENGINE_ORDER = ("searchkit", "searchkit-lean", "fts5-and", "fts5-or", "tantivy", "whoosh")

# (label, how to read it from an engine's entry, lower is better?)
METRICS = [
    ("import articles/s, all cores", lambda e: e["import"]["docs_per_s"], False),
    ("import articles/s, 1 process", lambda e: e["import_1proc"]["docs_per_s"], False),
    ("import articles per CPU-second", lambda e: e["import"]["docs_per_cpu_s"], False),
    ("index size MB", lambda e: e["import"]["bytes"] / 1e6, True),
    ("peak disk during import MB", lambda e: e["import"]["peak_disk_bytes"] / 1e6, True),
    ("peak RSS import MB", lambda e: e["import"]["peak_rss_mb"], True),
    ("peak RSS serving MB", lambda e: e["serve"]["peak_rss_mb"], True),
    ("query p50 ms (top 10 + snippets)", lambda e: e["serve"]["p50_ms"], True),
    ("query p95 ms", lambda e: e["serve"]["p95_ms"], True),
    ("query p99 ms", lambda e: e["serve"]["p99_ms"], True),
    ("query CPU p50 ms", lambda e: e["serve"]["cpu_p50_ms"], True),
    ("query CPU p99 ms", lambda e: e["serve"]["cpu_p99_ms"], True),
    ("CLI cold start ms (to 1st result)", lambda e: e["cold_start_ms"], True),
    ("web /search p50 ms", lambda e: e["web"]["p50_ms"], True),
    ("web /search p99 ms", lambda e: e["web"]["p99_ms"], True),
    ("queries answered", lambda e: e["serve"]["answered"], False),
    ("queries that raised an error", lambda e: e["serve"]["errors"], True),
]
COLUMNS = [label for label, _, _ in METRICS]


def _value(entry: dict, read) -> float | None:
    try:
        return float(read(entry))
    except (KeyError, TypeError):
        return None


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(result: dict) -> list[list[str]]:
    """Rows: one per metric; columns: each engine, then searchkit's ratio to each peer."""
    engines = [e for e in ENGINE_ORDER if e in result["engines"]]
    peers = [e for e in engines if not e.startswith("searchkit")]
    header = ["metric"] + engines + [f"sk/{p}" for p in peers]
    rows = [header]
    for label, read, _ in METRICS:
        values = {e: _value(result["engines"][e], read) for e in engines}
        counts = label.startswith("queries ")  # whole numbers, not measurements
        row = [label] + [(f"{values[e]:,.0f}" if counts and values[e] is not None else _fmt(values[e]))
                         for e in engines]
        base = values.get("searchkit")
        for p in peers:
            row.append(f"{base / values[p]:.2f}x" if base is not None and values[p] else "-")
        rows.append(row)
    return rows


def render(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        lines.append("  ".join(cells))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def print_tables(results: list[dict]) -> None:
    for result in results:
        m = result["machine"]
        print(f"\n== {result['corpus']}: {result['articles']:,} articles ({result['file']}), "
              f"{result['queries']} queries, {result['date']}")
        print(f"   {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}, "
              f"{', '.join(f'{k} {v}' for k, v in m['versions'].items())}")
        if "loadavg_at_start" in m:
            load = max(m["loadavg_at_start"], result.get("loadavg_max", 0))
            note = f": above {m['cores']}, other work shared the CPU" if load > m["cores"] else ""
            print(f"   load average (1 min) at start {m['loadavg_at_start']:.1f}, highest seen "
                  f"{result.get('loadavg_max', 0):.1f}{note}")
        print("   sk/peer = searchkit's figure divided by the peer's (time, size: lower is better; "
              "articles/s: higher is better)\n")
        print(render(table(result)))
        for line in notes(result):
            print("   " + line)


def notes(result: dict) -> list[str]:
    """What the table does not show by itself: engines left out, figures copied from an earlier
    run instead of measured in this one, and measurements that failed."""
    lines = []
    for engine, why in result.get("skipped", {}).items():
        lines.append(f"{engine}: {why}")
    for engine in ENGINE_ORDER:
        entry = result["engines"].get(engine)
        if not entry:
            continue
        if "reused" in entry:
            r = entry["reused"]
            lines.append(f"{engine}: REUSED, not measured in this run ({r.get('by')}): measured "
                         f"{r.get('measured')} ({r.get('from')})")
        if "failed" in entry:
            lines.append(f"{engine}: FAILED: {entry['failed'].strip().splitlines()[-1][:300]}")
        if entry.get("serve", {}).get("errors"):
            lines.append(f"{engine}: {entry['serve']['errors']} queries raised, e.g. "
                         f"{entry['serve']['error_examples'][:1]}")
    return lines


def fit_exponent(sizes: list[float], values: list[float]) -> float | None:
    """Least-squares slope of log(value) against log(size): value ~ size^k."""
    points = [(math.log(s), math.log(v)) for s, v in zip(sizes, values) if s > 0 and v and v > 0]
    if len(points) < 2:
        return None
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    var = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / var if var else None


GROWTH = [
    ("import s", lambda e: e["import"]["seconds"]),
    ("import CPU s", lambda e: e["import"]["cpu_seconds"]),
    ("index MB", lambda e: e["import"]["bytes"] / 1e6),
    ("RSS import MB", lambda e: e["import"]["peak_rss_mb"]),
    ("p50 ms", lambda e: e["serve"]["p50_ms"]),
    ("p99 ms", lambda e: e["serve"]["p99_ms"]),
    ("CPU p50 ms", lambda e: e["serve"]["cpu_p50_ms"]),
]


def growth(results: list[dict]) -> str:
    """The same figures at each corpus size, with the fitted exponent k (figure ~ size^k)."""
    sized = sorted((r for r in results if r["corpus"] != "sample"), key=lambda r: r["articles"])
    if not sized:
        return "(no sized corpora)"
    sizes = [r["articles"] for r in sized]
    rows = [["engine", "figure"] + [f"{s:,}" for s in sizes] + ["k"]]
    for engine in ENGINE_ORDER:
        for label, read in GROWTH:
            values = [_value(r["engines"][engine], read) if engine in r["engines"] else None for r in sized]
            if all(v is None for v in values):
                continue
            pairs = [(s, v) for s, v in zip(sizes, values) if v is not None]
            k = fit_exponent([s for s, _ in pairs], [v for _, v in pairs])
            rows.append([engine, label] + [_fmt(v) for v in values] + [f"{k:.2f}" if k is not None else "-"])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join([row[0].ljust(widths[0]), row[1].ljust(widths[1])]
                               + [c.rjust(w) for c, w in zip(row[2:], widths[2:])]))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def chart(results: list[dict], target: Path) -> None:
    """Query p50 and p99 latency against corpus size, one line per engine (log-log)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sized = sorted((r for r in results if r["corpus"] != "sample"), key=lambda r: r["articles"])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, key, title in ((axes[0], "p50_ms", "p50"), (axes[1], "p99_ms", "p99")):
        for engine in ENGINE_ORDER:
            points = [(r["articles"], r["engines"][engine]["serve"][key]) for r in sized if engine in r["engines"]]
            if points:
                ax.plot(*zip(*points), marker="o", label=engine)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("articles (article-length, generated from Reuters headlines)")
        ax.set_ylabel(f"query latency {title}, ms (top 10 + snippets, warm)")
        ax.grid(True, which="both", alpha=0.3)
        ax.set_title(f"{title} latency vs corpus size")
    axes[0].legend()
    m = sized[-1]["machine"] if sized else {}
    fig.suptitle(f"make bench, {m.get('cpu', '')}, {m.get('cores', '')} cores", fontsize=9)
    fig.tight_layout()
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, dpi=110)
    plt.close(fig)


def load_all(directory: Path = RESULTS) -> list[dict]:
    # Only this bench's files: other benchmarks (extract, load, relevance) write here too.
    results = [json.loads(p.read_text("utf-8")) for p in sorted(directory.glob("*.json"))
               if p.name.startswith(("reuters-", "bbc-sample"))]
    results = [r for r in results if "engines" in r and "corpus" in r]
    return sorted(results, key=lambda r: (r["corpus"] != "sample", r["articles"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--chart", type=Path, default=None)
    args = parser.parse_args()
    results = load_all(args.results)
    print_tables(results)
    print("\n== growth (figure ~ articles^k, least squares over the sizes measured)\n")
    print(growth(results))
    if args.chart:
        chart(results, args.chart)
        print(f"\nchart: {args.chart}")


if __name__ == "__main__":
    main()
