"""What the feedback pass and the proximity model cost in query time, as ratios in one run.

    python bench/relevance/cost.py --records 30000 --work /work/coord/benchwork

Imports the first --records articles of the bench corpus (bench/corpus.py, cut from a larger
one cached under --work/corpora) into an index (--index, kept: a second run reuses it), then answers bench/queries.jsonl as the
searchkit-lean engine of `make bench` does (top 10, no facets, no collapse, snippets) in
seven settings, each query in every setting in turn (so the machine's load falls on all of
them), in rounds:

  plain BM25F       no proximity, no feedback: the reference
  + proximity       sequential dependence (scoring.PROXIMITY), no feedback
  as shipped        proximity, feedback for queries of FEEDBACK_MIN_WORDS words or more
                    (the bench queries have 1-5 words: none of them gets it)
  + feedback on all proximity, and a feedback pass for every query of two words or more
  + all-words boost as shipped, with the all-words boost the cross-validation left out (x2
                    for an article with every word of a 2-3 word query; it raises the
                    threshold MaxScore prunes by)
  feedback from 5   as shipped, with a feedback pass for queries of five words too
  RM3 whole articles as shipped, the feedback articles' every stem in the relevance model
                    (not each article's FEEDBACK_DOC_TERMS most frequent)

and prints p50 / p95 milliseconds and each setting's ratio to the reference.

    python bench/relevance/cost.py --collection ../shared/data/cranfield

does the same on a test collection's documents and queries (descriptions of 6-20 words, which
do get the feedback pass), imported into a temporary index.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE))

from bench import corpus as corpora  # noqa: E402
from bench import queries as qmod  # noqa: E402
from bench.engines import LIMIT, Searchkit  # noqa: E402

import searchkit  # noqa: E402
from searchkit.engine import scoring  # noqa: E402
from searchkit.eval import read_queries  # noqa: E402

SETTINGS = {
    "plain BM25F": {"PROXIMITY": False, "FEEDBACK_MIN_WORDS": 10**9},
    "+ proximity": {"PROXIMITY": True, "FEEDBACK_MIN_WORDS": 10**9},
    "as shipped": {},
    "+ feedback on all": {"FEEDBACK_MIN_WORDS": 2},
    "+ all-words boost": {"ALL_WORDS_BOOST": 1.0},
    "feedback from 5 words": {"FEEDBACK_MIN_WORDS": 5},
    "RM3 whole articles": {"FEEDBACK_DOC_TERMS": 0},
}


@dataclass
class _Typed:
    """A test collection's query, asked as a plain search."""

    text: str
    words: tuple = ()
    sort: str = "relevance"
    since: str | None = None
    until: str | None = None
    source: str | None = None


def answer(index, queries: list, changes: dict) -> list[float]:
    """Milliseconds per query with the scoring constants `changes` set for the pass."""
    saved = {name: getattr(scoring, name) for name in changes}
    for name, value in changes.items():
        setattr(scoring, name, value)
    try:
        times = []
        for q in queries:
            started = time.perf_counter()
            searchkit.search(index, q.text, limit=LIMIT, sort=q.sort, since=q.since, until=q.until,
                             source=q.source, facets=False, collapse=False)
            times.append((time.perf_counter() - started) * 1000)
        return times
    finally:
        for name, value in saved.items():
            setattr(scoring, name, value)


def interleaved(index, queries: list) -> dict[str, list[float]]:
    """One round: each query answered in every setting in turn (the first setting rotating
    from query to query), so that a change in the machine's load falls on all of them."""
    names = list(SETTINGS)
    times: dict[str, list[float]] = {name: [] for name in names}
    for i, q in enumerate(queries):
        for name in names[i % len(names):] + names[:i % len(names)]:
            times[name] += answer(index, [q], SETTINGS[name])
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=30_000)
    parser.add_argument("--work", type=Path, default=HERE.parent / "work", help="as bench.run's --work")
    parser.add_argument("--index", type=Path, default=None, help="default: WORK/cost-searchkit-RECORDS")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--collection", type=Path, default=None,
                        help="a test collection folder (docs.jsonl, queries.tsv) instead of the news corpus")
    args = parser.parse_args(argv)
    if args.collection is not None:
        from run import import_collection, load_docs

        with tempfile.TemporaryDirectory() as tmp:
            index = import_collection(load_docs(args.collection / "docs.jsonl"), Path(tmp))
            queries = [_Typed(text, tuple(text.split())) for _, text in read_queries(args.collection / "queries.tsv")]
            return measure(index, queries, args.rounds, f"{args.collection.name}")
    directory = args.index or args.work / f"cost-searchkit-{args.records}"
    if not (directory / "index").exists():
        corpus = corpora.ensure_corpus(args.records, directory=args.work / "corpora")
        Searchkit().build(corpus, directory / "index")
    index = searchkit.open_index(directory / "index")
    return measure(index, qmod.load(HERE.parent / "queries.jsonl"), args.rounds, f"{args.records} articles")


def measure(index, queries: list, rounds: int, label: str) -> int:
    """Time the queries in every setting, `rounds` times in turn, and print the table."""
    answer(index, queries, {})  # warm: postings and columns in memory, as a server has them
    times: dict[str, list[float]] = {name: [] for name in SETTINGS}
    for _ in range(rounds):
        for name, found in interleaved(index, queries).items():
            times[name] += found
    words = {len(q.words) for q in queries}
    print(f"{label}, {len(queries)} queries of {min(words)}-{max(words)} words, "
          f"{rounds} rounds; ms per query (top {LIMIT}, snippets, no facets)")
    print("| setting               | p50 ms | p95 ms | p50 / plain | p95 / plain |")
    print("|-----------------------|--------|--------|-------------|-------------|")
    reference = _percentiles(times["plain BM25F"])
    for name, found in times.items():
        p50, p95 = _percentiles(found)
        print(f"| {name:<21} | {p50:6.1f} | {p95:6.1f} | x{p50 / reference[0]:<10.2f} | x{p95 / reference[1]:<10.2f} |")
    return 0


def _percentiles(values: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(values, n=20)
    return statistics.median(values), cuts[18]


if __name__ == "__main__":
    sys.exit(main())
