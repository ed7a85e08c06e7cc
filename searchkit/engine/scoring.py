"""Every ranking constant and formula of searchkit, once.

A query's score is built from these small functions (the evaluator, evaluate.py, applies
them to whole posting lists as numpy arrays; the tests apply them to one document at a
time as a brute-force reference):

    idf(N, df)        = log(1 + (N - df + 0.5) / (df + 0.5))          Lucene's (and bm25s's)
    norm(len, avg, b) = (1 - b) + b * len / avg
    bm25(idf, tf, n)  = idf * tf * (K1 + 1) / (tf + K1 * n)            one field
    bm25f             = idf * saturate(sum over fields of weight_f * tf_f / norm_f)
                        a word over title and body together (Robertson & Zaragoza 2009)

Plain words: each word's BM25F over title and body, times its count in the query (or its
RM3 feedback weight); each pair of consecutive query words adds its sequential-dependence
score (proximity_score below).
Phrases and single-field terms (title:, author:, ...) score each word's one-field BM25.
sort="recency" multiplies by recency_factor.

Sequential dependence (Metzler & Croft 2005, "A Markov random field model for term
dependencies"), in its BM25 form (as Anserini's BM25 + SDM, Lucene span queries): for each
pair (a, b) of consecutive distinct query words and each article,

    tf_o = BM25F frequency of "a b" (b at the position right after a: #1(a b))
    tf_u = BM25F frequency of a and b within an unordered window of SDM_WINDOW positions
           (#uw8): the smaller of (a's occurrences with b that close, b's with a)
    proximity_score = (idf(a) + idf(b)) x (W_o / W_t x saturate(tf_o) + W_u / W_t x saturate(tf_u))

with the published weights W_t, W_o, W_u = 0.85, 0.1, 0.05 (words, ordered, unordered;
the words' BM25F is the W_t part, divided out). A BM25F frequency adds each field's count x
its weight / its length norm, as for a word. Both counts are at most the smaller of the two
words' BM25F frequencies, so a pair adds at most proximity_bound(idf(a) + idf(b), min(tf_a,
tf_b)) <= proximity_limit(idf(a) + idf(b)) = (idf(a) + idf(b)) x (W_o + W_u) / W_t x (K1 + 1).

The statistics a score needs (N, document frequencies, average field lengths) come from
a CorpusStats: the index's own by default, or one summed over the shards of a sharded
index (collect_stats on each, `+`, then passed to the search as `stats=`), so that every
shard scores exactly as one big index would (DFS query-then-fetch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np

# BM25 saturation and length normalisation. k1 is 1.5 rather than Lucene's 1.2 because a
# BM25F frequency adds up several fields (the title's boosted), so it runs higher than a
# one-field frequency and needs a later saturation point; cross-validated against 1.2 (1.5
# chosen tuning on CACM, on both, and on either half of the queries of both).
K1 = 1.5
# Lucene's b. With sequential dependence in place, cross-validation over Cranfield and CACM
# (bench/relevance/run.py --cross-validate: b 0.4 as Anserini's newswire default, 0.6, 0.75)
# chooses 0.75 tuning on either collection; the 0.6 chosen with the old pair boost lost on
# CACM (nDCG@10 x1.015 against x1.037).
B = 0.75
# Length normalisation per field in BM25F (default B). Headlines are one short sentence
# each: a longer one is not more verbose the way a longer article is.
FIELD_B: dict[str, float] = {"title": 0.3}
# Index-time weight of a headline word (its frequency is multiplied as it is written):
# a word in the headline says more than the same word in the body.
TITLE_BOOST = 2.5
# Query-time weight per field in BM25F, on top of the index-time boost above. The headline's
# x1.2 makes its word count x3 in all: cross-validation over Cranfield and CACM (headline x2,
# x2.5, x3 crossed with k1, RM3 and the all-words boost; bench/relevance/run.py
# --cross-validate) chooses x3 tuning on CACM, on both, and on half B of the queries of both;
# x2.5 on half A, x2 on Cranfield alone (where x2-x3 are within 0.3 % MAP).
FIELD_WEIGHT: dict[str, float] = {"title": 3.0 / TITLE_BOOST}
# The fields a plain word is searched in.
SEARCH_FIELDS = ("title", "body")

# All-words boost: an article with every word of a query of 2..SHORT_QUERY words scores
# x(1 + ALL_WORDS_BOOST). Off: it is no published method, it changes nothing on Cranfield and
# costs CACM (nDCG@10 -0.4 %), and every cross-validation choice leaves it out; BM25F, the
# pairs' proximity and the idfs already put articles with all the words first. The switch
# stays for the relevance bench's ablation.
ALL_WORDS_BOOST = 0.0
SHORT_QUERY = 3  # words
USE_QTF = True  # a word typed twice counts twice

# Sequential dependence (see the top): Metzler & Croft's published weights and window, not
# fitted here. PROXIMITY = False leaves it out (for the relevance bench's ablation).
PROXIMITY = True
SDM_WORD_WEIGHT = 0.85
SDM_ORDERED_WEIGHT = 0.1
SDM_UNORDERED_WEIGHT = 0.05
SDM_WINDOW = 8  # positions an unordered pair must fit in (#uw8): at most 7 apart

# Pseudo-relevance feedback, RM3 (Abdul-Jaleel et al., "UMass at TREC 2004"; Anserini's
# BM25+RM3 baseline): the query is run once, the FEEDBACK_DOCS best articles' term
# distributions (weighted by their scores) give a relevance model, and its FEEDBACK_TERMS
# heaviest terms join the query, the typed words keeping FEEDBACK_QUERY_WEIGHT of the weight.
# The three numbers were chosen by cross-validation over Cranfield and CACM in the prototype
# (bench/relevance/prototype.py), and again on the engine (run.py --cross-validate): against
# Anserini's defaults, 10 / 10 / 0.5, which lose on both (CACM MAP x0.99 against x1.07).
FEEDBACK_DOCS = 5
FEEDBACK_TERMS = 10
FEEDBACK_QUERY_WEIGHT = 0.7
# Only queries of at least this many distinct words get a feedback pass: descriptions and
# questions, where the typed words miss the vocabulary of relevant articles. Keyword queries
# (1-5 words, what the latency benchmark types) stay one pass: the second pass costs a
# ranking and five articles read and analysed. Cranfield and CACM have almost no queries
# shorter than this, so they cannot say whether feedback would pay there.
FEEDBACK_MIN_WORDS = 6
# A stem in more than this share of the articles is no feedback term when below 1.0
# (Anserini's RM3 keeps stems in at most 10 % of the documents). Off: cross-validated, it is
# chosen tuning on Cranfield but then loses CACM (nDCG@10 x0.996), and on both it loses to
# keeping every stem (CACM nDCG@10 x1.032 against x1.044).
FEEDBACK_MAX_DF = 1.0
# Each feedback article contributes only its FEEDBACK_DOC_TERMS most frequent stems, their
# counts normalised over those alone, as Anserini's Rm3Reranker builds its document vectors
# (pruned to fbTerms, 10, before the L1 norm); 0 takes every stem of the article. With it, an
# article's words are its main subject, not every word it mentions once. Not fitted: Anserini's
# rule with our FEEDBACK_TERMS; cross-validated against the whole article, Lavrenko's query-
# likelihood document weights and Terrier's Bo1 (bench/relevance/run.py --grid feedback, in
# docs/query-language.md), it is chosen tuning on Cranfield and on half B of both collections,
# and lifts the held-out CACM nDCG@10 from x1.044 to x1.058.
FEEDBACK_DOC_TERMS = 10

# sort="recency": score x (1 + RECENCY_WEIGHT x 2^(-age / RECENCY_HALF_LIFE)), where age is
# how much older an article is than the newest of the RECENCY_POOL most relevant matches.
RECENCY_WEIGHT = 1.0
RECENCY_HALF_LIFE = timedelta(days=7)
RECENCY_POOL = 200


def idf(doc_count: int, df: int) -> float:
    """Lucene's IDF: a rare word (a name, a place) dominates; a word in every article ~0."""
    return math.log(1 + (doc_count - df + 0.5) / (df + 0.5))


