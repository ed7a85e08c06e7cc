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

With --ablate it then takes what searchkit adds to BM25 out one change at a time (ABLATIONS:
constants of searchkit.engine.scoring set back for one pass over the same index, as this
script only; the library reads them at query time) and prints each variant's ratios to
bm25s (its stopwords), into results.json's "ablation" too.

With --cross-validate it runs searchkit with each setting of GRID (the constants a ranking
change leaves open; --grid feedback-words: from how many words feedback applies) on every
collection, on all its judged queries and on alternate halves of them, and prints the setting
that does best on one collection and what it gets on the other (held out), both ways round;
the setting best on half A of both collections and what it gets on half B, and the other way
round; then the best on both (into cross_validation*.json).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

import searchkit
from searchkit.analysis import analyze
from searchkit.engine import scoring
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


# What searchkit adds to BM25, one change at a time: the scoring constants each variant sets
# ("with the all-words boost" puts back the boost the cross-validation left out; "none of
# them" is BM25F with the index's headline x2.5 and b 0.75 in both fields).
ABLATIONS: dict[str, dict] = {
    "searchkit (all)": {},
    "no feedback (RM3)": {"FEEDBACK_MIN_WORDS": 10**9},
    "RM3 over whole articles (not top 10)": {"FEEDBACK_DOC_TERMS": 0},
    "no proximity (SDM)": {"PROXIMITY": False},
    "headline x2.5 (the earlier weight)": {"FIELD_WEIGHT": {}},
    "with the all-words boost (x2)": {"ALL_WORDS_BOOST": 1.0},
    "body b 0.6 (the earlier choice)": {"B": 0.6},
    "title b as body b": {"FIELD_B": {}},
    "title weight 1 (fields equal)": {"FIELD_WEIGHT": {"title": 1 / scoring.TITLE_BOOST}},
    "none of them (BM25F)": {"FEEDBACK_MIN_WORDS": 10**9, "PROXIMITY": False, "ALL_WORDS_BOOST": 0.0,
                             "B": 0.75, "FIELD_B": {}, "FIELD_WEIGHT": {}},
}


# The open choices, each with the options cross-validation chooses among (every option sets
# its constants explicitly, so the grid does not move when scoring.py's defaults do): RM3 as
# shipped (chosen in the prototype), Anserini's defaults, and ours with Anserini's rule that a
# stem in more than 10 % of the articles is no feedback term; k1; the headline's weight; the
# all-words boost (not a published method) on or off. Body b 0.75 and headline b 0.3 were
# cross-validated against 0.4 / 0.6 and the body's b in the previous session.
# The RM3 options take whole articles (as when cross_validation.json was measured, before
# the per-article top 10 of --grid feedback was chosen).
GRID: dict[str, dict[str, dict]] = {
    "RM3": {"5 docs, 10 terms, 0.7": {"FEEDBACK_DOCS": 5, "FEEDBACK_TERMS": 10, "FEEDBACK_QUERY_WEIGHT": 0.7,
                                      "FEEDBACK_MAX_DF": 1.0, "FEEDBACK_DOC_TERMS": 0},
            "Anserini 10, 10, 0.5": {"FEEDBACK_DOCS": 10, "FEEDBACK_TERMS": 10, "FEEDBACK_QUERY_WEIGHT": 0.5,
                                     "FEEDBACK_MAX_DF": 1.0, "FEEDBACK_DOC_TERMS": 0},
            "5, 10, 0.7, df <= 10 %": {"FEEDBACK_DOCS": 5, "FEEDBACK_TERMS": 10, "FEEDBACK_QUERY_WEIGHT": 0.7,
                                       "FEEDBACK_MAX_DF": 0.1, "FEEDBACK_DOC_TERMS": 0}},
    "k1": {"1.5": {"K1": 1.5}, "1.2": {"K1": 1.2}},
    "title x": {str(w): {"FIELD_WEIGHT": {"title": w / scoring.TITLE_BOOST}} for w in (2.0, 2.5, 3.0)},
    "all-words": {"off": {"ALL_WORDS_BOOST": 0.0}, "on": {"ALL_WORDS_BOOST": 1.0}},
}
# Where feedback applies (--grid feedback-words): from how many distinct words a query gets
# the RM3 pass, the shipped six first. Its cost on keyword queries is cost.py's to measure.
# (cross_validation-feedback-words.json was measured with RM3 over whole articles.)
FEEDBACK_WORDS_GRID: dict[str, dict[str, dict]] = {
    "feedback from": {f"{n} words": {"FEEDBACK_MIN_WORDS": n} for n in (6, 5, 4, 2, 8)},
}
# How feedback picks and weighs its terms (--grid feedback), each with published defaults, not
# fitted here: RM3 over whole articles (as before), over each article's 10 most frequent stems
# (Anserini's document vectors, shipped), and Anserini's Rm3Reranker in full (also stems in
# > 10 % of articles left out, 10 docs, 10 terms, 0.5). Commit 3f2aad5's grid also had
# Lavrenko's query-likelihood document weights and Terrier's Bo1 (cross_validation-feedback.json
# holds all of them; docs/query-language.md the table).
_RM3 = {"FEEDBACK_DOC_TERMS": 0, "FEEDBACK_MAX_DF": 1.0, "FEEDBACK_DOCS": 5, "FEEDBACK_TERMS": 10,
        "FEEDBACK_QUERY_WEIGHT": 0.7}
