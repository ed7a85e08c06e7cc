"""`make bench-relevance`: searchkit's ranking vs bm25s on IR test collections, in one run.

For each collection (default ../shared/data/cranfield and ../shared/data/cacm: docs.jsonl,
queries.tsv, qrels.txt) imports it into a temporary index, runs every query through
searchkit to depth 1000, and runs the same queries through two bm25s baselines (Lucene
BM25, k1 1.5, b 0.75):

  bm25s (its stopwords)   bm25s's own English stop words + Snowball (PyStemmer): the
                          configuration of the issue's reference figures
  bm25s (our analysis)    searchkit's own tokens (its stop words + NLTK Snowball), so the
                          only difference left is the ranking

Prints MAP, nDCG@10, P@10 and recall@100 for each, searchkit's ratio to each baseline and
the queries it wins and loses against each (per-query AP and nDCG@10); writes the tables
to bench/relevance/results.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import searchkit
from searchkit.analysis import analyze
from searchkit.article import Article, clean
from searchkit.eval import DEPTH, Report, evaluate, read_qrels, read_queries, run_queries

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent.parent / "shared" / "data"
# Two development collections of different fields, lengths and query styles: a change to the
# ranking has to hold on both (and on held-out ones we do not have).
DEFAULT_DATA = [SHARED / "cranfield", SHARED / "cacm"]


def load_docs(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def doc_text(doc: dict) -> str:
    return f"{doc.get('title', '')}\n\n{doc.get('body', '')}"


def run_searchkit(docs: list[dict], queries: list[tuple[str, str]], workdir: Path) -> tuple[dict, float]:
    index = searchkit.open_index(workdir / "index", create=True)
    # Two Cranfield documents are empty: "-" keeps them in (no words) as bm25s does.
    index.write(clean(Article(id=d["id"], title=d.get("title") or "-", body=d.get("body", ""),
                              author=d.get("author", ""), source="Cranfield")) for d in docs)
    started = time.perf_counter()
    run = run_queries(index, queries, DEPTH)
    return run, time.perf_counter() - started


def run_bm25s(docs: list[dict], queries: list[tuple[str, str]], ours: bool) -> tuple[dict, float]:
    import bm25s
    import Stemmer

    ids = [d["id"] for d in docs]
    texts = [doc_text(d) for d in docs]
    retriever = bm25s.BM25(method="lucene", k1=1.5, b=0.75)
    if ours:
        retriever.index([analyze(t) for t in texts], show_progress=False)
        query_tokens = [analyze(text) or ["\x00"] for _, text in queries]
    else:
        stemmer = Stemmer.Stemmer("english")
        retriever.index(bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False),
                        show_progress=False)
        query_tokens = bm25s.tokenize([text for _, text in queries], stopwords="en", stemmer=stemmer,
                                      show_progress=False, return_ids=False)
    started = time.perf_counter()
    run = {}
    for (qid, _), tokens in zip(queries, query_tokens):
        tokens = [t for t in tokens if t in retriever.vocab_dict] if ours else tokens
        if not tokens:
            run[qid] = []
            continue
        results, scores = retriever.retrieve([tokens], k=min(DEPTH, len(ids)), show_progress=False)
        run[qid] = [ids[i] for i, s in zip(results[0], scores[0]) if s > 0]
    return run, time.perf_counter() - started


def row(name: str, report: Report, seconds: float) -> str:
    return (f"| {name:<22} | {report.map:.4f} | {report.ndcg10:.4f}  | {report.p10:.4f} | "
            f"{report.recall100:.4f}     | {seconds:7.2f} |")


RATIO_METRICS = (("MAP", "map"), ("nDCG@10", "ndcg10"), ("P@10", "p10"), ("recall@100", "recall100"))


def ratios(ours: Report, peer: Report) -> str:
    """`MAP x1.031, nDCG@10 x1.021, ...`: our figure over the peer's, each metric."""
    return ", ".join(f"{label} x{getattr(ours, name) / getattr(peer, name):.3f}" if getattr(peer, name) else
                     f"{label} x-" for label, name in RATIO_METRICS)


def wins_losses(ours: Report, peer: Report, metric: str) -> tuple[int, int, int]:
    """Queries where ours scores higher / lower / the same (within 1e-9) on `metric`."""
    wins = losses = ties = 0
    for qid, figures in ours.per_query.items():
        delta = figures[metric] - peer.per_query.get(qid, {}).get(metric, 0.0)
        if delta > 1e-9:
            wins += 1
        elif delta < -1e-9:
            losses += 1
        else:
            ties += 1
    return wins, losses, ties


def bench_collection(data: Path) -> dict[str, tuple[Report, float]]:
    """searchkit and both bm25s configurations on one collection, printed as a table."""
    docs = load_docs(data / "docs.jsonl")
    queries = read_queries(data / "queries.tsv")
    qrels = read_qrels(data / "qrels.txt")
    print(f"\n{data.name}: {len(docs)} documents, {len(queries)} queries, "
          f"{sum(len(j) for j in qrels.values())} judgements, depth {DEPTH}")
    with tempfile.TemporaryDirectory() as tmp:
        sk_run, sk_time = run_searchkit(docs, queries, Path(tmp))
    reports = {"searchkit": (evaluate(sk_run, qrels), sk_time)}
    for name, ours in (("bm25s (its stopwords)", False), ("bm25s (our analysis)", True)):
        run, seconds = run_bm25s(docs, queries, ours)
        reports[name] = (evaluate(run, qrels), seconds)
    print("| engine                 | MAP    | nDCG@10 | P@10   | recall@100 | query s |")
    print("|------------------------|--------|---------|--------|------------|---------|")
    for name, (report, seconds) in reports.items():
        print(row(name, report, seconds))
    sk = reports["searchkit"][0]
    for name, (report, _) in list(reports.items())[1:]:
        print(f"searchkit / {name}: {ratios(sk, report)}")
        per_query = "; ".join(f"{metric} {w} wins, {l} losses, {t} ties" for metric in ("MAP", "nDCG@10")
                              for w, l, t in [wins_losses(sk, report, metric)])
        print(f"  per query vs {name}: {per_query}")
    return reports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, nargs="+", default=DEFAULT_DATA,
                        help="collection folders (docs.jsonl, queries.tsv, qrels.txt)")
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    args = parser.parse_args(argv)
    results = {}
    for data in args.data:
        reports = bench_collection(data)
        results[data.name] = {name: {**r.to_dict(), "query_seconds": round(s, 3)} for name, (r, s) in reports.items()}
    args.out.write_text(json.dumps(results, indent=2) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