def field_b(fieldname: str) -> float:
    """The length normalisation strength of a field in BM25F."""
    return FIELD_B.get(fieldname, B)


def field_weight(fieldname: str) -> float:
    """The query-time weight of a field in BM25F."""
    return FIELD_WEIGHT.get(fieldname, 1.0)


def length_norm(length, avg: float, b: float = B):
    """BM25's length normalisation: 1 for an average-length field, more for a longer one."""
    return (1 - b) + b * length / avg


def saturate(tf, k1: float = K1):
    """BM25's term-frequency saturation: tf (k1 + 1) / (tf + k1), from 0 towards k1 + 1."""
    return tf * (k1 + 1) / (tf + k1)


def bm25(word_idf: float, tf, norm, k1: float = K1):
    """One field's BM25 of a word with frequency tf and length normalisation norm."""
    return word_idf * tf * (k1 + 1) / (tf + k1 * norm)


def bm25f_tf(tf, norm, fieldname: str):
    """A field's share of a word's BM25F frequency: weight x tf / norm (norm with field_b)."""
    return field_weight(fieldname) * tf / norm


def bm25f(word_idf: float, combined_tf, k1: float = K1):
    """BM25F of a word from its combined frequency (the sum of bm25f_tf over fields)."""
    return word_idf * saturate(combined_tf, k1)


