"""True BM25F for one word over several fields (title and body), as a Whoosh query.

Whoosh's BM25F scores each field on its own and adds the results, so a word in the
headline *and* the text gets two saturated BM25 scores, however long the text is. Real
BM25F (Robertson & Zaragoza, "The Probabilistic Relevance Framework", 2009) first adds the
word's length-normalised frequencies over the fields, each times the field's weight, and
saturates once:

    tf~   = sum over fields f of  weight_f * tf_f / ((1 - b) + b * length_f / avglength_f)
    score = idf * tf~ * (k1 + 1) / (tf~ + k1)
    idf   = log(1 + (N - df + 0.5) / (df + 0.5))       (Lucene's; df over any field)

The field weights are the index-time boosts (schema.TITLE_BOOST multiplies title
frequencies as they are written), so here every field counts its stored frequency once.
k1 is 1.5 rather than Lucene's 1.2 because tf~ adds up several fields (the title's
boosted), so it runs higher than a one-field frequency and needs a later saturation point.
"""

from __future__ import annotations

from whoosh import matching
from whoosh import query as wq

from .engine import scoring
from .engine.scoring import B, K1


class FieldsTerm(wq.Or):
    """Matches a word in any of `fields`; scores it with BM25F over all of them together."""

    def __init__(self, subqueries, boost: float = 1.0, minmatch: int = 0, scale=None, k1: float | None = None,
                 b: float | None = None) -> None:
        super().__init__(subqueries, boost=boost, minmatch=minmatch, scale=scale)
        self.k1 = K1 if k1 is None else k1
        self.b = B if b is None else b

    @classmethod
    def of(cls, text: str, fields: tuple[str, ...], boost: float = 1.0) -> "FieldsTerm":
        return cls([wq.Term(name, text) for name in fields], boost=boost)

    def normalize(self):
        return self

    def with_boost(self, boost: float) -> "FieldsTerm":
        return self.__class__(self.subqueries, boost=boost, k1=self.k1, b=self.b)

    def apply(self, fn):
        return self.__class__([fn(q) for q in self.subqueries], boost=self.boost, k1=self.k1, b=self.b)

    def matcher(self, searcher, context=None):
        reader = searcher.reader()
        parent = searcher.get_parent()
        parts = []
        df = 0
        for term in self.subqueries:
            if (term.fieldname, term.text) not in reader:
                continue
            postings = reader.postings(term.fieldname, term.text)
            avg = parent.avg_field_length(term.fieldname) or 1.0
            parts.append((term.fieldname, avg, postings, scoring.field_weight(term.fieldname),
                          scoring.FIELD_B.get(term.fieldname, self.b)))
        for term in self.subqueries:
            df = max(df, parent.doc_frequency(term.fieldname, term.text))
        if not parts:
            return matching.NullMatcher()
        n = parent.doc_count_all()
        idf = scoring.idf(n, df)
        union = parts[0][2]
        for _, _, postings, _, _ in parts[1:]:
            union = matching.UnionMatcher(union, postings)
        return _FieldsMatcher(union, parts, reader, idf * self.boost, self.k1, self.b)


class _FieldsMatcher(matching.WrappingMatcher):
    def __init__(self, child, parts, reader, idf: float, k1: float, b: float) -> None:
        super().__init__(child)
        self._parts = parts
        self._reader = reader
        self._idf = idf
        self._k1 = k1
        self._b = b

    def _replacement(self, newchild):
        return self.__class__(newchild, self._parts, self._reader, self._idf, self._k1, self._b)

    def replace(self, minquality=0):
        return self if self.is_active() else matching.NullMatcher()

    def copy(self):
        return self.__class__(self.child.copy(), self._parts, self._reader, self._idf, self._k1, self._b)

    def supports_block_quality(self):
        return False

    def max_quality(self):
        return self._idf * (self._k1 + 1)  # the saturation limit: no score is higher

    def block_quality(self):
        return self.max_quality()

    def score(self):
        docnum = self.child.id()
        tf = 0.0
        for fieldname, avg, postings, weight, b in self._parts:
            if postings.is_active() and postings.id() == docnum:
                length = self._reader.doc_field_length(docnum, fieldname, 1) or 1
                tf += weight * postings.weight() / ((1 - b) + b * length / avg)
        return self._idf * tf * (self._k1 + 1) / (tf + self._k1) if tf else 0.0
