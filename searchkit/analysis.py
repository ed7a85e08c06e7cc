"""Text analysis for news: tokenizer -> normaliser/lower-case -> stop words -> Snowball stems.

Each stage is a small Whoosh tokenizer or filter composed with `|`, so the index and
the query parser (and the snippet highlighter) see exactly the same terms.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import types
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Iterator

from whoosh.analysis import Filter, StopFilter, Token, Tokenizer
from whoosh.formats import Positions

# One token is, in order of preference:
#   an acronym with dots ("U.S.", "e.g."), kept as one word without its dots;
#   a number with thousands or decimal separators ("4,000", "3.5");
#   a word, possibly with inner apostrophes ("ISIS's", "don’t", "O'Brien").
# Hyphens split words ("Kurdish-led" -> "kurdish", "led").
# Every alternative starts with a word character: the lookahead rejects the other positions
# once instead of three times (a fifth less time in findall, same matches).
TOKEN_PATTERN = re.compile(
    r"(?=\w)(?:"
    r"(?:[^\W\d_]\.){2,}(?![^\W_])"
    r"|\d+(?:[.,]\d+)*(?![^\W_])"
    r"|\w+(?:['\u2019\u02bc]\w+)*"
    r")"
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


def _load_english_stemmer() -> type:
    """NLTK's English Snowball stemmer class, loaded without NLTK's package __init__.

    `import nltk` pulls in its corpus readers, translation metrics and (where installed)
    numpy: 0.3-1.4 s, most of a `searchkit query` cold start. The stemmer module needs only
    nltk.stem.{api,porter,util}, nltk.redos and nltk.termsec, so it is imported under empty
    stand-ins for the `nltk`, `nltk.stem` and `nltk.corpus` packages (~100 ms), and
    sys.modules is put back afterwards: a later `import nltk` anywhere gets the real thing.
    """
    if "nltk.stem.snowball" in sys.modules:  # NLTK is already loaded: nothing to save
        return sys.modules["nltk.stem.snowball"].EnglishStemmer
    spec = importlib.util.find_spec("nltk")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("NLTK is not installed: pip install nltk")
    root = Path(list(spec.submodule_search_locations)[0])
    saved = {k: v for k, v in sys.modules.items() if k == "nltk" or k.startswith("nltk.")}
    try:
        for name, path in (("nltk", root), ("nltk.stem", root / "stem")):
            package = types.ModuleType(name)
            package.__path__ = [str(path)]
            sys.modules[name] = package
        corpus = types.ModuleType("nltk.corpus")
        corpus.stopwords = None  # only read by ignore_stopwords=True, which searchkit never asks for
        sys.modules["nltk.corpus"] = corpus
        return importlib.import_module("nltk.stem.snowball").EnglishStemmer
    finally:
        for name in [k for k in sys.modules if k == "nltk" or k.startswith("nltk.")]:
            del sys.modules[name]
        sys.modules.update(saved)


@cache
def _stemmer():
    """NLTK's English Snowball stemmer (what SnowballStemmer("english") uses), on first use."""
    return _load_english_stemmer()()


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


_TERMS: dict[str, str] = {}  # raw token -> its index term ("" for a stop word)


_WORDS: dict[str, str] = {}  # raw token -> normalised word ("" for a stop word)


def index_word(raw: str) -> str:
    """One raw token normalised, as news_analyzer has it before stemming ("" for a stop word)."""
    word = _WORDS.get(raw)
    if word is None:
        if len(_WORDS) >= _STEM_CACHE_LIMIT:
            _WORDS.clear()
        word = normalize_token(raw)
        word = _WORDS[raw] = "" if not word or word in stopwords() else word
    return word


def index_term(raw: str) -> str:
    """The index term for one raw token, as news_analyzer makes it ("" when it is a stop word)."""
    term = _TERMS.get(raw)
    if term is None:
        if len(_TERMS) >= _STEM_CACHE_LIMIT:
            _TERMS.clear()
        word = index_word(raw)
        term = _TERMS[raw] = snowball_stem(word) if word else ""
    return term


