"""Evaluate a parsed query over posting arrays: which articles match and their scores.

The parse tree is Whoosh's query objects (query.py builds them); evaluation is ours, a
node at a time over whole posting lists as numpy arrays (global document numbers over
every segment of a Snapshot), with the formulas of scoring.py:

    Term(f, t)             one field's BM25 of t (k1 = K1, b = B), x boost; a field that
                           is not scored (an id) scores its stored weight
    FieldsTerm             BM25F of a word over title and body (defined here)
    Phrase, SpanNear2      articles where the words' positions are near as asked; the sum
                           of the words' Term scores
    Prefix, Wildcard,      the terms of the lexicon they stand for (expand(), capped at
    FuzzyTerm, TermRange   max_expansions), as an Or of Terms
    Or / And               union / intersection, scores added
    AndNot, Require        the left side's matches without / with the right side's; left scores
    AndMaybe               the left side's matches, the right side's scores added where present
    Not, Every             every live article (but the excluded), score 1
    Boosted, any boost     scores x boost

Deleted articles never match. A `deadline` (time.monotonic() seconds) is checked before
each term is read: past it, the terms left count as matching nothing and the evaluation
says timed_out.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
from whoosh import query as wq
from whoosh.query import spans as wspans
from whoosh.query.ranges import NumericRange
from whoosh.query.wrappers import WrappingQuery
from whoosh.support.levenshtein import distance

from . import scoring
from .scoring import CorpusStats
from .segment import Snapshot


class FieldsTerm(wq.Or):
    """One word searched in several fields (title and body), scored as one BM25F word
    (engine.evaluate) rather than as a sum of one-field scores."""

    @classmethod
    def of(cls, text: str, fields: tuple[str, ...], boost: float = 1.0) -> "FieldsTerm":
        return cls([wq.Term(name, text) for name in fields], boost=boost)

    def normalize(self):
        return self

    def with_boost(self, boost: float) -> "FieldsTerm":
        return self.__class__(self.subqueries, boost=boost)

    def apply(self, fn):
        return self.__class__([fn(q) for q in self.subqueries], boost=self.boost)


@dataclass
class Matches:
    """Matching documents (global numbers, sorted, unique) and their scores."""

    docs: np.ndarray
    scores: np.ndarray

    @staticmethod
    def empty() -> "Matches":
        return Matches(np.zeros(0, dtype=np.int64), np.zeros(0))

    def __len__(self) -> int:
        return len(self.docs)


@dataclass
class Expansion:
    """The terms a prefix, wildcard, fuzzy word or range stands for, and whether the
    max_expansions cap left some out (`capped`)."""

    field: str
    pattern: str
    terms: list[str]
    capped: bool = False


def expand(q: wq.Query, reader, max_expansions: int | None = None, words=None) -> Expansion:
    """The lexicon terms a multi-term query (Prefix, Wildcard, FuzzyTerm, TermRange) matches
    in the index `reader` (a Whoosh IndexReader) reads, in lexicon order, at most
    max_expansions of them (None: all). The one place any term expansion happens. `words`
    (ArrayCache.words: a SegmentWords, or the reader of a single segment) looks up the words
    a FuzzyTerm stands for."""
    fieldname = q.field()
    if words is not None and isinstance(q, wq.FuzzyTerm):
        found = iter(sorted(words.terms_within(fieldname, q.text, q.maxdist, prefix=q.prefixlength)))
    else:
        found = (t.decode("utf-8") if isinstance(t, bytes) else t
                 for name, t in q.expanded_terms(reader) if name == fieldname)
    if max_expansions is None:
        return Expansion(fieldname, str(getattr(q, "text", q)), list(found))
    terms = list(itertools.islice(found, max_expansions + 1))
    return Expansion(fieldname, str(getattr(q, "text", q)), terms[:max_expansions], len(terms) > max_expansions)


def expand_words(reader, fields: tuple[str, ...], word: str, maxdist: int, prefix: int = 1,
                 max_expansions: int | None = None) -> Expansion:
    """The lexicon words of `fields` within `maxdist` edits of `word` (sharing its first
    `prefix` letters), sorted, at most max_expansions: what a fuzzy word~ stands for."""
    found: set[str] = set()
    for name in fields:
        found.update(t.decode("utf-8") if isinstance(t, bytes) else t
                     for t in reader.terms_within(name, word, maxdist, prefix=prefix))
    terms = sorted(found)
    capped = max_expansions is not None and len(terms) > max_expansions
    return Expansion(",".join(fields), word, terms[:max_expansions] if capped else terms, capped)


def terms_within(segments: list, fieldname: str, text: str, maxdist: int, prefix: int = 0) -> set[str]:
    """What Whoosh's terms_within(fieldname, text, maxdist, prefix) gives for a reader of
    several segments (IndexReader's own, which a MultiReader runs): the field's terms that
    start with text[:prefix] and are within `maxdist` edits of `text` by Whoosh's distance.
    That walked every term of the letter across the segments, computing the distance of
    each in Python. An edit changes a word's length by at most one and its letter counts
    by at most two (a substitution: one letter fewer, one more), so only the terms within
    `maxdist` characters of the text's length whose letter counts differ from the text's
    by at most 2 x maxdist can be within maxdist edits: only those are compared (segments:
    segment.SegmentReaders; the counts are compared over the term dictionaries' bytes for
    an ASCII text, else here)."""
    letters = {letter: text.count(letter) for letter in set(text)}
    by_byte = {ord(letter): count for letter, count in letters.items()} if text.isascii() else None
    found: set[bytes] = set()
    for segment in segments:
        found.update(segment.terms_by_length(fieldname, text[:prefix], len(text) - maxdist, len(text) + maxdist,
                                             by_byte, 2 * maxdist))

    def letters_apart(word: str) -> int:  # the sum over letters of |count in word - count in text|
        counts = [(word.count(letter), count) for letter, count in letters.items()]
        return sum(abs(have - want) for have, want in counts) + len(word) - sum(have for have, _ in counts)

    words = (term.decode("utf-8") for term in found)
    return {word for word in words
            if (by_byte is not None or letters_apart(word) <= 2 * maxdist)
            and distance(word, text, limit=maxdist) <= maxdist}


@dataclass
class SegmentWords:
    """What a fuzzy word~ and did-you-mean ask of a reader of several segments, the words
    within some edits of a word, answered from the segments' term dictionaries
    (terms_within: the words Whoosh's reader gives, without comparing every word of the
    letter in Python). A single segment's Whoosh reader has its own automaton: keep it."""

    segments: list  # segment.SegmentReaders

    def terms_within(self, fieldname: str, text: str, maxdist: int, prefix: int = 0) -> list[str]:
        """The field's words within `maxdist` edits of `text` sharing its first `prefix`
        letters, sorted (lexicon order, as Whoosh's reader gives them)."""
        return sorted(terms_within(self.segments, fieldname, text, maxdist, prefix))


def _leaf_terms(q: wq.Query, reader, words) -> Iterator[tuple[str, object]]:
    if isinstance(q, wq.MultiTerm):
        found = expand(q, reader, words=words)
        yield from ((found.field, term) for term in found.terms)
    elif isinstance(q, wq.Phrase):
        for word in q.words:
            yield q.fieldname, word
    elif isinstance(q, wq.Term):
        yield q.fieldname, q.text
    for child in q.children():
        yield from _leaf_terms(child, reader, words)


def query_terms(q: wq.Query, reader, words=None) -> Iterator[tuple[str, str]]:
    """Every (field, term) a query tree scores with in the index `reader` reads (wildcards
    expanded against its lexicon, fuzzy words by `words` when given; date and other
    non-text terms left out)."""
    schema = reader.schema
    for name, text in _leaf_terms(q, reader, words):
        if name in schema and schema[name].scorable:
            yield name, text.decode("utf-8") if isinstance(text, bytes) else text


@dataclass
class _Postings:
    """A term's postings over every segment: global docs, weights, and where each
    segment's part starts (to find positions back in their segment)."""

    docs: np.ndarray  # int64, sorted
    weights: np.ndarray  # float64: frequency x field boost, as Whoosh weighs a posting
    lengths: np.ndarray  # float64: each posting's document's field length (quantised)
    parts: list[tuple[int, int]] = field(default_factory=list)  # (segment index, first row)


# Spans: (doc, start, end) arrays, sorted by doc then start.
_Spans = tuple[np.ndarray, np.ndarray, np.ndarray]


class _SnapshotStats(CorpusStats):
    """The index's own statistics, read as the evaluation asks for them: a term's document
    frequency is its postings' length (deleted documents counted, as Whoosh counts them)."""

    def __init__(self, segments: list) -> None:
        # The segments, not the Evaluator: a cycle would keep a query's postings (24 bytes
        # a posting) alive until Python's cycle collector happens to run.
        super().__init__(sum(r.doc_count for r, _ in segments))
        self._segments = segments

    def doc_frequency(self, fieldname: str, text: str) -> int:
        key = (fieldname, text)
        if key not in self.df:
            self.df[key] = sum(r.doc_frequency(fieldname, text) for r, _ in self._segments)
        return self.df[key]

    def avg_length(self, fieldname: str) -> float:
        if fieldname not in self.field_length:
            self.field_length[fieldname] = sum(r.field_length_total(fieldname) for r, _ in self._segments)
        return super().avg_length(fieldname)


class Evaluator:
    """Evaluates query trees over one Snapshot with the given statistics (None: its own)."""

    def __init__(self, snapshot: Snapshot, stats: CorpusStats | None, schema, whoosh_reader, *,
                 deadline: float | None = None, max_expansions: int | None = None) -> None:
        self.segments = snapshot.segments
        self.doc_count = sum(r.doc_count for r, _ in self.segments)
        self.stats = stats if stats is not None else _SnapshotStats(self.segments)
        self.schema = schema
        self.reader = whoosh_reader
        self.words = SegmentWords([r for r, _ in self.segments]) if len(self.segments) > 1 else None
        self.deadline = deadline
        self.max_expansions = max_expansions
        self.timed_out = False
        self.expansions: list[Expansion] = []
        self._postings: dict[tuple[str, str], _Postings] = {}
        self._live: np.ndarray | None = None

    # -- reading ---------------------------------------------------------------------

    @property
    def live(self) -> np.ndarray:
        """A mask of the documents that are not deleted."""
        if self._live is None:
            parts = [~r.deleted() for r, _ in self.segments]
            self._live = np.concatenate(parts) if parts else np.zeros(0, dtype=bool)
        return self._live

    def late(self) -> bool:
        """Whether the deadline has passed (and so timed_out is set)."""
        if self.deadline is not None and not self.timed_out and time.monotonic() > self.deadline:
            self.timed_out = True
        return self.timed_out

    def postings(self, fieldname: str, text: str) -> _Postings:
        key = (fieldname, text)
        found = self._postings.get(key)
        if found is not None:
            return found
        docs, weights, lengths, parts = [], [], [], []
        if fieldname in self.schema and not self.late():
            scorable = self.schema[fieldname].scorable
            rows = 0
            for s, (reader, offset) in enumerate(self.segments):
                ids, freqs = reader.postings(fieldname, text)
                if not len(ids):
                    continue
                parts.append((s, rows))
                rows += len(ids)
                docs.append(ids.astype(np.int64) + offset)
                weights.append((freqs * np.float32(reader.boost(fieldname))).astype(np.float32).astype(np.float64))
                lengths.append(reader.field_lengths(fieldname)[ids] if scorable else np.ones(len(ids)))
        if docs:
            found = _Postings(np.concatenate(docs), np.concatenate(weights), np.concatenate(lengths), parts)
        else:
            found = _Postings(np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0), [])
        self._postings[key] = found
        return found

    def term_spans(self, fieldname: str, text: str, docs: np.ndarray) -> _Spans:
        """The positions of a term in the given documents (all containing it), as spans."""
        p = self.postings(fieldname, text)
        rows = np.searchsorted(p.docs, docs)
        owners, positions = [], []
        bounds = [first for _, first in p.parts] + [len(p.docs)]
        for (s, first), end in zip(p.parts, bounds[1:]):
            chosen = rows[(rows >= first) & (rows < end)]
            if not len(chosen):
                continue
            reader, _ = self.segments[s]
            terms, number, starts = reader.position_index(fieldname, text)  # ValueError: no positions
            owner, pos = terms.positions_of(number, starts, chosen - first)  # only these postings'
            owners.append(p.docs[chosen][owner])
            positions.append(pos)
        if not owners:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        doc = np.concatenate(owners)
        pos = np.concatenate(positions)
        order = np.lexsort((pos, doc))
        return doc[order], pos[order], pos[order]

    # -- scoring ---------------------------------------------------------------------

    def term(self, fieldname: str, text: str, boost: float = 1.0) -> Matches:
        """One field's BM25 of a term (its weight, for a field that is not scored)."""
        p = self.postings(fieldname, text)
        if not len(p.docs):
            return Matches.empty()
        if self.schema[fieldname].scorable:
            norm = scoring.length_norm(p.lengths, self.stats.avg_length(fieldname), scoring.B)
            scores = scoring.bm25(self.stats.idf(fieldname, text), p.weights, norm)
        else:
            scores = p.weights.copy()
        return Matches(p.docs, scores * boost if boost != 1.0 else scores)

    def fields_term(self, terms: list[tuple[str, str]], boost: float = 1.0) -> Matches:
        """BM25F of one word over several fields (the frequencies added, then saturated)."""
        tf = {}
        df = 0
        for fieldname, text in terms:
            df = max(df, self.stats.doc_frequency(fieldname, text))
            p = self.postings(fieldname, text)
            if not len(p.docs):
                continue
            norm = scoring.length_norm(p.lengths, self.stats.avg_length(fieldname), scoring.field_b(fieldname))
            tf[fieldname] = Matches(p.docs, scoring.bm25f_tf(p.weights, norm, fieldname))
        if not tf:
            return Matches.empty()
        combined = _union(list(tf.values()))
        word_idf = scoring.idf(self.stats.doc_count, df) * boost
        return Matches(combined.docs, scoring.bm25f(word_idf, combined.scores))

    # -- the tree --------------------------------------------------------------------

    def run(self, q: wq.Query) -> Matches:
        """The live documents matching `q`, with their scores."""
        found = self._node(q)
        if len(found.docs):
            keep = self.live[found.docs]
            if not keep.all():
                found = Matches(found.docs[keep], found.scores[keep])
        return found

    def mask(self, q: wq.Query | None) -> np.ndarray | None:
        """The documents a filter keeps, as a mask (None: all of them)."""
        if q is None or isinstance(q, wq.Every):
            return None
        if isinstance(q, NumericRange) and q.fieldname in self.schema and not (q.startexcl or q.endexcl):
            keep = np.empty(self.doc_count, dtype=bool)
            for reader, offset in self.segments:  # segment by segment: no index-wide copy of the column
                values, has = reader.numbers(q.fieldname)
                part = keep[offset:offset + reader.doc_count]
                part[:] = has
                if q.start is not None:
                    part &= values >= q.start
                if q.end is not None:
                    part &= values <= q.end
            return keep
        if isinstance(q, wq.And):
            keep = np.ones(self.doc_count, dtype=bool)
            for child in q.subqueries:
                sub = self.mask(child)
                if sub is not None:
                    keep &= sub
            return keep
        if isinstance(q, wq.Not):
            sub = self.mask(q.query)
            return np.zeros(self.doc_count, dtype=bool) if sub is None else ~sub
        keep = np.zeros(self.doc_count, dtype=bool)
        if type(q) is wq.Term or (type(q) is wq.Or and all(type(c) is wq.Term for c in q.subqueries)):
            # A source filter: only which documents have the term, straight from each
            # segment's postings (no weights, lengths or scores; a source every article has
            # is a million postings at 1M articles).
            for term in [q] if type(q) is wq.Term else q.subqueries:
                self._mark(keep, term)
            return keep
        keep[self._node(q).docs] = True
        return keep

    def _mark(self, keep: np.ndarray, q: wq.Term) -> None:
        """Set keep[d] for every document d (deleted ones too) with the Term's term."""
        text = self._term_text(q)
        if text is None or self.late():
            return
        for reader, offset in self.segments:
            if reader.doc_frequency(q.fieldname, text) == reader.doc_count:  # every document
                keep[offset:offset + reader.doc_count] = True
                continue
            ids, _ = reader.postings(q.fieldname, text)
            keep[ids.astype(np.int64) + offset] = True

    def _all(self, boost: float = 1.0) -> Matches:
        docs = np.flatnonzero(self.live).astype(np.int64)
        return Matches(docs, np.full(len(docs), float(boost)))

    def _node(self, q: wq.Query) -> Matches:
        boost = getattr(q, "boost", 1.0)
        if isinstance(q, FieldsTerm):
            return self.fields_term([(t.fieldname, t.text) for t in q.subqueries], q.boost)
        if type(q) is wq.Term:
            return self._term_query(q)
        if isinstance(q, wq.Phrase):
            return self._positional(q, boost)
        if isinstance(q, wspans.SpanNear2):
            return self._positional(q, 1.0)
        if isinstance(q, NumericRange):
            docs = np.flatnonzero(self.mask(q)).astype(np.int64)
            return Matches(docs, np.zeros(len(docs)))
        if isinstance(q, wq.MultiTerm):
            return self._multi_term(q)
        if isinstance(q, wq.Or):
            return _scaled(_union([self._node(c) for c in q.subqueries]), boost)
        if isinstance(q, wq.And):
            positive = [c for c in q.subqueries if not isinstance(c, wq.Not)]
            negative = [c.query for c in q.subqueries if isinstance(c, wq.Not)]
            found = _intersection([self._node(c) for c in positive]) if positive else self._all()
            for excluded in negative:
                found = _without(found, self._node(excluded))
            return _scaled(found, boost)
        if isinstance(q, wq.AndNot):
            return _scaled(_without(self._node(q.a), self._node(q.b)), boost)
        if isinstance(q, wq.Require):
            return _scaled(_restrict(self._node(q.a), self._node(q.b)), boost)
        if isinstance(q, wq.AndMaybe):
            a = self._node(q.a)
            return _scaled(_add_where(a, self._node(q.b)), boost)
        if isinstance(q, wq.Not):
            return _without(self._all(boost), self._node(q.query))
        if isinstance(q, wq.Every):
            return self._all(boost)
        if isinstance(q, WrappingQuery):
            return _scaled(self._node(q.child), boost)
        if isinstance(q, wq.CompoundQuery):  # DisjunctionMax and the like: their terms, OR'ed
            return _scaled(_union([self._node(c) for c in q.subqueries]), boost)
        return Matches.empty()  # NullQuery, or a query type the parser does not make

    def _term_query(self, q: wq.Term) -> Matches:
        text = self._term_text(q)
        return Matches.empty() if text is None else self.term(q.fieldname, text, q.boost)

    def _term_text(self, q: wq.Term) -> str | None:
        """The Term's text as its field indexes it, or None when it can match nothing."""
        if q.fieldname not in self.schema:
            return None
        if isinstance(q.text, str):
            return q.text
        try:
            return self.schema[q.fieldname].to_bytes(q.text).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None

    def _multi_term(self, q: wq.MultiTerm) -> Matches:
        if q.field() not in self.schema or self.late():
            return Matches.empty()
        found = expand(q, self.reader, self.max_expansions, self.words)
        if found.capped:
            self.expansions.append(found)
        return _scaled(_union([self.term(found.field, t) for t in found.terms]), q.boost)

    # -- positions -------------------------------------------------------------------

    def _positional(self, q: wq.Query, boost: float) -> Matches:
        """A phrase or a span query: where its words are near each other as it asks; the
        score is the sum of its words' Term scores there."""
        leaves = _span_leaves(q)
        if not leaves or any(f not in self.schema for f, _ in leaves):
            return Matches.empty()
        lists = [self.postings(f, t).docs for f, t in leaves]
        candidates = lists[0]
        for docs in lists[1:]:
            candidates = np.intersect1d(candidates, docs, assume_unique=True)
        if len(candidates):
            candidates = candidates[self.live[candidates]]
        if not len(candidates):
            return Matches.empty()
        try:
            docs = np.unique(self._spans(q, candidates)[0])
        except ValueError:  # a field without positions: articles with all the words
            docs = candidates
        if not len(docs):
            return Matches.empty()
        total = np.zeros(len(docs))
        for f, t in leaves:
            scored = self.term(f, t)
            total += scored.scores[np.searchsorted(scored.docs, docs)]
        return Matches(docs, total * boost if boost != 1.0 else total)

    def _spans(self, q: wq.Query, candidates: np.ndarray) -> _Spans:
        if isinstance(q, WrappingQuery):
            return self._spans(q.child, candidates)
        if type(q) is wq.Term:
            return self.term_spans(q.fieldname, q.text, candidates)
        if isinstance(q, wq.Phrase):
            parts = [wq.Term(q.fieldname, w) for w in q.words]
            return self._near([self._spans(p, candidates) for p in parts], q.slop, True, 1)
        if isinstance(q, wspans.SpanNear2):
            return self._near([self._spans(p, candidates) for p in q.qs], q.slop, q.ordered, q.mindist)
        raise ValueError(f"no positions for {q!r}")

    @staticmethod
    def _near(parts: list[_Spans], slop: int, ordered: bool, mindist: int) -> _Spans:
        """Spans of a SpanNear2: each next part's span within mindist..slop of the spans so
        far (after them when ordered), joined into one span covering both."""
        a = parts[0]
        for b in parts[1:]:
            ia, ib = _same_doc_pairs(a[0], b[0])
            a_start, a_end, b_start, b_end = a[1][ia], a[2][ia], b[1][ib], b[2][ib]
            dist = np.maximum(np.maximum(b_start - a_end, a_start - b_end), 0)
            ok = (dist >= mindist) & (dist <= slop)
            if ordered:
                ok &= a_start <= b_start
            doc = a[0][ia][ok]
            start = np.minimum(a_start, b_start)[ok]
            end = np.maximum(a_end, b_end)[ok]
            if len(doc):
                joined = np.unique(np.stack([doc, start, end]), axis=1)
                a = (joined[0], joined[1], joined[2])
            else:
                a = (doc, start, end)
            if not len(a[0]):
                break
        return a