def all_words_factor(words: int) -> float:
    """What a plain-word query multiplies the score of an article with every word by."""
    return 1.0 + ALL_WORDS_BOOST if 1 < words <= SHORT_QUERY else 1.0


def proximity_pairs(words: int) -> list[tuple[int, int]]:
    """The pairs of consecutive distinct query words (by index) that sequential dependence
    scores: every one of them, as in Metzler & Croft's model."""
    if not PROXIMITY or words < 2:
        return []
    return [(i, i + 1) for i in range(words - 1)]


def proximity_score(pair_idf, tf_ordered, tf_unordered, k1: float = K1):
    """A word pair's sequential-dependence score from its ordered and unordered BM25F
    frequencies (pair_idf = the sum of the two words' idfs)."""
    return pair_idf * (SDM_ORDERED_WEIGHT * saturate(tf_ordered, k1)
                       + SDM_UNORDERED_WEIGHT * saturate(tf_unordered, k1)) / SDM_WORD_WEIGHT


def proximity_limit(pair_idf: float, k1: float = K1) -> float:
    """The most a pair's proximity_score can be in any article (both counts saturated)."""
    return pair_idf * (SDM_ORDERED_WEIGHT + SDM_UNORDERED_WEIGHT) * (k1 + 1) / SDM_WORD_WEIGHT


def proximity_bound(pair_idf, tf_smaller, k1: float = K1):
    """The most a pair's proximity_score can be in an article where the rarer of its two
    words has BM25F frequency tf_smaller (both window counts are at most that)."""
    return pair_idf * (SDM_ORDERED_WEIGHT + SDM_UNORDERED_WEIGHT) * saturate(tf_smaller, k1) / SDM_WORD_WEIGHT


def proximity_share(pairs_of_a_word: int) -> float:
    """The most the proximity scores of an article can add, as a share of its words' own
    BM25F (the sum of idf x saturate(tf), which a base score is at least when every qtf is
    at least 1): a pair's proximity_bound is at most (W_o + W_u) / W_t x (idf(a) x
    saturate(tf_a) + idf(b) x saturate(tf_b)), as saturate(min(tf_a, tf_b)) is at most
    either, and a word is in at most `pairs_of_a_word` pairs."""
    return pairs_of_a_word * (SDM_ORDERED_WEIGHT + SDM_UNORDERED_WEIGHT) / SDM_WORD_WEIGHT


def recency_factor(age: timedelta):
    """sort="recency": 1 + RECENCY_WEIGHT for the newest article, halving every half-life."""
    return 1.0 + RECENCY_WEIGHT * 0.5 ** (age / RECENCY_HALF_LIFE)


def recency_factors(age_us: np.ndarray) -> np.ndarray:
    """recency_factor for ages in microseconds, as an array."""
    half_life_us = RECENCY_HALF_LIFE / timedelta(microseconds=1)
    return 1.0 + RECENCY_WEIGHT * np.power(0.5, age_us / half_life_us)