FEEDBACK_GRID: dict[str, dict[str, dict]] = {
    "feedback": {
        "RM3 over whole articles": _RM3,
        "RM3, per-article top 10": {**_RM3, "FEEDBACK_DOC_TERMS": 10},
        "Anserini RM3 in full": {**_RM3, "FEEDBACK_DOC_TERMS": 10, "FEEDBACK_MAX_DF": 0.1, "FEEDBACK_DOCS": 10,
                                 "FEEDBACK_QUERY_WEIGHT": 0.5},
    },
    "from": {"6 words": {"FEEDBACK_MIN_WORDS": 6}, "2 words": {"FEEDBACK_MIN_WORDS": 2}},
}
GRIDS = {"constants": GRID, "feedback-words": FEEDBACK_WORDS_GRID, "feedback": FEEDBACK_GRID}


def import_collection(docs: list[dict], workdir: Path):
    index = searchkit.open_index(workdir / "index", create=True)
    # Two Cranfield documents are empty: "-" keeps them in (no words) as bm25s does.
    index.write(clean(Article(id=d["id"], title=d.get("title") or "-", body=d.get("body", ""),
                              author=d.get("author", ""), source="Cranfield")) for d in docs)
    return index


def run_searchkit(index, queries: list[tuple[str, str]], changes: dict | None = None) -> tuple[dict, float]:
    """searchkit's run of the queries, with `changes` (scoring constant -> value) for this run."""
    saved = {name: getattr(scoring, name) for name in changes or {}}
    for name, value in (changes or {}).items():
        setattr(scoring, name, value)
    try:
        started = time.perf_counter()
        run = run_queries(index, queries, DEPTH)
        return run, time.perf_counter() - started
    finally:
        for name, value in saved.items():
            setattr(scoring, name, value)


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


def bench_collection(data: Path, ablate: bool = False) -> tuple[dict[str, tuple[Report, float]], dict]:
    """searchkit and both bm25s configurations on one collection, printed as a table (and
    with `ablate`, each of ABLATIONS: {variant: {metric: ratio to bm25s (its stopwords)}})."""
    docs = load_docs(data / "docs.jsonl")
    queries = read_queries(data / "queries.tsv")
    qrels = read_qrels(data / "qrels.txt")
    print(f"\n{data.name}: {len(docs)} documents, {len(queries)} queries, "
          f"{sum(len(j) for j in qrels.values())} judgements, depth {DEPTH}")
    ablation: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        index = import_collection(docs, Path(tmp))
        sk_run, sk_time = run_searchkit(index, queries)
        ablated = {name: evaluate(run_searchkit(index, queries, changes)[0], qrels)
                   for name, changes in ABLATIONS.items()} if ablate else {}
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
    if ablated:
        peer = reports["bm25s (its stopwords)"][0]
        print(f"\n{data.name}, one change taken out at a time (ratios to bm25s, its stopwords):")
        print("| variant                              | MAP    | nDCG@10 | P@10   |")
        print("|--------------------------------------|--------|---------|--------|")
        for name, report in ablated.items():
            ablation[name] = {label: round(getattr(report, metric) / getattr(peer, metric), 4)
                              for label, metric in RATIO_METRICS[:3]}
            print(f"| {name:<36} | " + " | ".join(f"x{ablation[name][label]:.3f}".ljust(width)
                                                   for (label, _), width in zip(RATIO_METRICS, (6, 7, 6))) + " |")
    return reports, ablation


def _objective(figures: dict[str, float]) -> float:
    """The targets: the worse of the MAP and nDCG@10 ratios (ties: their sum)."""
    return min(figures["MAP"], figures["nDCG@10"]) + 0.001 * (figures["MAP"] + figures["nDCG@10"])


def _fold_ratios(ours: Report, peer: Report, qids: list[str]) -> dict[str, float]:
    """Our mean over the peer's on the queries `qids` (MAP, nDCG@10, P@10)."""
    out = {}
    for label, _ in RATIO_METRICS[:3]:
        mine = sum(ours.per_query[q][label] for q in qids)
        theirs = sum(peer.per_query[q][label] for q in qids)
        out[label] = round(mine / theirs, 4) if theirs else 0.0
    return out


