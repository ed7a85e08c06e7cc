"""Rank a query's matches: one page of results, with collapse, sort, facets and cluster sizes.

Matches come from one of three evaluations, all over whole posting lists as arrays:
plain words and exact phrases by their own fast paths here, any other query tree by
evaluate.py. Plain words score as the parse tree query.words_query builds says (BM25F per
word over title and body, the all-words boost), plus sequential dependence (formulas in
scoring.py), every segment's postings together:

    base(d)  = (1 + ALL_WORDS_BOOST if d has every word, up to SHORT_QUERY words, else 1)
               x sum over words w of qtf(w) x BM25F(w, d)
    final(d) = base(d) + sum over pairs (a, b) of consecutive distinct query words of
               proximity_score(idf(a) + idf(b), tf_ordered(a b, d), tf_unordered(a b, d))

The proximity part needs word positions, which are only read for the articles that can
still reach the page: a pair adds at most proximity_bound(idf(a) + idf(b), the smaller of
the two words' BM25F frequencies in d), so an article's final score is at most base + those
bounds (its upper bound), and articles are checked in order of that bound until the next
bound cannot beat the page's last result; positions are compared as sorted (article,
position) keys with numpy, for all of those articles at once (phrases the same way). When
the page size is known, a match whose base score plus every pair's largest possible
proximity score stays below the page-size-th best base score is counted but neither
ranked nor bounded (_hopeful).

A page ranked by score does not score every match when one word is rare and another
common (_pruned, MaxScore; collapsed without facets, it ranks clusters: the threshold is the
page's last place among distinct clusters; with facets every article of a shared cluster
needs its score, as each cluster is counted by its best one): each word's score is at most its saturation
limit (idf x qtf x (K1 + 1), and a pair's proximity score likewise: proximity_limit), so once the best
articles of the rarest word are scored, the words whose limits add up to less than the
page's last score so far cannot bring an article onto the page by themselves, and only
the articles with one of the other words are scored; the matches are still all counted
(and their facets) without scores. Each word's BM25F frequency in each of its documents
(title and body together) is computed once and kept (ArrayCache.memo) while the segments
and average lengths are the same, so a query makes one pass per word over it. Filters (dates, source),
near-duplicate collapse, facets, the timeline counts and cluster sizes are array operations
on the same matches, over index-wide columns kept between queries (a day and source number
per article: a query's date and source counts are one bincount). The counts around a chosen
source or dates (the same words through another filter: rank(recount=)) are taken from the
word lists the ranking read, not from a second evaluation.
"""

from __future__ import annotations

import copy
from itertools import accumulate
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from whoosh import query as wq
from whoosh.query.ranges import NumericRange
from whoosh.util.times import datetime_to_long

from ..arrays import ArrayCache, SegmentCache
from . import scoring
from .evaluate import Evaluator, Expansion, Matches
from .format import PositionBatch
from .scoring import CorpusStats
from .segment import Snapshot, hash_value

SEARCH_FIELDS = ("title", "body")
_EPOCH_US = datetime_to_long(datetime(1970, 1, 1))  # Whoosh stores microseconds since year 1


@dataclass
class Boosts:
    """The ranking constants of query.words_query (passed in, so the two cannot drift)."""

    all_words: float
    short_query: int
    proximity: bool  # sequential dependence of consecutive words (scoring.proximity_score)
    use_qtf: bool


@dataclass
class Ranking:
    """What search() needs from a ranked query.

    `docs` is the requested page's window of (global docnum, score), best first (after
    collapse); `total` counts what is shown (clusters when collapsed); `cluster_sizes` maps
    a listed docnum to its cluster's matches; `sources` and `dates` are facet counts of the
    shown results (dates as {naive UTC datetime: count} at the start of each day, month or
    year, plus the exact first and last moments with count 0, so that the timeline sees the
    real range).
    """

    docs: list[tuple[int, float]]
    total: int
    cluster_sizes: dict[int, int] = field(default_factory=dict)
    sources: dict[str, int] = field(default_factory=dict)
    dates: dict[datetime, int] = field(default_factory=dict)
    timed_out: bool = False  # the deadline passed: some terms were not read
    capped: list[Expansion] = field(default_factory=list)  # expansions cut at max_expansions
    stored: dict[int, dict] = field(default_factory=dict)  # the window's stored fields, by docnum
    # rank(recount=): the total and facets of the same query through each other filter
    recounts: list["Ranking"] = field(default_factory=list)


@dataclass(frozen=True)
class Recount:
    """Another filter to count a ranked query through (rank(recount=)): its total and
    sources, and its dates unless dates=False."""

    flt: wq.Query | None
    dates: bool = True


@dataclass
class _Segment:
    reader: object
    offset: int
    cache: SegmentCache


# Plain words are scored over posting-sized arrays when their postings number less than
# 1/SPARSE_BELOW of the index's documents, else over index-sized ones (measured at 100k).
SPARSE_BELOW = 16
# Over index-sized arrays, the matches are the typed words' documents merged (a sort of
# their lists) when those number less than 1/MERGE_BELOW of the index's documents, else
# the documents set in an index-sized mask.
MERGE_BELOW = 4
# A pair's bounds find each word's frequency at the matches by binary search when those
# number less than 1/SEARCH_BELOW of its list, else through an index-sized array.
SEARCH_BELOW = 16
FIRST_ROUND = 160  # _best first works out final scores for the 4 x stop (at least this many) best upper bounds
ONE_ROUND = 1024  # ... or for every row that can reach the page, when they are at most this many
_NOTHING = (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32), None)