def _span_leaves(q: wq.Query) -> list[tuple[str, str]]:
    if isinstance(q, WrappingQuery):
        return _span_leaves(q.child)
    if type(q) is wq.Term:
        return [(q.fieldname, q.text)]
    if isinstance(q, wq.Phrase):
        return [(q.fieldname, w) for w in q.words]
    if isinstance(q, wspans.SpanNear2):
        return [leaf for child in q.qs for leaf in _span_leaves(child)]
    return []


def _same_doc_pairs(a_doc: np.ndarray, b_doc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (i, j) with a_doc[i] == b_doc[j] (both sorted)."""
    first = np.searchsorted(b_doc, a_doc, side="left")
    count = np.searchsorted(b_doc, a_doc, side="right") - first
    ia = np.repeat(np.arange(len(a_doc)), count)
    offsets = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    return ia, np.repeat(first, count) + offsets


def _scaled(m: Matches, boost: float) -> Matches:
    return m if boost == 1.0 else Matches(m.docs, m.scores * boost)


def _union(parts: list[Matches]) -> Matches:
    """Documents in any part; scores added."""
    parts = [p for p in parts if len(p.docs)]
    if not parts:
        return Matches.empty()
    if len(parts) == 1:
        return parts[0]
    docs = np.concatenate([p.docs for p in parts])
    scores = np.concatenate([p.scores for p in parts])
    unique, where = np.unique(docs, return_inverse=True)
    return Matches(unique, np.bincount(where, weights=scores, minlength=len(unique)))


def _intersection(parts: list[Matches]) -> Matches:
    """Documents in every part; scores added."""
    found = parts[0]
    for other in parts[1:]:
        docs, i, j = np.intersect1d(found.docs, other.docs, assume_unique=True, return_indices=True)
        found = Matches(docs, found.scores[i] + other.scores[j])
    return found


def _without(a: Matches, b: Matches) -> Matches:
    keep = ~np.isin(a.docs, b.docs, assume_unique=True)
    return Matches(a.docs[keep], a.scores[keep])


def _restrict(a: Matches, b: Matches) -> Matches:
    keep = np.isin(a.docs, b.docs, assume_unique=True)
    return Matches(a.docs[keep], a.scores[keep])


def _add_where(a: Matches, b: Matches) -> Matches:
    docs, i, j = np.intersect1d(a.docs, b.docs, assume_unique=True, return_indices=True)
    scores = a.scores.copy()
    scores[i] += b.scores[j]
    return Matches(a.docs, scores)
