"""What each ranking change contributes: the real engine on Cranfield and CACM with one
change taken out at a time (same run, depth 1000), as ratios to bm25s (its stopwords).

    python bench/relevance/ablation.py

Each variant sets one constant of searchkit.engine.scoring back for the run (a measuring
script only: the library reads its constants at query time, nothing else changes).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import DEFAULT_DATA, load_docs, run_bm25s  # noqa: E402

import searchkit  # noqa: E402
from searchkit.article import Article, clean  # noqa: E402
from searchkit.engine import scoring  # noqa: E402
from searchkit.eval import DEPTH, evaluate, read_qrels, read_queries  # noqa: E402
from searchkit.query import QueryError  # noqa: E402

VARIANTS = {
    "searchkit (all)": {},
    "no feedback (RM3)": {"FEEDBACK_MIN_WORDS": 10**9},
    "b 0.75 (Lucene's)": {"B": 0.75},
    "no proximity": {"PROXIMITY": False},
    "no all-words boost": {"ALL_WORDS_BOOST": 0.0},
    "no feedback, b 0.75": {"FEEDBACK_MIN_WORDS": 10**9, "B": 0.75},
}


def run(index, queries) -> dict[str, list[str]]:
    out = {}
    for qid, text in queries:
        try:
            out[qid] = [h.id for h in searchkit.search(index, text, limit=DEPTH, facets=False, snippets=False).hits]
        except QueryError:
            out[qid] = []
    return out


def main() -> int:
    for data in DEFAULT_DATA:
        docs = load_docs(data / "docs.jsonl")
        queries, qrels = read_queries(data / "queries.tsv"), read_qrels(data / "qrels.txt")
        peer = evaluate(run_bm25s(docs, queries, False)[0], qrels)
        print(f"\n{data.name} (ratios to bm25s, its stopwords: MAP {peer.map:.4f}, nDCG@10 {peer.ndcg10:.4f}, "
              f"P@10 {peer.p10:.4f})")
        with tempfile.TemporaryDirectory() as tmp:
            index = searchkit.open_index(Path(tmp) / "index", create=True)
            index.write(clean(Article(id=d["id"], title=d.get("title") or "-", body=d.get("body", ""),
                                      source=data.name)) for d in docs)
            for name, changes in VARIANTS.items():
                saved = {key: getattr(scoring, key) for key in changes}
                for key, value in changes.items():
                    setattr(scoring, key, value)
                try:
                    r = evaluate(run(index, queries), qrels)
                finally:
                    for key, value in saved.items():
                        setattr(scoring, key, value)
                print(f"  {name:<22} MAP {r.map:.4f} x{r.map / peer.map:.3f}  nDCG@10 {r.ndcg10:.4f} "
                      f"x{r.ndcg10 / peer.ndcg10:.3f}  P@10 {r.p10:.4f} x{r.p10 / peer.p10:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
