"""Ranking experiments, outside the engine: searchkit's BM25F re-implemented over in-memory
arrays (same analyzer, same formulas), so that feedback and proximity variants can be
measured on both collections in seconds and their parameters cross-validated (tune on one
collection, test on the other). The winners move into searchkit/engine/scoring.py.

    python bench/relevance/prototype.py
"""

from __future__ import annotations

import itertools
import math
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import DEFAULT_DATA, load_docs  # noqa: E402

from searchkit.analysis import analyze  # noqa: E402
from searchkit.engine.schema import news_analyzer  # noqa: E402
from searchkit.eval import evaluate, read_qrels, read_queries  # noqa: E402


@dataclass(frozen=True)
class Params:
    k1: float = 1.5
    b: float = 0.75
    title_b: float = 0.3
    title_weight: float = 2.5
    all_words: float = 1.0       # x(1 + this) with every word, 2..short words
    short: int = 3
    prox: str = "pairs"          # "pairs" (today's), "tp" (BM25TP), "sdm", "none"
    prox_boost: float = 0.5
    prox_slop: int = 3
    prox_pairs: int = 6
    tp_dmax: int = 5
    tp_weight: float = 1.0
    # Sequential dependence (Metzler & Croft 2005): weights of words, ordered pairs, unordered
    # windows as published (0.85 / 0.1 / 0.05), the unordered window's width (8), and where
    # the ordered pair's second word must be: "adjacent" (#1) or at the query's own gap.
    sdm_weights: tuple = (0.85, 0.1, 0.05)
    sdm_window: int = 8
    sdm_gap: str = "adjacent"
    sdm_fields: str = "both"     # "both": title and body counts as BM25F (the engine's), or "body"
    fb_docs: int = 0             # RM3: 0 = off
    fb_terms: int = 10
    fb_orig: float = 0.5
    fb_min_words: int = 0        # feedback only for queries with at least this many words
    fb_max_words: int = 999      # ... and at most this many
    depth: int = 1000


class Collection:
    def __init__(self, data: Path) -> None:
        self.name = data.name
        docs = load_docs(data / "docs.jsonl")
        self.ids = [d["id"] for d in docs]
        self.queries = read_queries(data / "queries.tsv")
        self.qrels = read_qrels(data / "qrels.txt")
        analyzer = news_analyzer()
        vocab: dict[str, int] = {}
        rows = {"title": ([], [], []), "body": ([], [], [])}
        self.positions: list[dict[int, np.ndarray]] = []
        self.field_positions: dict[str, list[dict[int, list[int]]]] = {"title": [], "body": []}
        self.length = {"title": np.zeros(len(docs)), "body": np.zeros(len(docs))}
        for d, doc in enumerate(docs):
            for name in ("title", "body"):
                tokens = [(t.text, t.pos) for t in analyzer(doc.get(name) or "", positions=True)]
                self.length[name][d] = len(tokens)
                counts: dict[int, list[int]] = {}
                for text, pos in tokens:
                    counts.setdefault(vocab.setdefault(text, len(vocab)), []).append(pos)
                for term, where in counts.items():
                    rows[name][0].append(d)
                    rows[name][1].append(term)
                    rows[name][2].append(len(where))
                self.field_positions[name].append(counts)
                if name == "body":
                    self.positions.append({t: np.array(p) for t, p in counts.items()})
        self.vocab = vocab
        n, v = len(docs), len(vocab)
        # Positions per field and term as sorted (doc, position) arrays, for vectorised windows.
        self.flat = {name: _positions_by_term(self.field_positions[name], v) for name in ("title", "body")}
        self.n = n
        self.tf = {name: _Columns(*r, n, v) for name, r in rows.items()}
        self.tf_rows = {name: _Columns(r[1], r[0], r[2], v, n) for name, r in rows.items()}
        self.df = {name: np.diff(m.indptr) for name, m in self.tf.items()}
        self.avg = {name: max(self.length[name].mean(), 1e-9) for name in ("title", "body")}

    def idf(self, df):
        return np.log(1 + (self.n - df + 0.5) / (df + 0.5))