def cross_validate(collections: list[Path], grid: dict[str, dict[str, dict]] = GRID) -> dict:
    """Every setting of `grid` on every collection (ratios to bm25s, its stopwords), on all of its
    judged queries and on two halves of them (alternate queries: folds A and B). Printed:
    the setting chosen on one collection measured on the other (both ways), the setting
    chosen on fold A of both collections measured on fold B (and the other way), and the
    best on everything together."""
    settings = {"; ".join(f"{dim} {opt}" for dim, opt in zip(grid, labels)):
                {k: v for dim, opt in zip(grid, labels) for k, v in grid[dim][opt].items()}
                for labels in itertools.product(*(grid[dim] for dim in grid))}
    parts = ("all", "A", "B")
    figures: dict[str, dict[str, dict[str, float]]] = {name: {} for name in settings}
    for data in collections:
        docs = load_docs(data / "docs.jsonl")
        queries, qrels = read_queries(data / "queries.tsv"), read_qrels(data / "qrels.txt")
        peer = evaluate(run_bm25s(docs, queries, False)[0], qrels)
        judged = [q for q, _ in queries if q in peer.per_query]
        folds = {"all": judged, "A": judged[0::2], "B": judged[1::2]}
        with tempfile.TemporaryDirectory() as tmp:
            index = import_collection(docs, Path(tmp))
            for name, changes in settings.items():
                report = evaluate(run_searchkit(index, queries, changes)[0], qrels)
                for part in parts:
                    figures[name][f"{data.name} {part}"] = _fold_ratios(report, peer, folds[part])
                print(f"{data.name:<10} {name:<78} " + " ".join(
                    f"{k} x{v:.3f}" for k, v in figures[name][f"{data.name} all"].items()), flush=True)
    summary = summarise(figures, [d.name for d in collections])
    return {"settings": figures, "chosen": summary}


def summarise(figures: dict[str, dict[str, dict[str, float]]], names: list[str]) -> dict[str, str]:
    """Print and return the settings cross_validate's figures choose: tuned on each collection
    (measured on the others), on each fold of all of them (measured on the other fold), and
    on everything. A tie goes to the setting listed first (GRID lists the simpler option first)."""

    def line(setting: str, part: str = "all") -> str:
        return "; ".join(f"{c} {part} " + " ".join(f"{k} x{v:.3f}" for k, v in figures[setting][f"{c} {part}"].items())
                         for c in names)

    def best(on: list[str]) -> str:
        return max(figures, key=lambda s: min(_objective(figures[s][key]) for key in on))

    summary = {}
    for tuned in names:
        chosen = best([f"{tuned} all"])
        summary[f"tuned on {tuned}"] = chosen
        print(f"\ntuned on {tuned}: {chosen}\n  {line(chosen)}")
    for tuned, held in (("A", "B"), ("B", "A")):
        chosen = best([f"{c} {tuned}" for c in names])
        summary[f"tuned on fold {tuned}"] = chosen
        print(f"\ntuned on fold {tuned} of {', '.join(names)}: {chosen}\n  {line(chosen, tuned)} (tuned)"
              f"\n  {line(chosen, held)} (held out)")
    chosen = best([f"{c} all" for c in names])
    summary["on all"] = chosen
    print(f"\nbest on all: {chosen}\n  {line(chosen)}")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, nargs="+", default=DEFAULT_DATA,
                        help="collection folders (docs.jsonl, queries.tsv, qrels.txt)")
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    parser.add_argument("--ablate", action="store_true",
                        help="also take each ranking change out in turn (ratios to bm25s, its stopwords)")
    parser.add_argument("--cross-validate", action="store_true",
                        help="only choose a grid's settings on one part and measure them on the other")
    parser.add_argument("--grid", choices=sorted(GRIDS), default="constants",
                        help="with --cross-validate: the constants (GRID) or where feedback applies")
    args = parser.parse_args(argv)
    if args.cross_validate:
        found = cross_validate(args.data, GRIDS[args.grid])
        name = "cross_validation.json" if args.grid == "constants" else f"cross_validation-{args.grid}.json"
        args.out.with_name(name).write_text(json.dumps(found, indent=2) + "\n", "utf-8")
        return 0
    results = {}
    for data in args.data:
        reports, ablation = bench_collection(data, args.ablate)
        results[data.name] = {name: {**r.to_dict(), "query_seconds": round(s, 3)} for name, (r, s) in reports.items()}
        if ablation:
            results[data.name]["ablation"] = ablation
    args.out.write_text(json.dumps(results, indent=2) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
