"""The Whoosh schema searchkit writes, its version, and the Whoosh analyzer chain over
analysis.Analyzer (what Whoosh's own searcher and query parser use on a searchkit index).

Each generation's TOC pickles the schema with these classes. Indexes written before they moved
here name them as searchkit.schema.* and searchkit.analysis.*, which still resolve to them.
"""

from __future__ import annotations

from typing import Iterator

from whoosh.analysis import Filter, StopFilter, Token, Tokenizer
from whoosh.fields import DATETIME, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.formats import Positions

from ..analysis import TOKEN_PATTERN, analyzer, normalize_token, stopwords
from .scoring import TITLE_BOOST

# -- the Whoosh analyzer chain, for Whoosh's own searcher and query parser ----------------


class NewsTokenizer(Tokenizer):
    """Splits text into words, numbers and dotted acronyms, recording positions and offsets."""

    def __eq__(self, other: object) -> bool:
        return self.__class__ is other.__class__

    def __call__(self, value: str, positions: bool = False, chars: bool = False,
                 keeporiginal: bool = False, removestops: bool = True, start_pos: int = 0,
                 start_char: int = 0, tokenize: bool = True, mode: str = "",
                 **kwargs: object) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            t.original = t.text = value
            t.boost = 1.0
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar, t.endchar = start_char, start_char + len(value)
            yield t
            return
        for pos, match in enumerate(TOKEN_PATTERN.finditer(value)):
            t.text = match.group(0)
            t.boost = 1.0
            t.stopped = False
            if keeporiginal:
                t.original = t.text
            if positions:
                t.pos = start_pos + pos
            if chars:
                t.startchar = start_char + match.start()
                t.endchar = start_char + match.end()
            yield t


class NewsNormalizeFilter(Filter):
    """Lower-cases tokens and folds the punctuation forms of news text (see normalize_token)."""

    def __eq__(self, other: object) -> bool:
        return self.__class__ is other.__class__

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for t in tokens:
            t.text = normalize_token(t.text)
            yield t


class SnowballFilter(Filter):
    """Replaces each token's text with its English Snowball stem (analyzer().stem)."""

    is_morph = True

    def __eq__(self, other: object) -> bool:
        return self.__class__ is other.__class__

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        stem = analyzer().stem
        for t in tokens:
            if not t.stopped:
                t.text = stem(t.text)
            yield t


def news_analyzer():
    """Analyzer() as a Whoosh analyzer chain: tokens, normalised, stop words out, stemmed.

    Stop words leave a gap in the positions (renumber=False) so that the phrase
    "Bank of England" does not match "bank, England".
    """
    return NewsTokenizer() | NewsNormalizeFilter() | StopFilter(stoplist=stopwords(), minsize=1, renumber=False) | SnowballFilter()


def name_analyzer():
    """For names (source, author): tokens normalised, no stop words or stems ("BBC News")."""
    return NewsTokenizer() | NewsNormalizeFilter()


class NewsPositions(Positions):
    """Whoosh's Positions format, fed by Analyzer.term_positions instead of a chain of Token
    objects: the same postings (tested), at a fraction of the cost."""

    def word_values(self, value, analyzer_chain, **kwargs):
        if not isinstance(value, str):
            yield from super().word_values(value, analyzer_chain, **kwargs)
            return
        boost = self.field_boost
        encode = self.encode
        for term, poslist in analyzer().term_positions(value).items():
            yield term, len(poslist), len(poslist) * boost, encode(poslist)


# Bump when the schema or the analyzer changes: old indexes then ask for `searchkit reindex`.
SCHEMA_VERSION = 3  # 3: segments in searchkit's own format (engine/), one postings format


class NewsText(TEXT):
    """Stored, stemmed article text, with its unstemmed words kept for did-you-mean.

    Same terms as TEXT(news_analyzer, spelling=True); the postings (NewsPositions, or
    build.py's builder) and the spelling words come from analysis.analyzer() instead of a
    chain of Token objects, which is most of an import's time in pure Python.
    """

    def __init__(self, boost: float = 1.0) -> None:
        super().__init__(analyzer=news_analyzer(), stored=True, field_boost=boost, spelling=True)
        self.format = NewsPositions(field_boost=boost)

    def spellable_words(self, value):
        if isinstance(value, str):
            return iter(analyzer().spelling_words(value))
        return super().spellable_words(value)


def build_schema() -> Schema:
    """Fields of an indexed article (see article.Article)."""
    return Schema(
        id=ID(stored=True, unique=True),
        url=STORED(),
        title=NewsText(TITLE_BOOST),
        body=NewsText(),
        source=TEXT(analyzer=name_analyzer(), stored=True),
        source_key=ID(sortable=True),
        author=TEXT(analyzer=name_analyzer(), stored=True),
        published=DATETIME(stored=True, sortable=True),
        tags=KEYWORD(stored=True, commas=True, lowercase=True, scorable=True),
        language=ID(stored=True),
        license=STORED(),
        imported=DATETIME(stored=True),
        origin=STORED(),
        cluster=ID(stored=True, sortable=True),  # sortable: results collapse on it
    )
