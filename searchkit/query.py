"""The query language: user text -> a Whoosh query, plus the terms to highlight.

Plain words are OR-ed, and search.py ranks the articles that contain all of them first.
Anything else (quotes, AND/OR/NOT, -word, field:value, word*, word~) goes through
Whoosh's parser. Any input is a valid query: what the parser cannot read falls back to
its plain words, with a notice that says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from whoosh import qparser
from whoosh import query as wq

from .analysis import analyze

SEARCH_FIELDS = ("title", "body")
# Syntax that makes a query more than a bag of words.
_SYNTAX = re.compile(r"""["*?~:()\[\]{}^]|(?:^|\s)[-+]\S|\b(?:AND|OR|NOT|ANDNOT|ANDMAYBE)\b""")
_SYNTAX_CHARS = re.compile(r"""["*?~:()\[\]{}^+]|(?:^|\s)-(?=\S)|\b(?:AND|OR|NOT|ANDNOT|ANDMAYBE)\b""")
MAX_QUERY_CHARS = 1_000


class QueryError(ValueError):
    """Raised for a query that has nothing to search for (empty, or only stop words)."""


@dataclass
class ParsedQuery:
    """A query ready to run: `query` matches; `all_words`, when set, ranks first."""

    text: str
    query: wq.Query
    all_words: wq.Query | None = None
    stems: set[str] = field(default_factory=set)
    notice: str = ""


def _word_query(stem: str) -> wq.Query:
    return wq.Or([wq.Term(name, stem) for name in SEARCH_FIELDS])


def _words(text: str, notice: str = "") -> ParsedQuery:
    stems = list(dict.fromkeys(analyze(text)))
    if not stems:
        raise QueryError("nothing to search for: the query has only punctuation or very common words")
    per_word = [_word_query(s) for s in stems]
    if len(per_word) == 1:
        return ParsedQuery(text, per_word[0], None, set(stems), notice)
    return ParsedQuery(text, wq.Or(per_word), wq.And(per_word), set(stems), notice)


def _positive_terms(q: wq.Query) -> set[str]:
    """Stems of the title/body terms a query looks for (not the ones it excludes)."""
    if isinstance(q, wq.Not):
        return set()
    if isinstance(q, wq.AndNot):
        return _positive_terms(q.a)
    found: set[str] = set()
    if isinstance(q, (wq.Term, wq.Prefix, wq.FuzzyTerm)) and q.fieldname in SEARCH_FIELDS:
        found.add(q.text)
    if isinstance(q, wq.Phrase) and q.fieldname in SEARCH_FIELDS:
        found.update(q.words)
    for child in q.children():
        found |= _positive_terms(child)
    return found


def _not_excludes(q: wq.Query) -> wq.Query:
    """Make `a NOT b` mean "a, but not b" (Whoosh's OR grouping reads it as "a, or not b")."""
    if isinstance(q, wq.Or):
        kids = [_not_excludes(c) for c in q.subqueries]
        nots = [c.query for c in kids if isinstance(c, wq.Not)]
        keep = [c for c in kids if not isinstance(c, wq.Not)]
        if nots and keep:
            return wq.AndNot(keep[0] if len(keep) == 1 else wq.Or(keep),
                             nots[0] if len(nots) == 1 else wq.Or(nots))
        return q.__class__(kids, boost=q.boost)
    if isinstance(q, wq.CompoundQuery):
        return q.apply(_not_excludes)
    return q


def parser(schema) -> qparser.QueryParser:
    """Whoosh's parser over title and body, OR by default, with +/- and fuzzy word~."""
    p = qparser.MultifieldParser(list(SEARCH_FIELDS), schema, group=qparser.OrGroup)
    p.add_plugin(qparser.PlusMinusPlugin())
    p.add_plugin(qparser.FuzzyTermPlugin())
    return p


def parse(text: str, schema) -> ParsedQuery:
    """Parse user text; raises QueryError only when there is nothing to search for."""
    text = " ".join(text.split())[:MAX_QUERY_CHARS]
    if not text:
        raise QueryError("empty query: type some words to search for")
    if not _SYNTAX.search(text):
        return _words(text)
    plain = _SYNTAX_CHARS.sub(" ", text)
    if text.count('"') % 2:
        return _words(plain, 'unbalanced quote: searched for the words without it')
    try:
        q = parser(schema).parse(text)
    except Exception:  # Whoosh raises many types on odd input; plain words always work
        return _words(plain, "could not read the query syntax: searched for the plain words")
    if q is wq.NullQuery:
        return _words(plain, "could not read the query syntax: searched for the plain words")
    q = _not_excludes(q)
    stems = _positive_terms(q)
    return ParsedQuery(text, q, None, stems)