class _Query:
    """Per-query statistics: each word's qtf, BM25F idf, each pair's idf, fields' averages."""

    def __init__(self, searcher, stems: list[str], boosts: Boosts, segments: list[_Segment],
                 values: bool = False, stats: CorpusStats | None = None, late=lambda: False,
                 weights: dict[str, float] | None = None) -> None:
        counts: dict[str, int] = {}
        for s in stems:
            counts[s] = counts.get(s, 0) + 1
        # The typed words first (the all-words boost and proximity are theirs), then any
        # feedback terms; `weights` (scoring.feedback_weights) replaces the typed counts.
        self.typed = len(counts)
        self.words = list(counts) + [w for w in (weights or {}) if w not in counts]
        if weights is not None:
            self.qtf = [weights.get(w, 0.0) for w in self.words]
        else:
            self.qtf = [float(counts[w]) if boosts.use_qtf else 1.0 for w in self.words]
        self.pairs = scoring.proximity_pairs(self.typed) if boosts.proximity else []
        # postings[segment][word][field]; a word left when the deadline passed matches nothing
        self.postings = [[{} for _ in self.words] for _ in segments]
        for w, word in enumerate(self.words):
            skip = late()
            for s, seg in enumerate(segments):
                for name in SEARCH_FIELDS:
                    self.postings[s][w][name] = _NOTHING if skip else seg.cache.postings(
                        seg.reader, name, word, values=values or bool(self.pairs))
        if stats is None:  # the index's own: frequencies from the postings just read
            df = {(name, w): sum(len(per_seg[i][name][0]) for per_seg in self.postings)
                  for i, w in enumerate(self.words) for name in SEARCH_FIELDS}
            stats = CorpusStats(sum(seg.cache.doc_count for seg in segments),
                                {name: int(searcher.field_length(name)) for name in SEARCH_FIELDS}, df)
        self.idf = [stats.word_idf(w, SEARCH_FIELDS) for w in self.words]
        self.pair_idf = [self.idf[a] + self.idf[b] for a, b in self.pairs]
        self.field_idf = {name: [stats.idf(name, w) for w in self.words] for name in SEARCH_FIELDS}
        self.avg = {f: stats.avg_length(f) for f in SEARCH_FIELDS}
        self.all_words = (1.0 + boosts.all_words) if 1 < self.typed <= boosts.short_query else 1.0
        self.segments = segments
        self.cache: ArrayCache | None = None  # keeps field_arrays and word_arrays between queries
        self.chosen: np.ndarray | None = None  # both give only these documents' postings
        self.top: int | None = None  # how many results ranked by final score are wanted (_hopeful_bounds)
        self._arrays: dict[tuple[int, str], tuple] = {}  # field_arrays already asked for
        self._words: dict[int, tuple] = {}  # word_arrays already asked for

    def field_arrays(self, w: int, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Word w's postings in field `name` over every segment: (global docnums int64, each
        posting's BM25F share weight x tf / norm). They depend only on the segments, the
        field's average length and its b and weight, so they are kept between queries (a
        word's lists are computed once, not at every query)."""
        found = self._arrays.get((w, name))
        if found is not None:
            return found
        postings = [per_seg[w][name] for per_seg in self.postings]
        key = ("field", tuple(seg.cache.key for seg in self.segments), name, self.words[w], self.avg[name],
               scoring.field_b(name), scoring.field_weight(name))
        if self.cache is not None and not any(p is _NOTHING for p in postings):
            found = self.cache.memo(key, lambda: _read_only(_field_arrays(self, postings, name)))
        else:
            found = _field_arrays(self, postings, name)
        if self.chosen is not None and len(found[0]):
            keep = self.chosen[found[0]]
            found = found[0][keep], found[1][keep]
        self._arrays[(w, name)] = found
        return found

    def word_arrays(self, w: int) -> tuple[np.ndarray, np.ndarray]:
        """Word w's documents over every segment (global docnums int64, sorted) and its BM25F
        frequency in each (float64): the sum of its field_arrays' shares, title first. Kept
        between queries as field_arrays are (a query then makes one pass over a word, not
        one per field); only the documents of `chosen` are merged when not kept already."""
        found = self._words.get(w)
        if found is not None:
            return found
        found = self._kept(w)
        if found is None:
            if self.chosen is None and self.cache is not None and self._cacheable(w):
                found = self.cache.memo(self._word_key(w), lambda: _read_only(_word_arrays(self, w)))
            else:
                found = _word_arrays(self, w)
        self._words[w] = found
        return found

    def word_parts(self, w: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Word w's postings as parts whose shares add up (in order) to its BM25F frequency:
        [word_arrays] when already worked out, else its non-empty field_arrays (no merge)."""
        found = self._words.get(w)
        if found is None:
            found = self._kept(w)
            if found is not None:
                self._words[w] = found
        if found is not None:
            return [found]
        return [part for part in (self.field_arrays(w, name) for name in SEARCH_FIELDS) if len(part[0])]

    def _word_key(self, w: int) -> tuple:
        return ("word", tuple(seg.cache.key for seg in self.segments), self.words[w],
                tuple((self.avg[name], scoring.field_b(name), scoring.field_weight(name)) for name in SEARCH_FIELDS))

    def _cacheable(self, w: int) -> bool:  # every list read (none skipped at the deadline)
        return not any(per_seg[w][name] is _NOTHING for per_seg in self.postings for name in SEARCH_FIELDS)

    def _kept(self, w: int) -> tuple[np.ndarray, np.ndarray] | None:
        """word_arrays as kept between queries (only `chosen` documents'), or None."""
        if self.cache is None or not self._cacheable(w):
            return None
        found = self.cache.peek(self._word_key(w))
        if found is not None and self.chosen is not None and len(found[0]):
            keep = self.chosen[found[0]]
            found = found[0][keep], found[1][keep]
        return found


def _word_arrays(q: _Query, w: int) -> tuple[np.ndarray, np.ndarray]:
    """_Query.word_arrays worked out from the word's field_arrays: their sum per document,
    title first. Long lists are added up in an index-sized array, short ones by a stable
    sort of both."""
    fields = [part for part in (q.field_arrays(w, name) for name in SEARCH_FIELDS) if len(part[0])]
    if len(fields) <= 1:  # one field: its shares are the sums (0.0 + x is x)
        return fields[0] if fields else (np.zeros(0, dtype=np.int64), np.zeros(0))
    found = [docs for docs, _ in fields]
    n = sum(seg.cache.doc_count for seg in q.segments)
    if sum(len(docs) for docs in found) * SPARSE_BELOW >= n:
        tf = np.zeros(n)
        for i, (docs, share) in enumerate(_first_longest(fields)):
            if i == 0:  # into zeros: 0.0 + x is x (no read back)
                tf[docs] = share
            else:
                tf[docs] += share
        # the documents: a scan of the index beats a merge of lists this long (every share is > 0)
        has = _merged(found) if sum(len(docs) for docs in found) * MERGE_BELOW < n else np.flatnonzero(tf != 0.0)
        return has, tf[has]
    docs, where = _grouped(found)
    return docs, np.bincount(where, weights=np.concatenate([share for _, share in fields]), minlength=len(docs))


def _read_only(arrays: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """The arrays, made read-only (kept between queries: no query may change them)."""
    for a in arrays:
        a.flags.writeable = False
    return arrays


def _grouped(parts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(np.concatenate(parts), return_inverse=True) by a stable sort (~4x faster:
    the parts are sorted runs), so that a bincount over `where` adds the values of each
    distinct one in the order of `parts`."""
    values = np.concatenate(parts)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    first = np.ones(len(values), dtype=bool)
    first[1:] = ordered[1:] != ordered[:-1]
    where = np.empty(len(values), dtype=np.intp)
    where[order] = np.cumsum(first) - 1
    return ordered[first], where


def _field_arrays(q: _Query, postings: list, name: str) -> tuple[np.ndarray, np.ndarray]:
    """A word's postings in field `name` over every segment: (global docnums int64, each
    posting's BM25F share weight x tf / norm), each segment's part written in place, with
    the length norms of each segment's documents worked out once (_norms)."""
    used = [(seg, ids, weights) for seg, (ids, weights, _) in zip(q.segments, postings) if len(ids)]
    docs = np.empty(sum(len(ids) for _, ids, _ in used), dtype=np.int64)
    share = np.empty(len(docs))
    weight = np.float64(scoring.field_weight(name))  # float64: weights x it is worked out in float64
    at = 0
    for seg, ids, weights in used:
        part = slice(at, at + len(ids))
        np.add(ids, np.int64(seg.offset), out=docs[part])
        if weight == 1.0:  # x 1.0 changes nothing
            np.divide(weights, _norms(q, seg, name)[ids], out=share[part])
        else:
            np.multiply(weights, weight, out=share[part])
            share[part] /= _norms(q, seg, name)[ids]
        at += len(ids)
    return docs, share


def _norms(q: _Query, seg: _Segment, name: str) -> np.ndarray:
    """Each of the segment's documents' BM25F length norm of field `name` (field_b, the
    query's average length), kept between queries while the average is the same."""
    b, avg = scoring.field_b(name), q.avg[name]

    def compute() -> tuple[np.ndarray]:
        return ((1 - b) + b * (seg.cache.lengths(seg.reader, name) / avg),)

    if q.cache is None:
        return compute()[0]
    return q.cache.memo(("norms", seg.cache.key, name, avg, b), compute)[0]


def _score_sparse(q: _Query, keep: np.ndarray):
    """The matches in all segments at once (one pass per word over every segment's postings
    together, so the cost does not grow with the number of segments): global docnums, base
    scores and each pair's proximity bound (scoring.proximity_bound, 0 without both words).
    `keep` is the documents that may match (live and through the filter). Every array is
    the size of the posting lists, never of the index (sorting them: for short lists, or
    for one word, whose documents need no sorting)."""
    k1 = scoring.K1
    word_docs, word_scores, typed_of = [], [], []
    word_tf: list = [None] * q.typed  # each typed word's (docs, BM25F frequency) for the bounds
    for w in range(len(q.words)):
        docs, t = q.word_arrays(w)
        if not len(docs):
            continue
        if w < q.typed:
            word_tf[w] = (docs, t)
        word_docs.append(docs)
        typed_of.append(w)
        word_scores.append(q.idf[w] * q.qtf[w] * t * (k1 + 1) / (t + k1))
    if not word_docs:
        empty = np.zeros(0, dtype=np.int64)
        return empty, np.zeros(0), [np.zeros(0) for _ in q.pairs], None
    if len(word_docs) == 1:  # one word's documents: its scores are the totals, no all-words boost
        kept = keep[word_docs[0]] & (typed_of[0] < q.typed)  # feedback terms never add matches
        docs, base = word_docs[0][kept], word_scores[0][kept]
        return _hopeful(q, docs, base, lambda some: _pair_bounds(q, some, word_tf))
    docs, where = _grouped(word_docs)
    total = np.bincount(where, weights=np.concatenate(word_scores), minlength=len(docs))
    kept = keep[docs]
    if q.all_words != 1.0 or len(q.words) > q.typed:  # else every word is typed: each doc has one
        typed = np.concatenate([np.full(len(d), w < q.typed) for w, d in zip(typed_of, word_docs)])
        present = np.bincount(where, weights=typed, minlength=len(docs))  # typed words only
        if q.all_words != 1.0:
            total[present == q.typed] *= q.all_words
        kept &= present > 0  # feedback terms re-rank, they never add matches
    docs, base = docs[kept], total[kept]
    return _hopeful(q, docs, base, lambda some: _pair_bounds(q, some, word_tf))


def _pair_bounds(q: _Query, docs: np.ndarray, word_tf: list) -> list[np.ndarray]:
    """For each pair of q: the most its proximity score can be in each of `docs` (sorted),
    from the typed words' (docs, BM25F frequency), 0 where a word is missing."""
    bounds = []
    for p, (a, b) in enumerate(q.pairs):
        possible = np.zeros(len(docs))
        if word_tf[a] is not None and word_tf[b] is not None:
            (ids_a, tf_a), (ids_b, tf_b) = word_tf[a], word_tf[b]
            both, i, j = _common_rows(ids_a, ids_b)
            rows = np.searchsorted(docs, both)
            inside = rows < len(docs)
            inside[inside] = docs[rows[inside]] == both[inside]
            smaller = np.minimum(tf_a[i], tf_b[j])[inside]
            possible[rows[inside]] = scoring.proximity_bound(q.pair_idf[p], smaller)
        bounds.append(possible)
    return bounds


def _score_dense(q: _Query, n: int, keep: np.ndarray):
    """_score over index-sized arrays: one scatter per word, no sorting (for long posting
    lists). The matches are the typed words' lists merged when short next to the index
    (MERGE_BELOW), else the nonzero totals (every word's score is > 0) or, with feedback
    terms (which never add matches) or the all-words boost, a mask of the typed words."""
    k1 = scoring.K1
    total = np.zeros(n)
    counted = q.all_words != 1.0  # the all-words boost needs how many typed words of each match
    present = np.zeros(n, dtype=np.int16) if counted else None
    word_tf: list = [None] * q.typed
    words = [(w, *q.word_arrays(w)) for w in range(len(q.words))]
    for i, (w, has, t) in enumerate(_first_longest([word for word in words if len(word[1])], at=1)):
        score = q.idf[w] * q.qtf[w] * t  # scoring.bm25f, the same operations in place
        score *= k1 + 1
        score /= t + k1
        if i == 0:  # into zeros: 0.0 + x is x (no read back)
            total[has] = score
        else:
            total[has] += score
        if w < q.typed:
            if counted:
                present[has] += 1
            word_tf[w] = (has, t)
    typed = [found[0] for found in word_tf if found is not None]
    if counted:
        docs = np.flatnonzero((present > 0) & keep)
    elif len(q.words) == q.typed and sum(len(has) for has in typed) * MERGE_BELOW >= n:
        found = total != 0.0
        found &= keep
        docs = np.flatnonzero(found)
    else:
        docs = _union(typed, keep)
    base = total[docs]
    if counted:
        base[present[docs] == q.typed] *= q.all_words
    return _hopeful(q, docs, base, lambda some: _pair_bounds_dense(q, some, word_tf, n))


def _first_longest(parts: list, at: int = 0) -> list:
    """`parts` (summed in this order) with the longer of the first two lists first: with
    two terms, a + b is b + a to the bit, so the longer can be written into zeros instead
    of added (the sums after the first two keep their order)."""
    if len(parts) >= 2 and len(parts[1][at]) > len(parts[0][at]):
        return [parts[1], parts[0], *parts[2:]]
    return parts


def _pair_bounds_dense(q: _Query, docs: np.ndarray, word_tf: list, n: int) -> list[np.ndarray]:
    """_pair_bounds for long lists: each word's BM25F frequency at `docs` found by binary
    search when `docs` are few next to its list (SEARCH_BELOW), else scattered into an index-sized array
    and read back, where matching two long lists by binary search costs ~10x more. A
    missing word reads as frequency 0, whose bound is 0, as _pair_bounds puts it."""
    at: dict[int, np.ndarray] = {}
    scratch = None

    def frequency(w: int) -> np.ndarray:  # word w's frequency in each of docs
        nonlocal scratch
        if w not in at:
            has, t = word_tf[w]
            if len(docs) * SEARCH_BELOW < len(has):
                rows = np.minimum(np.searchsorted(has, docs), len(has) - 1)
                at[w] = np.where(has[rows] == docs, t[rows], 0.0)
            else:
                if scratch is None:
                    scratch = np.zeros(n)
                scratch[has] = t
                at[w] = scratch[docs]
                scratch[has] = 0.0
        return at[w]

    bounds = []
    for p, (a, b) in enumerate(q.pairs):
        if word_tf[a] is None or word_tf[b] is None:
            bounds.append(np.zeros(len(docs)))
        else:
            bounds.append(scoring.proximity_bound(q.pair_idf[p], np.minimum(frequency(a), frequency(b))))
    return bounds


def _hopeful(q: _Query, docs: np.ndarray, base: np.ndarray, bounds_of) -> tuple:
    """(docs, base scores, each pair's proximity bounds bounds_of(docs), every match or
    None) of only the matches that can still reach the first q.top places by final score,
    and all of them (`every`) when some cannot: the top-th best base score is a lower
    bound of the last place's final score (proximity never lowers a score), so a match
    whose base plus the most its pairs can add (every pair's largest possible score,
    scoring.proximity_limit, and at most scoring.proximity_share of the base) stays below
    it cannot get there. They are counted (and their facets), never ranked, and their
    bounds are not worked out. At 100k, common-word queries rule out most matches;
    without pairs (one word) only the top-th best base scores and their ties are left."""
    if q.top is None or len(base) <= q.top:
        return docs, base, bounds_of(docs), None
    theta = float(base[_top_rows(base, q.top)].min())
    cut = theta - sum(scoring.proximity_limit(idf) for idf in q.pair_idf)  # every pair at its limit
    if all(q.qtf[w] >= 1 for pair in q.pairs for w in pair):  # and at most a share of the base score
        pairs_of = max((sum(w in pair for pair in q.pairs) for w in range(q.typed)), default=0)
        cut = max(cut, theta / (1 + scoring.proximity_share(pairs_of)))
    reach = base >= cut - theta * 1e-9  # rounding slack
    if reach.all():
        return docs, base, bounds_of(docs), None
    return docs[reach], base[reach], bounds_of(docs[reach]), docs


def _union(lists: list[np.ndarray], keep: np.ndarray) -> np.ndarray:
    """The documents in any of `lists` (sorted global docnums) that `keep` keeps, sorted:
    the lists merged when short next to the index (MERGE_BELOW) or only one, else set in
    an index-sized mask."""
    if len(lists) <= 1 or sum(len(docs) for docs in lists) * MERGE_BELOW < len(keep):
        docs = _merged(lists)
        return docs[keep[docs]]
    mask = np.zeros(len(keep), dtype=bool)
    for docs in lists:
        mask[docs] = True
    mask &= keep
    return np.flatnonzero(mask)


def _merged(parts: list[np.ndarray]) -> np.ndarray:
    """The values of sorted unique arrays together, sorted and unique (a merge of sorted runs:
    numpy's stable sort of their concatenation)."""
    if len(parts) <= 1:
        return parts[0] if parts else np.zeros(0, dtype=np.int64)
    values = np.sort(np.concatenate(parts), kind="stable")
    keep = np.ones(len(values), dtype=bool)
    keep[1:] = values[1:] != values[:-1]
    return values[keep]


def _score(q: _Query, keep: np.ndarray):
    """The matches, base scores, pair bounds (see _score_sparse) and every match when some
    are left out (_hopeful), else None: over arrays the size of
    the postings when they are short next to the index (no work proportional to the index),
    over index-sized arrays when they are long (scatter-adds beat sorting them). Both sum
    the same numbers in the same order."""
    postings = sum(len(docs) for w in range(len(q.words)) for docs, _ in q.word_parts(w))
    if len(q.words) == 1 or postings * SPARSE_BELOW < len(keep):
        return _score_sparse(q, keep)
    return _score_dense(q, len(keep), keep)


def phrase_of(q: wq.Query) -> tuple[list[str], tuple[str, ...]] | None:
    """(words, fields) when `q` is only an exact phrase of distinct words in title and/or
    body (what `"brazil stocks"` or `title:"brazil stocks"` parse to), else None."""
    parts = q.subqueries if type(q) is wq.Or and q.boost == 1.0 else [q]
    if not parts or not all(type(p) is wq.Phrase and p.slop == 1 and p.boost == 1.0 and not p.char_ranges
                            and p.fieldname in SEARCH_FIELDS for p in parts):
        return None
    words = list(parts[0].words)
    fields = tuple(p.fieldname for p in parts)
    if (len(words) < 2 or len(set(words)) != len(words) or any(list(p.words) != words for p in parts)
            or len(set(fields)) != len(fields)):
        return None
    return words, fields


def _phrase(q: _Query, segments: list[_Segment], mask: np.ndarray | None, fields: tuple[str, ...]
            ) -> tuple[np.ndarray, np.ndarray]:
    """The articles (global docnums, sorted) with the phrase in one of `fields` and through
    `mask` (None: all), scored like Whoosh's Or(Phrase per field): for each field with the
    phrase, the sum of its words' BM25 there. Per field, every segment's candidates (the
    articles with every word) are checked together: a segment costs its look-ups and
    reads, the positions' decoding and matching and the scores are one pass. Every array is
    the size of the candidates, none of a segment."""
    k1, b = scoring.K1, scoring.B
    words = len(q.words)
    parts = []  # per field with the phrase: (its articles, each word's BM25 in them)
    for name in fields:
        found = []  # per segment with candidates: (global docnums, each word's postings rows, lengths)
        for s, seg in enumerate(segments):
            lists = [q.postings[s][w][name] for w in range(words)]
            if any(not len(ids) for ids, _, _ in lists):
                continue
            dense = sum(len(ids) for ids, _, _ in lists) * SPARSE_BELOW >= seg.cache.doc_count
            if dense:  # counted in a segment-sized array: no binary search through long lists
                count = np.zeros(seg.cache.doc_count, dtype=np.int16)
                for ids, _, _ in lists:
                    count[ids] += 1
                candidates = np.flatnonzero(count == words)
            else:
                candidates = lists[0][0]
                for ids, _, _ in lists[1:]:
                    candidates = _common(candidates, ids)
            keep = ~seg.cache.deleted(seg.reader)[candidates]
            if mask is not None:
                keep &= mask[candidates + seg.offset]
            candidates = candidates[keep]
            if len(candidates):
                found.append((s, candidates.astype(np.int64) + seg.offset,
                              [_rows_of(ids, candidates, seg.cache.doc_count if dense else 0) for ids, _, _ in lists],
                              seg.cache.lengths(seg.reader, name)[candidates]))
        if not found:
            continue
        hits = _phrase_rows([[(q.postings[s][w][name][2], rows[w]) for s, _, rows, _ in found] for w in range(words)])
        if not len(hits):
            continue
        chosen = np.concatenate([docs for _, docs, _, _ in found])[hits]
        norm = (1 - b) + b * np.concatenate([lengths for _, _, _, lengths in found])[hits] / q.avg[name]
        scores = []
        for w in range(words):
            weights = [q.postings[s][w][name][1][rows[w]] for s, _, rows, _ in found]
            tf = np.concatenate(weights)[hits].astype(np.float64)
            scores.append(q.field_idf[name][w] * tf * (k1 + 1) / (tf + k1 * norm))
        parts.append((chosen, scores))
    if not parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    docs = _merged([chosen for chosen, _ in parts])  # np.union1d sorts with no regard to the sorted runs
    total = np.zeros(len(docs))
    for chosen, scores in parts:  # each article's sum in field order, then word order
        at = np.searchsorted(docs, chosen)
        for score in scores:
            total[at] += score
    return docs, total


def _rows_of(ids: np.ndarray, docs: np.ndarray, doc_count: int = 0) -> np.ndarray:
    """Where each of `docs` (sorted, all in `ids`) is in the sorted list `ids`: by binary
    search, or through a `doc_count`-sized array of every id's place when doc_count is
    given (long lists: one scatter and one gather, no log factor)."""
    if not doc_count:
        return np.searchsorted(ids, docs)
    place = np.empty(doc_count, dtype=np.intp)
    place[ids] = np.arange(len(ids), dtype=np.intp)
    return place[docs]


def _phrase_rows(reads: list[list[tuple]]) -> np.ndarray:
    """The candidates (numbered in order over every read) in which word w is at position
    p + w for every w of a phrase, given for each word its (FlatPositions, the postings
    rows of the candidates, ascending) per segment, the same candidates for every word:
    all read as one batch, each position as a key (candidate, position - w) that the next
    word's keys are matched against."""
    words = len(reads)
    batch = PositionBatch()
    ends = np.cumsum([sum(int(positions.read(batch, rows).sum()) for positions, rows in parts)
                      for parts in reads]).tolist()
    owners = np.arange(sum(len(rows) for _, rows in reads[0]), dtype=np.int64) << 32
    keys = batch.keys([owners + (words - w) for w in range(words)])  # + words: never below 0
    common = keys[:ends[0]]
    for w in range(1, words):  # each word's keys are sorted and unique
        common = _common(common, keys[ends[w - 1]:ends[w]])
        if not len(common):
            break
    found = common >> 32
    return found[np.concatenate(([True], found[1:] != found[:-1]))] if len(found) else found


def _common_rows(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """np.intersect1d(a, b, assume_unique=True, return_indices=True) for sorted unique
    arrays, by binary search of the shorter in the longer (no sort of both together)."""
    if len(a) > len(b):
        both, j, i = _common_rows(b, a)
        return both, i, j
    if not len(a) or not len(b):
        empty = np.zeros(0, dtype=np.int64)
        return a[:0], empty, empty
    at = np.minimum(np.searchsorted(b, a), len(b) - 1)
    i = np.flatnonzero(b[at] == a)
    return a[i], i, at[i]


# _common merges two sorted lists (a stable sort of both: numpy's timsort merges the two
# runs in one linear pass) when the longer has fewer than MERGE_WITHIN x the shorter's values
# and the shorter at least MERGE_FROM; else it looks the shorter up in the longer (measured:
# 100k positions against 120k, 1.0 ms merged against 2.1 ms by binary search).
MERGE_WITHIN = 8
MERGE_FROM = 512


def _common(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The values in both `a` and `b` (each sorted and unique), sorted: the shorter looked up
    in the longer by binary search, or both merged when about as long (MERGE_WITHIN),
    without sorting either again (as np.intersect1d does)."""
    if len(a) > len(b):
        a, b = b, a
    if not len(b):
        return b
    if len(a) >= MERGE_FROM and len(b) < MERGE_WITHIN * len(a):
        values = np.sort(np.concatenate((a, b)), kind="stable")
        return values[:-1][values[1:] == values[:-1]]
    at = np.minimum(np.searchsorted(b, a), len(b) - 1)
    return a[b[at] == a]


def _any_within(keys: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """For each (low, high): whether some of the sorted `keys` lies in [low, high]."""
    return np.searchsorted(keys, high, side="right") > np.searchsorted(keys, low, side="left")


class _Proximity:
    """Exact sequential-dependence scores, computed on demand for chosen matches."""

    def __init__(self, q: _Query, segments: list[_Segment], seg_of: np.ndarray, local: np.ndarray,
                 pair_bounds: list[np.ndarray]) -> None:
        self.q, self.segments = q, segments
        self.seg_of, self.local, self.pair_bounds = seg_of, local, pair_bounds

    def bonus(self, rows: np.ndarray) -> np.ndarray:
        """The proximity score of each match row in `rows`: over its pairs, each pair's
        proximity_score from its ordered and unordered counts in title and body (BM25F).

        The rows are grouped by segment; each word's place in its postings of each field is
        found for every row at once (_places), its positions in the chosen articles are read
        per segment and field, only read: every read of the call
        is decoded in one pass (format.PositionBatch) straight into one sortable key per
        position (word, field, article, position). Each word's keys are put once per pair
        it is in, so that the window counts of every pair in both fields take one pass
        (_window_counts): the cost is per call and per read, not per pair or position."""
        q = self.q
        out = np.zeros(len(rows))
        if not q.pairs or not len(rows):
            return out
        n, pairs = len(rows), len(q.pairs)
        chosen = np.array([self.pair_bounds[p][rows] > 0 for p in range(pairs)])  # both words are in the article
        grouped = np.lexsort((self.local[rows], self.seg_of[rows]))  # the rows by segment, then document
        segs = self.seg_of[rows[grouped]]
        local = self.local[rows[grouped]]
        cuts = np.searchsorted(segs, np.arange(len(self.segments) + 1)).tolist()
        blocks = [(s, cuts[s], cuts[s + 1]) for s in range(len(self.segments)) if cuts[s] < cuts[s + 1]]
        words = sorted({w for pair in q.pairs for w in pair})
        partners = {w: [(p, b if a == w else a) for p, (a, b) in enumerate(q.pairs) if w in (a, b)] for w in words}
        # a word's positions are needed in the rows where one of its pairs can score
        wanted = {w: np.any(chosen[[p for p, _ in partners[w]]], axis=0)[grouped] for w in words}
        weight = np.zeros((len(SEARCH_FIELDS), n))  # each field's BM25F weight in each (grouped) row
        for f, name in enumerate(SEARCH_FIELDS):
            lengths, scale = np.empty(n), np.empty(n)
            for s, start, end in blocks:
                seg = self.segments[s]
                lengths[start:end] = seg.cache.lengths(seg.reader, name)[local[start:end]]
                scale[start:end] = scoring.field_weight(name) * seg.cache.segment.boost(name)
            field_b = scoring.field_b(name)
            weight[f] = scale / ((1 - field_b) + field_b * lengths / q.avg[name])
        # where each word's postings of each field would hold each row (in the row's segment), which do
        docs = local + np.array([seg.offset for seg in self.segments], dtype=np.int64)[segs]  # global docnums
        found = {(w, f): self._places(w, name, segs, local, docs, blocks)
                 for w in words for f, name in enumerate(SEARCH_FIELDS)}
        # Every position read becomes one key (word, field, grouped row) << 32 | position + width
        # (+ width: never below 0 shifted); read word by word, field by field, segment by
        # segment, in row order, the keys come out sorted.
        block = len(SEARCH_FIELDS) * n
        width = scoring.SDM_WINDOW - 1
        batch, offsets = PositionBatch(), []
        for w in words:
            for f, name in enumerate(SEARCH_FIELDS):
                if found[w, f] is None:
                    continue
                where, has = found[w, f]
                need = np.zeros(n, dtype=bool)  # one of its pairs' other words is in the field
                for _, other in partners[w]:
                    if found[other, f] is not None:
                        need |= found[other, f][1]
                need &= has
                need &= wanted[w]
                inside = np.flatnonzero(need)
                if not len(inside):
                    continue
                parts = np.searchsorted(inside, cuts).tolist()
                for s, _, _ in blocks:
                    part = inside[parts[s]:parts[s + 1]]
                    if len(part):
                        q.postings[s][w][name][2].read(batch, where[part])
                        offsets.append(((w * block + f * n + part) << 32) + width)
        if not offsets:
            return out
        keys = batch.keys(offsets)
        bounds = np.searchsorted(keys, (np.arange(max(words) + 2, dtype=np.int64) * block) << 32).tolist()
        joined = {w: keys[bounds[w]:bounds[w + 1]] for w in words}
        # each pair's keys: its first and second word's, retagged (word -> pair)
        first = np.concatenate([joined[a] + (((p - a) * block) << 32) for p, (a, _) in enumerate(q.pairs)])
        second = np.concatenate([joined[b] + (((p - b) * block) << 32) for p, (_, b) in enumerate(q.pairs)])
        ordered, unordered = _window_counts(first, second, pairs * block, width)
        ordered = ordered.reshape(pairs, len(SEARCH_FIELDS), n)
        unordered = unordered.reshape(pairs, len(SEARCH_FIELDS), n)
        tf_o = np.zeros((pairs, n))
        tf_u = np.zeros((pairs, n))
        tf_o[:, grouped] = ordered[:, 0] * weight[0]  # then the other fields' shares, in order
        tf_u[:, grouped] = unordered[:, 0] * weight[0]
        for f in range(1, len(SEARCH_FIELDS)):
            tf_o[:, grouped] += ordered[:, f] * weight[f]
            tf_u[:, grouped] += unordered[:, f] * weight[f]
        # every pair's score in every row at once (one pass, not ~12 small ones per pair),
        # added pair by pair as before where the pair can score (elsewhere it adds 0.0)
        scores = scoring.proximity_score(np.asarray(q.pair_idf, dtype=np.float64)[:, None], tf_o, tf_u)
        for p in range(pairs):
            out += np.where(chosen[p], scores[p], 0.0)
        return out

    def _places(self, w: int, name: str, segs: np.ndarray, local: np.ndarray, docs: np.ndarray, blocks: list
                ) -> tuple[np.ndarray, np.ndarray] | None:
        """(where word w's postings in field `name` of each row's segment would hold the row,
        whether they do) for rows in segment `segs` with docnums `local` (global `docs`,
        grouped by segment in `blocks`), or None when no segment has the word there: one
        binary search through the word's list over every segment (its field_arrays, when
        this query made them), else one per segment."""
        q = self.q
        lists = [per_seg[w][name][0] for per_seg in q.postings]
        sizes = [len(ids) for ids in lists]
        if not any(sizes):
            return None
        made = q._arrays.get((w, name)) if q.chosen is None else None
        if made is not None:  # every segment's list end to end, as global docnums
            starts = np.array([0, *accumulate(sizes[:-1])], dtype=np.int64)  # where each segment's part begins
            at = np.minimum(np.searchsorted(made[0], docs), len(made[0]) - 1)
            return at - starts[segs], made[0][at] == docs
        where = np.zeros(len(local), dtype=np.intp)
        has = np.zeros(len(local), dtype=bool)
        for s, start, end in blocks:
            ids = lists[s]
            if len(ids):
                at = np.minimum(np.searchsorted(ids, local[start:end]), len(ids) - 1)
                where[start:end] = at
                has[start:end] = ids[at] == local[start:end]
        return where, has


def _window_counts(first: np.ndarray, second: np.ndarray, owners: int, width: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Per owner (0..owners-1), given two words' sorted keys owner << 32 | position + width:
    how often the second word comes right after the first (#1), and the smaller of
    (occurrences of the first with the second at most `width` positions away, the same
    the other way round): the unordered window count (#uw)."""
    ordered = _any_within(second, first + 1, first + 1)
    near_first = _any_within(second, first - width, first + width)
    near_second = _any_within(first, second - width, second + width)
    first, second = first >> 32, second >> 32
    return (np.bincount(first[ordered], minlength=owners).astype(np.float64),
            np.minimum(np.bincount(first[near_first], minlength=owners),
                       np.bincount(second[near_second], minlength=owners)).astype(np.float64))


def _collapse_first(order: np.ndarray, clusters: np.ndarray, shared: np.ndarray) -> np.ndarray:
    """Rows of `order` that come first in their cluster (order is the ranking); a row not
    `shared` with another match is alone in its cluster, so only shared rows are sorted."""
    together = np.flatnonzero(shared[order])
    keep = ~shared[order]
    _, first = np.unique(clusters[order[together]], return_index=True)
    keep[together[first]] = True
    return order[keep]


@dataclass
class _Groups:
    """The near-duplicate clusters of the whole index, one value per document (deleted ones too)."""

    group: np.ndarray  # a number for each document's cluster
    size: np.ndarray  # how many documents that cluster has
    alone: bool  # no cluster has two documents: collapsing changes nothing


def _cluster_groups(cache: ArrayCache, segments: list[_Segment]) -> _Groups | None:
    """The index's _Groups, worked out once per set of segments and kept; None on the first
    ask, as a process that runs one query (`searchkit query`) is faster without."""
    key = tuple(seg.cache.key for seg in segments)

    def compute() -> _Groups:
        hashes = [seg.cache.hashed(seg.reader, "cluster")[0] for seg in segments]
        _, group, counts = np.unique(np.concatenate(hashes) if hashes else np.zeros(0, dtype=np.int64),
                                     return_inverse=True, return_counts=True)
        return _Groups(group, counts[group], not len(counts) or int(counts.max()) <= 1)

    return cache.index_wide("clusters", key, compute, first=False)


def _clusters(groups: _Groups | None, segments: list[_Segment], docnum: np.ndarray, seg_of: np.ndarray,
              local: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """(a cluster identifier per match, the number of matches in each match's cluster, the
    number of clusters among the matches), from the index's _Groups when known."""
    if groups is None:
        clusters = _column_hashes(segments, seg_of, local, "cluster")
        keys, inverse, counts = np.unique(clusters, return_inverse=True, return_counts=True)
        return inverse, counts[inverse], len(keys)
    group, size = groups.group, groups.size
    clusters = group[docnum]
    sizes = np.ones(len(docnum), dtype=np.int64)
    maybe = np.flatnonzero(size[docnum] > 1)  # in a cluster with others, not all of them matches
    keys, inverse, counts = np.unique(clusters[maybe], return_inverse=True, return_counts=True)
    sizes[maybe] = counts[inverse]
    return clusters, sizes, len(docnum) - len(maybe) + len(keys)


def _segments(searcher, cache: ArrayCache) -> list[_Segment]:
    return [_Segment(r, o, c) for r, o, c in cache.segments(searcher)]


@dataclass
class _Matched:
    """A query's matches before ranking: global docnums, base scores, proximity bounds."""

    segments: list[_Segment]
    evaluator: Evaluator
    query: "_Query | None"
    boosts: Boosts
    docnum: np.ndarray
    base: np.ndarray
    pair_bounds: list
    matched: np.ndarray | None = None  # every match (global docnums) when `docnum` is only the candidates
    unfiltered: Matches | None = None  # a tree's: its live matches before the filter (for recounts)


def _match(searcher, cache: ArrayCache, stems: list[str] | None, boosts: Boosts, flt: wq.Query | None,
           phrase_fields: tuple[str, ...], stats: CorpusStats | None, tree: wq.Query | None,
           deadline: float | None, max_expansions: int | None,
           weights: dict[str, float] | None = None, top: int | None = None,
           segments: list[_Segment] | None = None, clusters: np.ndarray | None = None,
           scored: bool = True) -> _Matched:
    """Every live match of a query (plain words, an exact phrase, or any tree) through the filter.

    With `top` (plain words ranked by score): `docnum` may be only the matches that can
    reach the first `top` places (see _pruned), and `matched` all of them; with `clusters`
    (every document's cluster number, _Groups.group), the first `top` places of the page
    collapsed to one article per cluster. `segments` are the searcher's (_segments), when
    already made. scored=False: plain words are matched, not scored (base scores 0)."""
    if segments is None:
        segments = _segments(searcher, cache)
    snapshot = Snapshot([(seg.cache.segment, seg.offset) for seg in segments])
    evaluator = Evaluator(snapshot, stats, searcher.schema, searcher.reader(),
                          deadline=deadline, max_expansions=max_expansions)
    flt_mask = evaluator.mask(flt)
    q, pair_bounds, unfiltered = None, [], None
    if tree is not None:
        found = unfiltered = evaluator.run(tree)
        docnum, base = found.docs, found.scores
        if flt_mask is not None and len(docnum):
            kept = flt_mask[docnum]
            docnum, base = docnum[kept], base[kept]
        boosts = Boosts(0.0, 0, False, False)
    elif phrase_fields:
        boosts = Boosts(0.0, 0, False, False)  # a phrase has no word-query boosts
        q = _Query(searcher, stems or [], boosts, segments, values=True, stats=stats, late=evaluator.late)
        docnum, base = _phrase(q, segments, flt_mask, phrase_fields)
    else:
        q = _Query(searcher, stems or [], boosts, segments, stats=stats, late=evaluator.late, weights=weights)
        q.cache = cache
        q.top = top if clusters is None else None  # _hopeful ranks articles, not clusters
        keep = evaluator.live.copy()
        if flt_mask is not None:
            keep &= flt_mask
        if top == 0:  # counts only (facets, the total): every match through the filter, none scored
            matched = _union([docs for w in range(q.typed) for docs, _ in q.word_parts(w)], keep)
            return _Matched(segments, evaluator, q, boosts, matched[:0], np.zeros(0),
                            [np.zeros(0) for _ in q.pairs], matched)
        if not scored:  # listed by date: every match through the filter, each with score 0
            docnum = _union([docs for w in range(q.typed) for docs, _ in q.word_parts(w)], keep)
            return _Matched(segments, evaluator, q, boosts, docnum, np.zeros(len(docnum)),
                            [np.zeros(len(docnum)) for _ in q.pairs])
        if top is not None and weights is None and len(q.words) > 1:
            pruned = _pruned(q, boosts, keep, top, clusters)
            if pruned is not None:
                return _Matched(segments, evaluator, q, boosts, *pruned[1], pruned[0])
        docnum, base, pair_bounds, every = _score(q, keep)
        return _Matched(segments, evaluator, q, boosts, docnum, base, pair_bounds, every)
    return _Matched(segments, evaluator, q, boosts, docnum, base, pair_bounds, unfiltered=unfiltered)


def _word_bounds(q: _Query, boosts: Boosts) -> np.ndarray:
    """Each word's highest possible BM25F score (its saturation limit: idf x qtf x (K1 + 1))."""
    return np.array([idf * qtf * (scoring.K1 + 1) for idf, qtf in zip(q.idf, q.qtf)])


def _pair_bound(q: _Query, boosts: Boosts, a: int, b: int) -> float:
    """The highest proximity score a pair of words can add to any article (scoring.proximity_limit)."""
    return scoring.proximity_limit(q.idf[a] + q.idf[b]) if boosts.proximity else 0.0


def _word_mask(q: _Query, words, n: int) -> np.ndarray:
    """The documents with any of `words` (indexes into q.words) in a searched field."""
    mask = np.zeros(n, dtype=bool)
    for w in words:
        for docs, _ in q.word_parts(w):
            mask[docs] = True
    return mask


def _restricted(q: _Query, chosen: np.ndarray) -> _Query:
    """`q` scoring only the `chosen` documents (a mask) (positions are still read through
    the whole lists: _Proximity finds rows by document number)."""
    cut = copy.copy(q)
    cut.chosen = chosen
    cut._arrays, cut._words = {}, {}
    return cut


def _pruned(q: _Query, boosts: Boosts, keep: np.ndarray, top: int, clusters: np.ndarray | None = None
            ) -> tuple[np.ndarray, tuple | None]:
    """(every match through `keep`, unscored; _score's (docnums, base scores, pair bounds)
    of only the matches that can reach the first `top` places by final score), or None
    instead of both when too few matches can be ruled out to be worth it.

    MaxScore (Turtle & Flood 1995) over whole lists: the articles with the rarest word are
    scored first, and the top-th best of their base scores, theta, is a lower bound of the
    page's last final score. Words are then taken in order of their bounds (_word_bounds),
    lowest first, while the bounds of the words taken and of the proximity pairs among
    them add up to less than theta: an article with only those words cannot reach the page
    (nor has it the all-words boost: it lacks a word), so only the articles with one of the
    other words are scored. Worth it when one word is rare and another common.

    With `clusters` (a cluster number per document) the page shows one article per cluster:
    theta is then the top-th best of the first articles' clusters' best base scores, so at
    least `top` clusters have an article at or above it, and an article below it cannot be
    the one that shows its cluster on the page.
    """
    n = len(keep)
    sizes = [sum(len(docs) for docs, _ in q.word_parts(w)) for w in range(q.typed)]
    rarest = min(range(q.typed), key=lambda w: sizes[w])
    if sizes[rarest] * SPARSE_BELOW > n or max(sizes) < 4 * sizes[rarest]:
        return None
    first = _best_of_word(q, rarest, keep, 4 * top)
    if len(first) < top:
        return None
    base = _base_scores(q, first)
    if clusters is not None:  # each cluster's best base score among them
        order = np.lexsort((-base, clusters[first]))
        best = np.ones(len(order), dtype=bool)
        best[1:] = clusters[first][order[1:]] != clusters[first][order[:-1]]
        base = base[order[best]]
        if len(base) < top:
            return None
    theta = np.partition(base, len(base) - top)[len(base) - top] * (1 - 1e-9)  # rounding slack
    limits = _word_bounds(q, boosts)
    taken: list[int] = []
    bound = 0.0
    for w in sorted(range(q.typed), key=lambda w: limits[w])[:-1]:  # one word at least stays
        extra = limits[w] + sum(_pair_bound(q, boosts, a, b) for a, b in q.pairs
                                if (a == w and b in taken) or (b == w and a in taken))
        if bound + extra >= theta:
            break
        taken.append(w)
        bound += extra
    rest = [w for w in range(q.typed) if w not in taken]
    if not taken or 2 * sum(sizes[w] for w in rest) > sum(sizes):
        return None
    matched = np.flatnonzero(_word_mask(q, range(q.typed), n) & keep)
    chosen = _word_mask(q, rest, n) & keep
    chosen[first] = True
    return matched, _score(_restricted(q, chosen), chosen)[:3]


def _best_of_word(q: _Query, w: int, keep: np.ndarray, count: int) -> np.ndarray:
    """The `count` documents (through `keep`) where word w alone scores highest, sorted."""
    docs, tf = q.word_arrays(w)
    tf = np.where(keep[docs], tf, -1.0)
    if len(docs) > count:
        docs = np.sort(docs[np.argpartition(-tf, count - 1)[:count]])
    return docs[keep[docs]]


def _base_scores(q: _Query, docs: np.ndarray) -> np.ndarray:
    """The base scores (see _score) of a few documents (sorted global docnums), each
    word's postings found by binary search rather than read through."""
    k1 = scoring.K1
    total = np.zeros(len(docs))
    present = np.zeros(len(docs), dtype=np.int16)
    for w in range(len(q.words)):
        tf = np.zeros(len(docs))
        for ids, share in q.word_parts(w):
            at = np.minimum(np.searchsorted(ids, docs), len(ids) - 1)
            hit = ids[at] == docs
            tf[hit] += share[at[hit]]
        has = tf > 0
        t = tf[has]
        total[has] += q.idf[w] * q.qtf[w] * t * (k1 + 1) / (t + k1)
        if w < q.typed:
            present[has] += 1
    if q.all_words != 1.0:
        total[present == q.typed] *= q.all_words
    return total


def cluster_members(searcher, cache: ArrayCache, stems: list[str] | None, *, flt: wq.Query | None,
                    clusters: list[str], limit: int, phrase_fields: tuple[str, ...] = (),
                    tree: wq.Query | None = None, deadline: float | None = None,
                    max_expansions: int | None = None) -> dict[str, list[int]]:
    """For each cluster value: the docnums of its articles that match the query (as rank()
    takes it), newest first (undated last, then by docnum), at most `limit`: one evaluation
    for every cluster of a page, bounded by `deadline` and `max_expansions` as rank() is."""
    boosts = Boosts(0.0, 0, False, False)
    m = _match(searcher, cache, stems, boosts, flt, phrase_fields, None, tree, deadline, max_expansions,
               scored=False)
    wanted = {hash_value(c.encode("utf-8")): c for c in clusters if c}
    out: dict[str, list[int]] = {c: [] for c in clusters if c}
    if not wanted or not len(m.docnum):
        return out
    offsets = np.array([seg.offset for seg in m.segments] or [0], dtype=np.int64)
    seg_of = np.searchsorted(offsets, m.docnum, side="right") - 1
    local = m.docnum - offsets[seg_of]
    hashes = _column_hashes(m.segments, seg_of, local, "cluster")
    rows = np.flatnonzero(np.isin(hashes, np.array(list(wanted), dtype=np.int64)))
    if not len(rows):
        return out
    dated, moment = _dates(m.segments, seg_of[rows], local[rows])
    key = np.where(dated, -moment, np.iinfo(np.int64).max)
    order = rows[np.lexsort((m.docnum[rows], key))]
    for row in order.tolist():
        members = out[wanted[int(hashes[row])]]
        if len(members) < limit:
            members.append(int(m.docnum[row]))
    return out


def rank(searcher, cache: ArrayCache, stems: list[str] | None, boosts: Boosts, *, flt: wq.Query | None,
         sort: str, start: int, stop: int, collapse: bool, facets: bool,
         granularity=lambda first, last: "day", phrase_fields: tuple[str, ...] = (),
         stats: CorpusStats | None = None, tree: wq.Query | None = None,
         deadline: float | None = None, max_expansions: int | None = None,
         weights: dict[str, float] | None = None,
         stored: tuple[int, int] | None = None, recount: tuple[Recount, ...] = (),
         matched: _Matched | None = None) -> Ranking:
    """Rank `stems` (a plain-word query's stems, repeats kept) and return results [start:stop).

    `weights` (stem -> weight, from scoring.feedback_weights) weighs the plain words instead
    of their counts and may add feedback terms, which score BM25F but take no part in the
    all-words boost or proximity.

    With phrase_fields, `stems` is a phrase instead (see phrase_of): articles with the words
    next to each other, in order, in any of those fields, scored as Whoosh scores a Phrase.
    With `tree` (and no stems), any other query: evaluated by engine.evaluate.

    sort: "relevance" or "newest"/"oldest" (by published, undated last; score 0 like
    Whoosh's sorted results). Facet dates are counted per day, month or year, as
    granularity(first, last) says for the matches' range. `stats` replaces the index's own
    statistics (scoring.CorpusStats); `deadline` and `max_expansions` as in evaluate.py.
    `stored` = (i, j): also read the stored fields of results [start + i:start + j).
    stop=0 asks for the total and facets only: plain words are then matched, not scored,
    unless collapsing needs scores (each cluster's facets are its best article's).
    `recount` are other filters: Ranking.recounts has the total and facets of the same query
    (without `weights`: they never change the matches) through each, as stop=0 gives them
    (a Recount with dates=False may leave its dates out).
    They come from this ranking's own evaluation (no second one): plain words matched again
    from the lists it read, a tree's matches before its filter, a phrase matched once more
    through the recounts' filters together (_around); collapsed, those matches are ranked
    again (`matched`: a recount's matches, scored, instead of an evaluation), as each shared
    cluster counts by its best article (weighted words are ranked anew: a recount's scores
    are unweighted).
    """
    asked = dict(boosts=boosts, sort=sort, collapse=collapse, granularity=granularity, phrase_fields=phrase_fields,
                 stats=stats, tree=tree, deadline=deadline, max_expansions=max_expansions)
    segments = _segments(searcher, cache) if matched is None else matched.segments
    groups = _cluster_groups(cache, segments) if collapse else None
    if groups is not None and groups.alone:  # no two documents share a cluster: nothing to collapse
        collapse = False
    # Ranked by score and not collapsed: only the matches that can reach the page are scored
    # (none when stop is 0: only counted). Otherwise a page of none is worked out as one of one.
    # Collapsed, pruning needs the index's clusters (known from a process's second search on),
    # and not with facets: each cluster is counted by its best article, so every article of a
    # shared cluster needs a score (measured: scoring them apart costs more than it saves).
    top = stop if sort not in ("newest", "oldest") and not (collapse and (groups is None or facets)) else None
    if top is None or matched is not None:  # (a recount's matches come scored, even when only counted)
        stop = max(stop, 1)
    m = matched if matched is not None else _match(
        searcher, cache, stems, boosts, flt, phrase_fields, stats, tree, deadline, max_expansions, weights,
        top=top, segments=segments, clusters=groups.group if collapse and groups is not None else None,
        scored=sort not in ("newest", "oldest"))
    segments, evaluator, q, boosts = m.segments, m.evaluator, m.query, m.boosts
    docnum, base, pair_bounds = m.docnum, m.base, m.pair_bounds
    offsets = np.array([seg.offset for seg in segments] or [0], dtype=np.int64)
    columns = _columns(cache, segments) if facets or sort in ("newest", "oldest") else None
    # Each match's segment and number within it, for reads per segment: a date sort from the
    # index-wide columns (clusters known, if collapsed) needs them for the page's rows only.
    by_columns = sort in ("newest", "oldest") and columns is not None and not (collapse and groups is None)
    seg_of, local = (None, None) if by_columns else _located(offsets, docnum)
    if collapse and m.matched is not None:  # pruned: the clusters of every match, the candidates' among them
        every_cluster, every_size, total = _clusters(groups, segments, m.matched, None, None)
        at = np.searchsorted(m.matched, docnum)
        clusters, sizes = every_cluster[at], every_size[at]
    elif collapse:
        clusters, sizes, total = _clusters(groups, segments, docnum, seg_of, local)
    else:
        total = len(docnum) if m.matched is None else len(m.matched)
        clusters, sizes = None, np.ones(len(docnum), dtype=np.int64)
    shared = sizes > 1
    if sort in ("newest", "oldest"):
        score = np.zeros(len(docnum))
        dated, moment = _dates(segments, seg_of, local, columns, docnum)
        # Dated first, newest (or oldest) first among them, then by docnum.
        key = np.where(dated, -moment if sort == "newest" else moment, np.iinfo(np.int64).max)
        # Each shared cluster shows its first article in this order (-key ranks as a score).
        reps = _representatives(-key, docnum, shared, clusters) if collapse else np.arange(len(docnum))
        top = _first_by(reps, key, docnum, stop)
    else:
        upper = base + (np.sum(pair_bounds, axis=0) if pair_bounds else 0.0)
        proximity = _Proximity(q, segments, seg_of, local, pair_bounds) if q is not None else None
        score, top = _best(bool(pair_bounds), proximity, docnum, base, upper, clusters, shared, stop)
        reps = _representatives(score, docnum, shared, clusters) if facets and collapse else None
    window = top[start:stop]
    result = Ranking([(int(docnum[r]), float(score[r])) for r in window], total,
                     timed_out=evaluator.timed_out, capped=evaluator.expansions)
    if stored:  # read straight from each segment (no Whoosh reader in between)
        rows = window[stored[0]:stored[1]]
        at, within = _located(offsets, docnum[rows]) if seg_of is None else (seg_of[rows], local[rows])
        result.stored = {int(docnum[r]): segments[s].cache.segment.stored(int(n))
                         for r, s, n in zip(rows.tolist(), at.tolist(), within.tolist())}
    if collapse:
        result.cluster_sizes = {int(docnum[r]): int(sizes[r]) for r in window}
    if facets and columns is not None:  # the index-wide columns need only the counted documents
        counted = m.matched if m.matched is not None else docnum if not collapse else docnum[reps]
        result.sources, result.dates = _column_facets(columns, counted, granularity)
    elif facets and m.matched is not None:  # counted over every match (not collapsed: each is shown)
        seg_of, local = _located(offsets, m.matched)
        result.sources, result.dates = _facets(segments, seg_of, local, np.arange(len(m.matched)), granularity)
    elif facets:
        shown = reps if collapse else np.arange(len(docnum))
        result.sources, result.dates = _facets(segments, seg_of, local, shown, granularity)
    if collapse and weights is not None:  # a recount's scores are unweighted: a ranking of its own
        result.recounts = [rank(searcher, cache, stems, flt=other.flt, start=0, stop=0, facets=True, **asked)
                           for other in recount]
    elif recount:
        masks = [evaluator.mask(other.flt) for other in recount]
        around = _around(m, masks, phrase_fields) if q is None or phrase_fields else None
        if collapse:  # each shared cluster counts by its best article: ranked again, from m's evaluation
            result.recounts = [rank(searcher, cache, stems, flt=other.flt, start=0, stop=0, facets=True, **asked,
                                    matched=_rescored(m, mask, around, sort not in ("newest", "oldest")))
                               for other, mask in zip(recount, masks)]
        else:
            result.recounts = [_counted(m, mask, other.dates, columns, offsets, granularity,
                                        None if around is None else around.docs)
                               for other, mask in zip(recount, masks)]
    return result


def _counted(m: _Matched, mask: np.ndarray | None, dates: bool, columns: _Columns | None, offsets: np.ndarray,
             granularity, around: np.ndarray | None = None) -> Ranking:
    """The total and facets of m's query through another filter's `mask` instead (None: all;
    not collapsed: every match counts; dates=False may leave the dates out): plain words from
    the word lists m's query has read, a phrase or a tree from `around` (_around)."""
    q, evaluator = m.query, m.evaluator
    if around is not None:
        matched = around if mask is None else around[mask[around]]
    else:
        keep = evaluator.live if mask is None else evaluator.live & mask
        matched = _union([docs for w in range(q.typed) for docs, _ in q.word_parts(w)], keep)
    result = Ranking([], len(matched), timed_out=evaluator.timed_out, capped=evaluator.expansions)
    if columns is not None:
        result.sources, result.dates = _column_facets(columns, matched, granularity, dates)
    else:
        seg_of, local = _located(offsets, matched)
        result.sources, result.dates = _facets(m.segments, seg_of, local, np.arange(len(matched)), granularity)
    return result


def _around(m: _Matched, masks: list[np.ndarray | None], phrase_fields: tuple[str, ...]) -> Matches:
    """A phrase's or a tree's live matches (sorted global docnums, scores) through any of
    `masks` (None: every match), found once for every recount: a tree's are its evaluation's
    before the ranking's filter; a phrase's take one more _phrase pass over the lists m's
    query has read, through the masks together (the ranking's own pass was through its
    filter only)."""
    if not phrase_fields:
        return m.unfiltered
    either = None if any(mask is None for mask in masks) else np.logical_or.reduce(masks)
    return Matches(*_phrase(m.query, m.segments, either, phrase_fields))


def _rescored(m: _Matched, mask: np.ndarray | None, around: Matches | None, scored: bool) -> _Matched:
    """m's query matched and scored through another filter's `mask` (None: all) as _match
    would (the same scores: a filter never changes one), from what m has read: a phrase's or
    a tree's from `around`, plain words scored again from m's query (unweighted, and none
    left out by _hopeful when collapsing: q.top is None); scored=False: plain words listed
    by date are matched, not scored."""
    q, evaluator = m.query, m.evaluator
    if around is not None:
        kept = slice(None) if mask is None else mask[around.docs]
        return _Matched(m.segments, evaluator, q, Boosts(0.0, 0, False, False), around.docs[kept],
                        around.scores[kept], [])
    keep = evaluator.live if mask is None else evaluator.live & mask
    if not scored:
        docnum = _union([docs for w in range(q.typed) for docs, _ in q.word_parts(w)], keep)
        return _Matched(m.segments, evaluator, q, m.boosts, docnum, np.zeros(len(docnum)),
                        [np.zeros(len(docnum)) for _ in q.pairs])
    return _Matched(m.segments, evaluator, q, m.boosts, *_score(q, keep))


def _located(offsets: np.ndarray, docnum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the segment of each global docnum, its number within that segment), given where
    each segment starts. Matches come sorted by docnum: then each segment's are one run,
    found with one search per segment, not one per match (~5x less at 10^5 matches)."""
    if len(docnum) < 64 or not (docnum[1:] >= docnum[:-1]).all():
        seg_of = np.searchsorted(offsets, docnum, side="right") - 1
        return seg_of, docnum - offsets[seg_of]
    cuts = np.searchsorted(docnum, offsets, side="left")
    cuts[0] = 0
    counts = np.diff(np.append(cuts, len(docnum)))
    return np.repeat(np.arange(len(offsets), dtype=np.intp), counts), docnum - np.repeat(offsets, counts)


def _first_by(rows: np.ndarray, key: np.ndarray, docnum: np.ndarray, count: int) -> np.ndarray:
    """The `count` rows of `rows` with the smallest key (then docnum), in that order, without
    sorting them all: only the rows up to the count-th smallest key are sorted."""
    if count < len(rows):
        kth = np.partition(key[rows], count - 1)[count - 1]
        rows = rows[key[rows] <= kth]
    return rows[np.lexsort((docnum[rows], key[rows]))][:count]


def _ordered(rows: np.ndarray, score: np.ndarray, docnum: np.ndarray) -> np.ndarray:
    """`rows` best first (score descending, then docnum ascending, as Whoosh breaks ties)."""
    return rows[np.lexsort((docnum[rows], -score[rows]))]


def _top_rows(values: np.ndarray, k: int) -> np.ndarray:
    """The rows of the k largest values and of any value equal to the k-th (all rows when
    there are no more than k), sorted by row. The k-th largest is found among the rows at
    or above an estimate from every s-th value (a sample of ~16k): one pass over `values`
    and a small partition, where a partition of every value costs ~50x more at 100k."""
    n = len(values)
    if k >= n:
        return np.arange(n)
    rows = None
    step = n // (16 * k)
    if step >= 4:
        sample = values[::step]
        guess = np.partition(sample, len(sample) - 2 * k)[len(sample) - 2 * k]
        above = np.flatnonzero(values >= guess)
        if len(above) >= k:  # then the k-th largest is at or above the guess: it is among them
            rows = above
    if rows is None:
        rows = np.arange(n)
    kth = np.partition(values[rows], len(rows) - k)[len(rows) - k]
    return rows[values[rows] >= kth]


def _best(pairs: bool, proximity: _Proximity | None, docnum, base, upper, clusters, shared, stop: int
          ) -> tuple[np.ndarray, np.ndarray]:
    """(scores, the first `stop` shown rows in order), exactly as a full sort by final score
    (collapsed to one row per cluster when `clusters` is given) would list them.

    Final scores (base + proximity bonus) are worked out for the rows with the highest upper
    bounds, until no row left out could still reach the last shown place: after the first
    round, every row whose bound reaches that place's score at once (so there are at most
    two rounds).
    """
    score = base.copy()
    m = len(docnum)
    if not m:
        return score, np.zeros(0, dtype=np.int64)
    checked = np.zeros(m, dtype=bool)
    # A round's cost is mostly per call, not per row (at 100k a bonus call costs ~0.6-1 ms
    # and ~1 us per row), so the first round takes many rows.
    k = min(m, max(4 * stop, FIRST_ROUND))
    if pairs and clusters is None and m > stop:
        # The stop-th best base score is a floor of the page's last final score (proximity
        # never lowers one), so only the rows whose bound reaches it can be on the page:
        # unless they are very many, the first round is those and it is the last.
        floor = base[_top_rows(base, stop)].min()
        reach = int(np.count_nonzero(upper >= floor))
        if reach <= ONE_ROUND:
            k = reach
    while True:
        rows = _top_rows(upper if pairs else base, k)
        new = rows[~checked[rows]]
        if pairs and len(new):
            score[new] = base[new] + proximity.bonus(new)
        checked[new] = True
        shown = _ordered(rows, score, docnum)
        if clusters is not None:
            shown = _collapse_first(shown, clusters, shared)
        if k >= m:
            return score, shown[:stop]
        bound = upper if pairs else base
        rest_best = np.max(np.where(checked, -np.inf, bound))
        if len(shown) >= stop and rest_best < score[shown[stop - 1]]:
            return score, shown[:stop]
        if len(shown) >= stop:  # the last round: every row whose bound reaches the page's last score
            k = int(np.count_nonzero(bound >= score[shown[stop - 1]]))  # more than k: rest_best reaches it
        else:
            k = min(m, 4 * k)


def _representatives(score, docnum, shared, clusters) -> np.ndarray:
    """The row that stands for each cluster (its best by score, then docnum): every row of a
    one-article cluster, and the first of each shared cluster. Rows outside the checked top
    carry their base score, a lower bound, so a shared cluster far down the list may be
    represented by a copy whose proximity bonus was never worked out."""
    alone = np.flatnonzero(~shared)
    together = np.flatnonzero(shared)
    if not len(together):
        return alone
    ranked = together[np.lexsort((docnum[together], -score[together], clusters[together]))]
    first = np.ones(len(ranked), dtype=bool)
    first[1:] = clusters[ranked[1:]] != clusters[ranked[:-1]]
    return np.concatenate([alone, ranked[first]])


def _column_hashes(segments: list[_Segment], seg_of: np.ndarray, local: np.ndarray, name: str) -> np.ndarray:
    out = np.zeros(len(local), dtype=np.int64)
    for s, seg in enumerate(segments):
        rows = np.flatnonzero(seg_of == s)
        if len(rows):
            out[rows] = seg.cache.hashed_at(seg.reader, name, local[rows])
    return out


@dataclass
class _Columns:
    """The facet columns of the whole index, one value per document (deleted ones too)."""

    published: np.ndarray  # Whoosh's microseconds, 0 where undated
    dated: np.ndarray
    sources: np.ndarray  # a number per document: its source's place in `names`
    names: list[str]
    # Each document's UTC day as 1 + days after `first_day` (0: undated), so that a bincount
    # of the matches' values counts them per day; None when the dates span too many days.
    day: np.ndarray | None = None
    first_day: int = 0
    # day x len(names) + source: one bincount of the matches' values counts them per day and
    # source at once (half the gathers and counts of two columns); None when days x sources
    # is more than FACET_KEY_SPAN.
    facet_key: np.ndarray | None = None


# _Columns.day is kept when the index's dates span at most this many days (~180 years): a
# query's per-day count is an array of that many at most.
DAY_COLUMN_SPAN = 1 << 16
# _Columns.facet_key is kept when its count array (days x sources) has at most this many
# slots: beyond, clearing and summing it would cost more than the second count it saves.
FACET_KEY_SPAN = 1 << 16


def _columns(cache: ArrayCache, segments: list[_Segment]) -> _Columns | None:
    """_Columns for the searcher's segments, put together once per set of segments (None on
    the first ask: a one-query process reads only the matches' values, per segment)."""
    def compute() -> _Columns:
        numbers = [seg.cache.numbers(seg.reader, "published") for seg in segments]
        names: dict[str, int] = {}
        codes = []
        for seg in segments:
            local, local_names = seg.cache.categories(seg.reader, "source_key")
            mapping = np.array([names.setdefault(name, len(names)) for name in local_names] or [0],
                               dtype=np.int64)
            codes.append(mapping[local])
        empty = np.zeros(0, dtype=np.int64)
        columns = _Columns(np.concatenate([v for v, _ in numbers]) if numbers else empty,
                           np.concatenate([h for _, h in numbers]) if numbers else empty.astype(bool),
                           np.concatenate(codes) if codes else empty, list(names))
        if columns.dated.any():
            days = (columns.published - _EPOCH_US) // _DAY_US
            first, last = int(days[columns.dated].min()), int(days[columns.dated].max())
            if last - first < DAY_COLUMN_SPAN:
                columns.day = np.where(columns.dated, days - first + 1, 0).astype(np.int32)
                columns.first_day = first
                if (last - first + 2) * max(1, len(names)) <= FACET_KEY_SPAN:
                    columns.facet_key = columns.day * max(1, len(names)) + columns.sources.astype(np.int32)
        return columns

    return cache.index_wide("columns", tuple(seg.cache.key for seg in segments), compute, first=False)


def _dates(segments, seg_of, local, columns: _Columns | None = None, docnum=None) -> tuple[np.ndarray, np.ndarray]:
    """(has a date, published as Whoosh's microseconds) of each match."""
    if columns is not None:
        return columns.dated[docnum], columns.published[docnum]
    dated = np.zeros(len(local), dtype=bool)
    moment = np.zeros(len(local), dtype=np.int64)
    for s, seg in enumerate(segments):
        rows = np.flatnonzero(seg_of == s)
        if len(rows):
            values, has = seg.cache.numbers(seg.reader, "published")
            dated[rows] = has[local[rows]]
            moment[rows] = values[local[rows]]
    return dated, moment


def _sources(segments, seg_of, local, shown) -> dict[str, int]:
    """How many of the shown rows come from each source, read per segment (_facets reads
    the index-wide column when it has it)."""
    sources: dict[str, int] = {}
    for s, seg in enumerate(segments):
        rows = shown[seg_of[shown] == s]
        if not len(rows):
            continue
        codes, names = seg.cache.categories(seg.reader, "source_key")
        for code, count in enumerate(np.bincount(codes[local[rows]], minlength=len(names)).tolist()):
            if count and names[code]:
                sources[names[code]] = sources.get(names[code], 0) + count
    return sources


_DAY_US = 86_400_000_000


def _facets(segments, seg_of, local, shown, granularity) -> tuple[dict[str, int], dict[datetime, int]]:
    """Counts of the shown rows per source and per day, month or year (see Ranking), read per
    segment (a process's first search: _column_facets once the index-wide columns are made)."""
    sources = _sources(segments, seg_of, local, shown)
    dated, moment = _dates(segments, seg_of[shown], local[shown]) if len(shown) else (
        np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64))
    return sources, _moment_counts(moment[dated] - _EPOCH_US, granularity)


def _column_facets(columns: _Columns, docs: np.ndarray, granularity, dates: bool = True
                   ) -> tuple[dict[str, int], dict[datetime, int]]:
    """_facets' counts of the documents `docs` (global docnums) from the index-wide columns
    (with dates=False: the sources only, no dates)."""
    width = max(1, len(columns.names))
    if columns.facet_key is not None and dates:  # both facets from one gather and one count
        keys = columns.facet_key[docs]
        per = np.bincount(keys, minlength=width)
        if len(per) % width:  # the last day's row of the (day, source) table
            per = np.concatenate((per, np.zeros(width - len(per) % width, dtype=per.dtype)))
        per = per.reshape(-1, width)
        return _named(columns, per.sum(axis=0)), _day_counts(columns, docs, keys, width, per.sum(axis=1),
                                                              granularity)
    if width == 1:  # one source: every document is of it
        sources = {columns.names[0]: len(docs)} if len(docs) and columns.names and columns.names[0] else {}
    else:
        sources = _named(columns, np.bincount(columns.sources[docs], minlength=len(columns.names)))
    if not dates:
        return sources, {}
    if columns.day is not None:
        day = columns.day[docs]
        return sources, _day_counts(columns, docs, day, 1, np.bincount(day), granularity)
    return sources, _moment_counts(columns.published[docs[columns.dated[docs]]] - _EPOCH_US, granularity)


def _named(columns: _Columns, counts: np.ndarray) -> dict[str, int]:
    """{source name: count} of the named sources counted (counts per source code)."""
    return {columns.names[code]: int(counts[code]) for code in np.flatnonzero(counts).tolist()
            if columns.names[code]}


def _moment_counts(moments: np.ndarray, granularity) -> dict[datetime, int]:
    """Counts of publication moments (microseconds since 1970) per day, month or year."""
    if not len(moments):
        return {}
    days = moments // _DAY_US
    low_day, high_day = int(days.min()), int(days.max())
    if high_day - low_day < 1 << 20:  # a bincount over the range, not a sort of every match
        per_day = np.bincount(days - low_day)
        days = np.flatnonzero(per_day)
        per_day, days = per_day[days], days + low_day
    else:  # dates thousands of years apart
        days, per_day = np.unique(days, return_counts=True)
    return _bucketed(days, per_day, int(moments.min()), int(moments.max()), granularity)


def _day_counts(columns: _Columns, rows: np.ndarray, keys: np.ndarray, width: int, per_day: np.ndarray,
                granularity) -> dict[datetime, int]:
    """_facets' date counts of `rows` from their counts per day column value (`per_day`,
    the undated ones in slot 0) and their keys (day column value x width + something below
    width). The exact first and last moments are read for the rows of the first and last
    day only: a few gathers, not one of every row."""
    days = np.flatnonzero(per_day[1:]) + 1
    if not len(days):
        return {}
    first = int(columns.published[rows[_of_day(keys, int(days[0]), width)]].min()) - _EPOCH_US
    last = int(columns.published[rows[_of_day(keys, int(days[-1]), width)]].max()) - _EPOCH_US
    return _bucketed(days + (columns.first_day - 1), per_day[days], first, last, granularity)


def _of_day(keys: np.ndarray, day: int, width: int) -> np.ndarray:
    """Which keys (day x width + something below width) are of `day`."""
    if width == 1:
        return keys == day
    return (keys >= day * width) & (keys < (day + 1) * width)


def _bucketed(days: np.ndarray, per_day: np.ndarray, first_us: int, last_us: int, granularity
              ) -> dict[datetime, int]:
    """Counts per day (days since 1970, sorted, distinct) put into days, months or years, as
    granularity(first, last) says for the first and last moments (microseconds since 1970),
    with those two moments at count 0 (see Ranking.dates). The calendar conversion is the
    slow part, so it runs once per bucket of the range (each day's bucket is found among the
    buckets' first days by binary search), not per day nor per match."""
    epoch = datetime(1970, 1, 1)
    first = epoch + timedelta(microseconds=first_us)
    last = epoch + timedelta(microseconds=last_us)
    unit = {"day": "D", "month": "M", "year": "Y"}[granularity(first, last)]
    per_day = per_day.astype(np.int64)
    if unit == "D":
        starts, counts = days, per_day
    else:
        between = np.arange(np.datetime64(int(days[0]), "D").astype(f"datetime64[{unit}]"),
                            np.datetime64(int(days[-1]), "D").astype(f"datetime64[{unit}]") + 1)
        first_days = between.astype("datetime64[D]").astype(np.int64)
        bucket = np.searchsorted(first_days, days, side="right") - 1
        # sorted as the days are: each bucket is a run, summed where it starts
        begins = np.flatnonzero(np.concatenate(([True], bucket[1:] != bucket[:-1])))
        starts, counts = first_days[bucket[begins]], np.add.reduceat(per_day, begins)
    # the buckets' starts as datetimes in one conversion (one np.datetime64 each: ~25 us apiece)
    dates = dict(zip(starts.astype("datetime64[D]").astype("datetime64[us]").tolist(), counts.tolist()))
    dates.setdefault(first, 0)
    dates.setdefault(last, 0)
    return dates
