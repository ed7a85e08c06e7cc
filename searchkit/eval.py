"""Relevance evaluation: run queries, compare the ranking with judgements (qrels), report IR metrics.

    qrels = read_qrels("qrels.txt")            # TREC: "qid 0 docid rel" per line
    queries = read_queries("queries.tsv")      # "qid<TAB>query text" per line
    report = evaluate(run_queries(index, queries), qrels)
    report.map, report.ndcg10, report.p10, report.recall100

Gains are binary: a judged document with rel >= 1 is relevant (as in the Cranfield
reference figures). Each query with at least one relevant document counts once, a query
that found nothing scoring 0, so runs from different engines compare fairly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from .errors import SearchkitError
from .query import QueryError
from .store import Index

Qrels = dict[str, dict[str, int]]
Run = dict[str, list[str]]
DEPTH = 1_000  # results per query, as trec_eval and the bm25s reference figures use


class EvalInputError(SearchkitError):
    """A qrels or queries file that cannot be read."""


def read_qrels(path: str | Path) -> Qrels:
    """TREC qrels ("qid iteration docid rel", whitespace separated) as {qid: {docid: rel}}."""
    qrels: Qrels = {}
    try:
        lines = Path(path).read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalInputError(f"cannot read qrels {path}: {exc}") from None
    for number, line in enumerate(lines, 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 4 or not parts[3].lstrip("-").isdigit():
            raise EvalInputError(f"{path}:{number}: expected `qid 0 docid relevance`, got {line!r}")
        qrels.setdefault(parts[0], {})[parts[2]] = int(parts[3])
    return qrels


def read_queries(path: str | Path) -> list[tuple[str, str]]:
    """A TSV of `qid<TAB>query` as [(qid, text)], blank lines skipped."""
    try:
        lines = Path(path).read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalInputError(f"cannot read queries {path}: {exc}") from None
    queries = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if "\t" not in line:
            raise EvalInputError(f"{path}:{number}: expected `qid<TAB>query`")
        qid, text = line.split("\t", 1)
        queries.append((qid.strip(), text.strip()))
    return queries


def run_queries(index: Index, queries: Iterable[tuple[str, str]], depth: int = DEPTH) -> Run:
    """searchkit's ranking (ids, best first, up to `depth`) for each query."""
    from .search import search

    run: Run = {}
    for qid, text in queries:
        try:
            result = search(index, text, limit=depth, facets=False, snippets=False, correct=False)
        except QueryError:
            run[qid] = []
            continue
        run[qid] = [hit.id for hit in result.hits]
    return run


def average_precision(ranking: list[str], relevant: set[str]) -> float:
    """Mean of the precision at each relevant document's rank, over all relevant documents."""
    if not relevant:
        return 0.0
    found, total = 0, 0.0
    for rank, docid in enumerate(ranking, 1):
        if docid in relevant:
            found += 1
            total += found / rank
    return total / len(relevant)


def ndcg(ranking: list[str], relevant: set[str], k: int = 10) -> float:
    """Normalised discounted cumulative gain at k with binary gains."""
    dcg = sum(1 / math.log2(rank + 1) for rank, d in enumerate(ranking[:k], 1) if d in relevant)
    ideal = sum(1 / math.log2(rank + 1) for rank in range(1, min(k, len(relevant)) + 1))
    return dcg / ideal if ideal else 0.0


def precision(ranking: list[str], relevant: set[str], k: int = 10) -> float:
    return sum(1 for d in ranking[:k] if d in relevant) / k


def recall(ranking: list[str], relevant: set[str], k: int = 100) -> float:
    return sum(1 for d in ranking[:k] if d in relevant) / len(relevant) if relevant else 0.0


@dataclass
class Report:
    """Mean metrics over the judged queries, and each query's own figures."""

    map: float
    ndcg10: float
    p10: float
    recall100: float
    queries: int
    per_query: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"MAP": round(self.map, 4), "nDCG@10": round(self.ndcg10, 4), "P@10": round(self.p10, 4),
                "recall@100": round(self.recall100, 4), "queries": self.queries}


METRICS: dict[str, Callable[[list[str], set[str]], float]] = {
    "MAP": average_precision, "nDCG@10": ndcg, "P@10": precision, "recall@100": recall,
}


def evaluate(run: Run, qrels: Qrels, min_rel: int = 1) -> Report:
    """Score a run against qrels; documents judged rel >= min_rel count as relevant."""
    per_query: dict[str, dict[str, float]] = {}
    for qid, judged in qrels.items():
        relevant = {d for d, rel in judged.items() if rel >= min_rel}
        if not relevant:
            continue
        ranking = run.get(qid, [])
        per_query[qid] = {name: fn(ranking, relevant) for name, fn in METRICS.items()}
    if not per_query:
        raise EvalInputError("no query in the qrels has a relevant document: nothing to evaluate")
    count = len(per_query)

    def mean(name: str) -> float:
        return sum(q[name] for q in per_query.values()) / count

    return Report(mean("MAP"), mean("nDCG@10"), mean("P@10"), mean("recall@100"), count, per_query)