def _positions_by_term(per_doc: list[dict[int, list[int]]], v: int):
    """(indptr by term, docs, positions): each term's occurrences sorted by doc, position."""
    flat_t, flat_d, flat_p = [], [], []
    for d, per_term in enumerate(per_doc):
        for t, where in per_term.items():
            flat_t.append(np.full(len(where), t))
            flat_d.append(np.full(len(where), d))
            flat_p.append(where)
    flat_t, flat_d, flat_p = (np.concatenate(x).astype(np.int64) for x in (flat_t, flat_d, flat_p))
    order = np.lexsort((flat_p, flat_d, flat_t))
    return np.concatenate([[0], np.cumsum(np.bincount(flat_t, minlength=v))]), flat_d[order], flat_p[order]


class _Columns:
    """A sparse matrix as columns (indptr, indices, data), built from (row, column, value)."""

    def __init__(self, rows, cols, values, n_rows: int, n_cols: int) -> None:
        rows, cols, values = np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64), np.array(values, float)
        order = np.lexsort((rows, cols))
        self.indices, self.data = rows[order], values[order]
        self.indptr = np.concatenate([[0], np.cumsum(np.bincount(cols, minlength=n_cols))])


def _column(m: _Columns, t: int) -> tuple[np.ndarray, np.ndarray]:
    start, end = m.indptr[t], m.indptr[t + 1]
    return m.indices[start:end], m.data[start:end]


_CACHE: dict = {}


def term_vector(c: Collection, t: int, p: Params) -> np.ndarray:
    """A term's BM25F score in every document (dense), cached per parameters."""
    key = (id(c), t, p.k1, p.b, p.title_b, p.title_weight)
    if key not in _CACHE:
        norm_t = (1 - p.title_b) + p.title_b * c.length["title"] / c.avg["title"]
        norm_b = (1 - p.b) + p.b * c.length["body"] / c.avg["body"]
        tf = np.zeros(c.n)
        ids, tfs = _column(c.tf["title"], t)
        tf[ids] += p.title_weight * tfs / norm_t[ids]
        ids_b, tfs_b = _column(c.tf["body"], t)
        tf[ids_b] += tfs_b / norm_b[ids_b]
        df = max(c.df["title"][t], c.df["body"][t])
        _CACHE[key] = c.idf(df) * tf * (p.k1 + 1) / (tf + p.k1)
    return _CACHE[key]


def proximity(c: Collection, words: list[int], p: Params, gaps: list[int] | None = None) -> np.ndarray:
    key = (id(c), tuple(words), tuple(gaps or ()), p.prox, p.prox_boost, p.prox_slop, p.prox_pairs, p.tp_dmax,
           p.tp_weight, p.sdm_weights, p.sdm_window, p.sdm_gap, p.sdm_fields, p.k1, p.b, p.title_b, p.title_weight)
    if key not in _CACHE:
        norm_b = (1 - p.b) + p.b * c.length["body"] / c.avg["body"]
        if p.prox == "pairs":
            _CACHE[key] = _pairs_bonus(c, words, p, norm_b)
        elif p.prox == "tp":
            _CACHE[key] = _bm25tp(c, [w for w in words if w >= 0], p, norm_b)
        elif p.prox == "sdm":
            _CACHE[key] = _sdm(c, words, gaps or [1] * len(words), p, norm_b)
        else:
            _CACHE[key] = np.zeros(c.n)
    return _CACHE[key]


def score_words(c: Collection, weights: dict[int, float], p: Params, words: list[int],
                gaps: list[int] | None = None) -> np.ndarray:
    """BM25F of weighted terms, plus the all-words boost and a proximity model over the
    typed `words` (in order, distinct; -1 for a word the index does not have)."""
    total = np.zeros(c.n)
    for t, w in weights.items():
        if t >= 0:
            total += w * term_vector(c, t, p)
    if p.all_words and 1 < len(words) <= p.short and all(t >= 0 for t in words):
        every = np.ones(c.n, dtype=bool)
        for t in words:
            every &= term_vector(c, t, p) > 0
        total[every] *= 1 + p.all_words
    return total + proximity(c, words, p, gaps)