def spelling_words(text: str) -> list[str]:
    """The distinct unstemmed words of `text`, sorted: what Whoosh's spellable_words gets
    from news_analyzer(no_morph=True), in one pass (for the did-you-mean spell_* fields)."""
    words = _WORDS
    found = set()
    for match in TOKEN_PATTERN.finditer(text):
        raw = match.group(0)
        word = words.get(raw)
        if word is None:
            word = index_word(raw)
        if word:
            found.add(word)
    return sorted(found)


def term_positions(text: str) -> dict[str, list[int]]:
    """Each index term of `text` with its positions: exactly what news_analyzer yields
    (stop words out, leaving their gap in the positions), in one pass."""
    positions: dict[str, list[int]] = {}
    terms = _TERMS
    for pos, match in enumerate(TOKEN_PATTERN.finditer(text)):
        raw = match.group(0)
        term = terms.get(raw)
        if term is None:
            term = index_term(raw)
        if term:
            found = positions.get(term)
            if found is None:
                positions[term] = [pos]
            else:
                found.append(pos)
    return positions


def term_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[str, int, int, int]]:
    """(term, position, start char, end char) of each index term of text[start:end]: what
    news_analyzer(positions=True, chars=True) yields for it, without a Token per word."""
    found = []
    terms = _TERMS
    for pos, match in enumerate(TOKEN_PATTERN.finditer(text, start, len(text) if end is None else end)):
        raw = match.group(0)
        term = terms.get(raw)
        if term is None:
            term = index_term(raw)
        if term:
            found.append((term, pos, match.start(), match.end()))
    return found


_ENTRIES: dict[str, bytes] = {}  # raw token -> its index term as UTF-8; b"" = stop word


def _entry(raw: str) -> bytes:
    """The UTF-8 index term of one raw token (b"" for a stop word), cached in _ENTRIES."""
    if len(_ENTRIES) >= _STEM_CACHE_LIMIT:
        _ENTRIES.clear()
    word = index_word(raw)
    term = _ENTRIES[raw] = snowball_stem(word).encode("utf-8") if word else b""
    return term


def index_terms(text: str) -> tuple[list[str], list[bytes]]:
    """The raw tokens of `text` (spelling_words_of() turns a segment's worth into its
    did-you-mean words) and the index term (UTF-8) of each, in order, as news_analyzer makes
    them: b"" for a stop word, the gap it leaves in the positions. build.py groups a whole
    segment's terms into postings at once (engine.writer.WordRuns.runs).

    One regex pass and one cached lookup per token: analysis is a third of an import's CPU.
    """
    raws = TOKEN_PATTERN.findall(text)
    terms = list(map(_ENTRIES.get, raws))
    if None in terms:  # words not seen lately
        terms = [_entry(raw) if term is None else term for raw, term in zip(raws, terms)]
    return raws, terms


def spelling_words_of(raws) -> set[bytes]:
    """The distinct unstemmed words (UTF-8) of raw tokens: the did-you-mean spelling words."""
    words = {index_word(raw) for raw in raws}
    words.discard("")
    return {word.encode("utf-8") for word in words}


class NewsPositions(Positions):
    """Whoosh's Positions format, fed by term_positions instead of a chain of Token objects.

    The postings it writes are byte-for-byte those of Positions with news_analyzer (tested),
    at a fraction of the cost: analysis is most of an import's time in pure Python.
    """

    def word_values(self, value, analyzer, **kwargs):
        if not isinstance(value, str):
            yield from super().word_values(value, analyzer, **kwargs)
            return
        boost = self.field_boost
        encode = self.encode
        for term, poslist in term_positions(value).items():
            yield term, len(poslist), len(poslist) * boost, encode(poslist)


def analyze(text: str) -> list[str]:
    """The terms searchkit indexes for `text`, in order (handy in tests and tools)."""
    return [t.text for t in news_analyzer()(text)]
