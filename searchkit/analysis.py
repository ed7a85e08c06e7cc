"""Text analysis for news: tokenizer -> normaliser/lower-case -> stop words -> Snowball stems.

Each stage is a small Whoosh tokenizer or filter composed with `|`, so the index and
the query parser (and the snippet highlighter) see exactly the same terms.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Iterator

from whoosh.analysis import Filter, StopFilter, Token, Tokenizer

# One token is, in order of preference:
#   an acronym with dots ("U.S.", "e.g."), kept as one word without its dots;
#   a number with thousands or decimal separators ("4,000", "3.5");
#   a word, possibly with inner apostrophes ("ISIS's", "don’t", "O'Brien").
# Hyphens split words ("Kurdish-led" -> "kurdish", "led").
TOKEN_PATTERN = re.compile(
    r"(?:[^\W\d_]\.){2,}(?![^\W_])"
    r"|\d+(?:[.,]\d+)*(?![^\W_])"
    r"|\w+(?:['\u2019\u02bc]\w+)*"
)
_APOSTROPHES = re.compile(r"['\u2019\u02bc]")
_POSSESSIVE = re.compile(r"['\u2019\u02bc]s$")


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


def normalize_token(text: str) -> str:
    """Lower-case; drop a possessive 's, other apostrophes, acronym dots and digit commas."""
    text = text.lower()
    if "'" in text or "\u2019" in text or "\u02bc" in text:
        text = _APOSTROPHES.sub("", _POSSESSIVE.sub("", text))
    if "." in text or "," in text:
        if text[0].isdigit():
            text = text.replace(",", "")
        else:
            text = text.replace(".", "")
    return text


class NewsNormalizeFilter(Filter):
    """Lower-cases tokens and folds the punctuation forms of news text (see normalize_token)."""

    def __eq__(self, other: object) -> bool:
        return self.__class__ is other.__class__

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for t in tokens:
            t.text = normalize_token(t.text)
            yield t


@cache
def _stemmer():  # imported on first use: NLTK costs ~170 ms to import
    from nltk.stem.snowball import SnowballStemmer

    return SnowballStemmer("english")


_STEMS: dict[str, str] = {}
_STEM_CACHE_LIMIT = 500_000


def snowball_stem(word: str) -> str:
    """NLTK's English Snowball stem, cached: news vocabulary is Zipfian, most words repeat."""
    stem = _STEMS.get(word)
    if stem is None:
        if len(_STEMS) >= _STEM_CACHE_LIMIT:
            _STEMS.clear()
        stem = _STEMS[word] = _stemmer().stem(word)
    return stem


class SnowballFilter(Filter):
    """Replaces each token's text with its English Snowball stem."""

    is_morph = True

    def __eq__(self, other: object) -> bool:
        return self.__class__ is other.__class__

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for t in tokens:
            if not t.stopped:
                t.text = snowball_stem(t.text)
            yield t


@cache
def stopwords() -> frozenset[str]:
    """The bundled English stop-word list (NLTK's data cannot be downloaded here)."""
    text = resources.files("searchkit").joinpath("stopwords/english.txt").read_text("utf-8")
    return frozenset(w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#"))


def news_analyzer():
    """The analyzer for article text: tokens, normalised, stop words out, stemmed.

    Stop words leave a gap in the positions (renumber=False) so that the phrase
    "Bank of England" does not match "bank, England".
    """
    return NewsTokenizer() | NewsNormalizeFilter() | StopFilter(stoplist=stopwords(), minsize=1, renumber=False) | SnowballFilter()


def name_analyzer():
    """For names (source, author): tokens normalised, no stop words or stems ("BBC News")."""
    return NewsTokenizer() | NewsNormalizeFilter()


def analyze(text: str) -> list[str]:
    """The terms searchkit indexes for `text`, in order (handy in tests and tools)."""
    return [t.text for t in news_analyzer()(text)]