def _body_bm25(c: Collection, t: int, p: Params, norm_b) -> tuple[np.ndarray, np.ndarray]:
    ids, tfs = _column(c.tf["body"], t)
    return ids, c.idf(c.df["body"][t]) * tfs * (p.k1 + 1) / (tfs + p.k1 * norm_b[ids])


def _pairs_bonus(c, words, p, norm_b):
    bonus = np.zeros(c.n)
    pairs = list(zip(words, words[1:]))[:p.prox_pairs]
    for a, b in pairs:
        if a < 0 or b < 0:
            continue
        ia, sa = _body_bm25(c, a, p, norm_b)
        ib, sb = _body_bm25(c, b, p, norm_b)
        both, xa, xb = np.intersect1d(ia, ib, return_indices=True)
        for k, d in enumerate(both):
            pa, pb = c.positions[d][a], c.positions[d][b]
            dist = np.abs(pa[:, None] - pb[None, :])
            if ((dist >= 1) & (dist <= p.prox_slop)).any():
                bonus[d] += p.prox_boost * (sa[xa[k]] + sb[xb[k]])
    return bonus


def _bm25tp(c, words, p, norm_b):
    """BM25TP (Rasolofo & Savoy 2003): for every pair of distinct query words, the
    accumulated 1/distance^2 of their occurrences within tp_dmax positions in the body,
    saturated like a BM25 term frequency, weighted by the smaller of the two idfs."""
    bonus = np.zeros(c.n)
    distinct = list(dict.fromkeys(words))
    for a, b in itertools.combinations(distinct, 2):
        ia, _ = _column(c.tf["body"], a)
        ib, _ = _column(c.tf["body"], b)
        both = np.intersect1d(ia, ib)
        if not len(both):
            continue
        weight = min(c.idf(c.df["body"][a]), c.idf(c.df["body"][b]))
        acc = np.zeros(len(both))
        for k, d in enumerate(both):
            dist = np.abs(c.positions[d][a][:, None] - c.positions[d][b][None, :])
            near = dist[(dist >= 1) & (dist <= p.tp_dmax)]
            acc[k] = np.sum(1.0 / near.astype(float) ** 2)
        K = p.k1 * norm_b[both]
        bonus[both] += p.tp_weight * weight * (p.k1 + 1) * acc / (K + acc)
    return bonus


def _flat(c: Collection, t: int, name: str = "body") -> tuple[np.ndarray, np.ndarray]:
    ptr, docs, at = c.flat[name]
    start, end = ptr[t], ptr[t + 1]
    return docs[start:end], at[start:end]


def _count_near(keys: np.ndarray, others: np.ndarray, low: int, high: int) -> np.ndarray:
    """For each key: whether some key of `others` (sorted) lies in [key + low, key + high]."""
    first = np.searchsorted(others, keys + low, side="left")
    last = np.searchsorted(others, keys + high, side="right")
    return last > first


def _windows(c, a, b, step, window, name):
    """Per document: how often b is `step` positions after a (ordered), and how many
    occurrences of a (and of b, the smaller count) have the other within `window` positions."""
    shift = np.int64(1) << 32
    da, pa = _flat(c, a, name)
    db, pb = _flat(c, b, name)
    ka, kb = da * shift + pa, db * shift + pb
    ordered = _count_near(ka, kb, step, step)
    width = window - 1
    near_a = _count_near(ka, kb, -width, width)
    near_b = _count_near(kb, ka, -width, width)
    tf_o = np.bincount(da[ordered], minlength=c.n).astype(float)
    tf_u = np.minimum(np.bincount(da[near_a], minlength=c.n), np.bincount(db[near_b], minlength=c.n)).astype(float)
    return tf_o, tf_u