def feedback_weights(typed: dict[str, float], documents: list[tuple[float, dict[str, int]]],
                     terms: int | None = None, query_weight: float | None = None,
                     stats: "CorpusStats | None" = None, max_df: float | None = None,
                     doc_terms: int | None = None) -> dict[str, float]:
    """RM3: the query's word weights (typed: stem -> count) mixed with a relevance model.

    `documents` are the first pass's best articles as (score, {stem: count in title and
    body}). Each article's term distribution, weighted by its score, is summed into the
    model; its `terms` heaviest stems are normalised to sum 1, the typed weights too, and
    the two are mixed query_weight : 1 - query_weight. An article's distribution is over its
    `doc_terms` (FEEDBACK_DOC_TERMS) most frequent stems only, unless that is 0. The result
    is scaled back to the typed weights' total, so a typed word alone keeps query_weight x
    its count. With the
    collection's `stats` (holding the stems' document frequencies), a stem in more than
    max_df (FEEDBACK_MAX_DF) of the articles is left out of the model.
    """
    # The constants are read at the call (not bound as defaults) so that a bench run that
    # sets them sees them.
    terms = FEEDBACK_TERMS if terms is None else terms
    query_weight = FEEDBACK_QUERY_WEIGHT if query_weight is None else query_weight
    max_df = FEEDBACK_MAX_DF if max_df is None else max_df
    doc_terms = FEEDBACK_DOC_TERMS if doc_terms is None else doc_terms
    if stats is not None and max_df < 1.0:
        limit = max_df * stats.doc_count
        documents = [(score, {stem: count for stem, count in counts.items()
                              if max(stats.doc_frequency(name, stem) for name in SEARCH_FIELDS) <= limit})
                     for score, counts in documents]
    model: dict[str, float] = {}
    for score, counts in documents:
        if doc_terms:  # ties at the cut go to the alphabetically first stem, as for `best` below
            counts = dict(sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))[:doc_terms])
        length = sum(counts.values())
        if score <= 0 or not length:
            continue
        for stem, count in counts.items():
            model[stem] = model.get(stem, 0.0) + score * count / length
    total = sum(typed.values())
    if not model or not total:
        return dict(typed)
    best = sorted(model.items(), key=lambda pair: (-pair[1], pair[0]))[:terms]
    norm = sum(weight for _, weight in best)
    mixed = {stem: query_weight * count for stem, count in typed.items()}
    for stem, weight in best:
        mixed[stem] = mixed.get(stem, 0.0) + (1 - query_weight) * total * weight / norm
    return mixed


@dataclass
class CorpusStats:
    """The collection statistics scores depend on: the document count (deleted documents
    included, as the postings count them), each field's total length, and each (field,
    term)'s document frequency.

    One index computes its own (collect_stats); the stats of several shards add up with
    `+` (or CorpusStats.merge) into those of the whole collection, which a search takes as
    `stats=` to score every shard as the whole. A term missing from `df` has frequency 0
    in the collection the stats describe.
    """

    doc_count: int = 0
    field_length: dict[str, int] = field(default_factory=dict)
    df: dict[tuple[str, str], int] = field(default_factory=dict)

    def avg_length(self, fieldname: str) -> float:
        """The field's average length over all documents (1.0 when nothing is known)."""
        total = self.field_length.get(fieldname, 0)
        return (total / self.doc_count) if total and self.doc_count else 1.0

    def doc_frequency(self, fieldname: str, text: str) -> int:
        return self.df.get((fieldname, text), 0)

    def idf(self, fieldname: str, text: str) -> float:
        """The term's idf in one field."""
        return idf(self.doc_count, self.doc_frequency(fieldname, text))

    def word_idf(self, text: str, fields: tuple[str, ...] = SEARCH_FIELDS) -> float:
        """A word's BM25F idf over several fields: from its largest frequency among them."""
        return idf(self.doc_count, max(self.doc_frequency(name, text) for name in fields))

    def __add__(self, other: "CorpusStats") -> "CorpusStats":
        lengths = dict(self.field_length)
        for name, total in other.field_length.items():
            lengths[name] = lengths.get(name, 0) + total
        df = dict(self.df)
        for key, count in other.df.items():
            df[key] = df.get(key, 0) + count
        return CorpusStats(self.doc_count + other.doc_count, lengths, df)

    @staticmethod
    def merge(parts: "list[CorpusStats]") -> "CorpusStats":
        """The statistics of the shards together (as one index holding all their documents)."""
        total = CorpusStats()
        for part in parts:
            total = total + part
        return total

    def to_dict(self) -> dict:
        """A JSON-ready form (to send between processes): df as [field, term, count] rows."""
        return {"doc_count": self.doc_count, "field_length": dict(self.field_length),
                "df": [[name, text, count] for (name, text), count in sorted(self.df.items())]}

    @classmethod
    def from_dict(cls, data: dict) -> "CorpusStats":
        return cls(int(data["doc_count"]), {k: int(v) for k, v in data["field_length"].items()},
                   {(name, text): int(count) for name, text, count in data["df"]})