def _sdm(c, words, gaps, p, norm_b):
    """Sequential dependence, BM25 form: for each pair of consecutive query words (a, b),
    an ordered feature (b right after a: #1, or at the query's gap) and an unordered one
    (a and b within a window of sdm_window positions), each a BM25 of the feature's count in
    the body with the pair's idf (the sum of the two words' idfs, as a Lucene span query
    has), weighted ordered : unordered : words as 0.1 : 0.05 : 0.85."""
    bonus = np.zeros(c.n)
    w_t, w_o, w_u = p.sdm_weights
    norm_t = (1 - p.title_b) + p.title_b * c.length["title"] / c.avg["title"]
    for (a, b), gap in zip(zip(words, words[1:]), gaps[1:]):
        if a < 0 or b < 0:
            continue
        tf_o, tf_u = np.zeros(c.n), np.zeros(c.n)
        for name in (("title", "body") if p.sdm_fields == "both" else ("body",)):
            o, u = _windows(c, a, b, gap if p.sdm_gap == "query" else 1, p.sdm_window, name)
            if p.sdm_fields == "both":
                o, u = (x * (p.title_weight / norm_t if name == "title" else 1 / norm_b) for x in (o, u))
            tf_o += o
            tf_u += u
        pair_idf = c.idf(max(c.df["title"][a], c.df["body"][a])) + c.idf(max(c.df["title"][b], c.df["body"][b]))
        K = p.k1 * (1 if p.sdm_fields == "both" else norm_b)
        for weight, tf in ((w_o, tf_o), (w_u, tf_u)):
            bonus += (weight / w_t) * pair_idf * tf * (p.k1 + 1) / (tf + K)
    return bonus


def rm3_weights(c: Collection, query: dict[int, float], scores: np.ndarray, p: Params) -> dict[int, float]:
    """RM3 (Abdul-Jaleel et al. 2004; Anserini's defaults 10 docs, 10 terms, 0.5): the
    relevance model of the top fb_docs documents (each document's term distribution
    weighted by its score), its fb_terms best terms, mixed with the query's own weights."""
    top = np.argsort(-scores, kind="stable")[:p.fb_docs]
    top = top[scores[top] > 0]
    if not len(top):
        return query
    model: dict[int, float] = {}
    for d in top:
        counts: dict[int, float] = {}
        for name in ("title", "body"):
            row = c.tf_rows[name]
            start, end = row.indptr[d], row.indptr[d + 1]
            for t, f in zip(row.indices[start:end], row.data[start:end]):
                counts[t] = counts.get(t, 0.0) + f
        length = sum(counts.values()) or 1.0
        for t, f in counts.items():
            model[t] = model.get(t, 0.0) + scores[d] * f / length
    best = sorted(model.items(), key=lambda kv: -kv[1])[:p.fb_terms]
    norm = sum(w for _, w in best) or 1.0
    qnorm = sum(query.values()) or 1.0
    mixed = {t: p.fb_orig * w / qnorm for t, w in query.items()}
    for t, w in best:
        mixed[t] = mixed.get(t, 0.0) + (1 - p.fb_orig) * w / norm
    return mixed


def run(c: Collection, p: Params) -> dict[str, list[str]]:
    out = {}
    for qid, text in c.queries:
        stems = analyze(text)
        if not any(s in c.vocab for s in stems):
            out[qid] = []
            continue
        words = [c.vocab.get(s, -1) for s in dict.fromkeys(stems)]
        first_pos: dict[str, int] = {}
        for token in news_analyzer()(text, positions=True):
            first_pos.setdefault(token.text, token.pos)
        at = [first_pos.get(s, 0) for s in dict.fromkeys(stems)]
        gaps = [1] + [max(1, y - x) for x, y in zip(at, at[1:])]
        query: dict[int, float] = {}
        for s in stems:
            t = c.vocab.get(s, -1)
            query[t] = query.get(t, 0.0) + 1.0
        scores = score_words(c, query, p, words, gaps)
        if p.fb_docs and p.fb_min_words <= len(words) <= p.fb_max_words:
            known = {t: w for t, w in query.items() if t >= 0}
            expanded = rm3_weights(c, known, scores, p)
            scale = sum(known.values())
            scores = score_words(c, {t: w * scale for t, w in expanded.items()}, p, words, gaps)
        order = np.argsort(-scores, kind="stable")[:p.depth]
        out[qid] = [c.ids[d] for d in order if scores[d] > 0]
    return out


def measure(c: Collection, p: Params):
    return evaluate(run(c, p), c.qrels)


BM25S = {"cranfield": (0.4260, 0.5229, 0.3116), "cacm": (0.3578, 0.4993, 0.3712)}  # same run, depth 1000


def ratios(c: Collection, r) -> tuple[float, float, float]:
    peer = BM25S[c.name]
    return r.map / peer[0], r.ndcg10 / peer[1], r.p10 / peer[2]


def grid(collections: list[Collection]) -> None:
    """Every combination on both collections; prints one line per configuration."""
    options = dict(prox=("sdm", "none"), k1=(0.9, 1.2, 1.5), b=(0.4, 0.6, 0.75), fb_docs=(0, 5, 10),
                   fb_terms=(10,), fb_orig=(0.5, 0.7, 0.85), fb_min_words=(6,))
    seen = set()
    results = []
    for values in itertools.product(*options.values()):
        p = Params(**dict(zip(options, values)))
        if not p.fb_docs:
            p = replace(p, fb_terms=0, fb_orig=0)
        if p in seen:
            continue
        seen.add(p)
        figures = [ratios(c, measure(c, p)) for c in collections]
        results.append((values, figures))
        print(" ".join(f"{v}" for v in values), " ".join(f"{x:.4f}" for f in figures for x in f), flush=True)
    cross_validate(list(options), results, [c.name for c in collections])
    compare_proximity(list(options), results)


def compare_proximity(names: list[str], results: list) -> None:
    """Sequential dependence against no proximity, setting by setting (all else the same)."""
    by_rest: dict[tuple, dict[str, list]] = {}
    for values, figures in results:
        setting = dict(zip(names, values))
        by_rest.setdefault(tuple(v for k, v in setting.items() if k != "prox"), {})[setting["prox"]] = figures
    pairs = [(f["sdm"], f["none"]) for f in by_rest.values() if "sdm" in f and "none" in f]
    for metric, label in ((0, "MAP"), (1, "nDCG@10")):
        better = sum(all(s[i][metric] > n[i][metric] for i in range(len(s))) for s, n in pairs)
        gains = [sum(s[i][metric] - n[i][metric] for s, n in pairs) / len(pairs) for i in range(len(pairs[0][0]))]
        print(f"SDM vs none, {label}: better on every collection in {better} of {len(pairs)} settings; "
              f"mean gain " + ", ".join(f"{g:+.3f}" for g in gains))


def _objective(figures: tuple[float, float, float]) -> float:
    """The targets: the worse of the MAP and nDCG@10 ratios (ties: their sum)."""
    return min(figures[0], figures[1]) + 0.001 * (figures[0] + figures[1])


def cross_validate(names: list[str], results: list, collections: list[str]) -> None:
    """Tune on one collection, measure on the other (both directions), then the joint choice."""
    for tune, test in ((0, 1), (1, 0)):
        values, figures = max(results, key=lambda r: _objective(r[1][tune]))
        print(f"tuned on {collections[tune]}: {dict(zip(names, values))}")
        for i in (tune, test):
            print(f"  {collections[i]:<10} {'tuned' if i == tune else 'held out':<9} MAP x{figures[i][0]:.3f} "
                  f"nDCG@10 x{figures[i][1]:.3f} P@10 x{figures[i][2]:.3f}")
    values, figures = max(results, key=lambda r: min(_objective(f) for f in r[1]))
    print(f"joint: {dict(zip(names, values))} " + "; ".join(
        f"{c} MAP x{f[0]:.3f} nDCG@10 x{f[1]:.3f} P@10 x{f[2]:.3f}" for c, f in zip(collections, figures)))


def main() -> None:
    if sys.argv[1:] == ["grid"]:
        grid([Collection(d) for d in DEFAULT_DATA])
        return
    collections = [Collection(d) for d in DEFAULT_DATA]
    base = Params()
    variants = {
        "today": base,
        "no proximity": replace(base, prox="none"),
        "BM25TP": replace(base, prox="tp"),
        "RM3 10/10/0.5": replace(base, fb_docs=10),
        "RM3 + BM25TP": replace(base, fb_docs=10, prox="tp"),
    }
    for name, p in variants.items():
        figures = [measure(c, p) for c in collections]
        print(f"{name:<20} " + "  ".join(f"{c.name} MAP {r.map:.4f} nDCG {r.ndcg10:.4f} P10 {r.p10:.4f}"
                                        for c, r in zip(collections, figures)), flush=True)


if __name__ == "__main__":
    main()
