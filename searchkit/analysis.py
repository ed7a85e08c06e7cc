"""Text analysis for news: tokens -> normalised words -> stop words out -> Snowball stems.

One `Analyzer` object (`analyzer()`) does it for indexing (engine/build.py), query parsing
(query.py), snippets (snippets.py) and did-you-mean (suggest.py), so all of them see exactly
the same terms. Its caches are its own: news vocabulary is Zipfian, so after the first few
thousand articles almost every word's stem is a dictionary look-up, not a Snowball run.
The Whoosh tokenizer and filters built on it (engine/schema.py `news_analyzer()`, for
Whoosh's own searcher and query parser) call the same object.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import types
from dataclasses import dataclass, field
from functools import cache
from itertools import accumulate
from pathlib import Path
from typing import Collection, Iterable, Sequence

# One token is, in order of preference:
#   an acronym with dots ("U.S.", "e.g."), kept as one word without its dots;
#   a number with thousands or decimal separators ("4,000", "3.5");
#   a word, possibly with inner apostrophes ("ISIS's", "don’t", "O'Brien").
# Hyphens split words ("Kurdish-led" -> "kurdish", "led").
# Every alternative starts with a word character: the lookahead rejects the other positions
# once instead of three times (a fifth less time in findall, same matches). The acronym and
# number alternatives are tried only where their first characters can start them, and a word
# is matched possessively (nothing after it in the pattern to backtrack for): an eighth less
# time again, the same tokens on 10,000 Reuters articles.
TOKEN_PATTERN = re.compile(
    r"(?=\w)(?:"
    r"(?=[^\W\d_]\.)(?:[^\W\d_]\.){2,}(?![^\W_])"
    r"|(?=\d)\d+(?:[.,]\d+)*(?![^\W_])"
    r"|\w++(?:['\u2019\u02bc]\w++)*+"
    r")"
)
# TOKEN_PATTERN as a group: split() gives the text before each token and the token in turn, so
# where each token starts is a running sum of lengths (token_starts), worked out in C.
_TOKEN_SPLIT = re.compile(f"({TOKEN_PATTERN.pattern})")
_APOSTROPHES = re.compile(r"['\u2019\u02bc]")
_POSSESSIVE = re.compile(r"['\u2019\u02bc]s$")


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
def stopwords() -> frozenset[str]:
    """The bundled English stop-word list (NLTK's data cannot be downloaded here)."""
    text = (Path(__file__).parent / "stopwords" / "english.txt").read_text("utf-8")  # not
    # importlib.resources: importing it costs ~6 ms of a cold `searchkit query`
    return frozenset(w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#"))


@dataclass(eq=False)
class Analyzer:
    """Tokens, normalised words, stop words and NLTK's English Snowball stems, cached.

    A raw token is what TOKEN_PATTERN matches ("U.S.", "Reuters'", "4,000"); its word is
    normalize_token of it ("" for a stop word); its term is the word's stem ("" for a stop
    word), what the index holds. Stop words keep their position: "Bank of England" is bank@0,
    england@2, so a phrase does not match "bank, England".

    Each cache is a plain dict owned by this object, emptied when it reaches `cache_limit`
    entries (a bound on memory for an archive of any size).
    """

    stop_words: frozenset[str] = field(default_factory=stopwords)
    cache_limit: int = 500_000

    def __post_init__(self) -> None:
        self._words: dict[str, str] = {}  # raw token -> word ("" for a stop word)
        self._terms: dict[str, str] = {}  # raw token -> term ("" for a stop word)
        self._stems: dict[str, str] = {}  # word -> stem
        self._stemmer = None
        self.vocabulary = Vocabulary(self)

    def __getstate__(self) -> dict:
        """Pickled (in Whoosh's schema, or for a worker process) without its caches."""
        return {"stop_words": self.stop_words, "cache_limit": self.cache_limit}

    def __setstate__(self, state: dict) -> None:
        self.stop_words, self.cache_limit = state["stop_words"], state["cache_limit"]
        self.__post_init__()

    # -- one token ------------------------------------------------------------------------

    def stem(self, word: str) -> str:
        """NLTK's English Snowball stem of a normalised word."""
        stem = self._stems.get(word)
        if stem is None:
            if self._stemmer is None:
                self._stemmer = _load_english_stemmer()()
            if len(self._stems) >= self.cache_limit:
                self._stems.clear()
            stem = self._stems[word] = self._stemmer.stem(word)
        return stem

    def word(self, raw: str) -> str:
        """A raw token normalised, "" for a stop word (what did-you-mean keeps)."""
        word = self._words.get(raw)
        if word is None:
            if len(self._words) >= self.cache_limit:
                self._words.clear()
            word = self._words[raw] = self.uncached_word(raw)
        return word

    def uncached_word(self, raw: str) -> str:
        """word(raw), not remembered (for the vocabulary, which keeps its own)."""
        word = normalize_token(raw)
        return "" if not word or word in self.stop_words else word

    def term(self, raw: str) -> str:
        """A raw token's index term, "" for a stop word."""
        term = self._terms.get(raw)
        if term is None:
            if len(self._terms) >= self.cache_limit:
                self._terms.clear()
            word = self.word(raw)
            term = self._terms[raw] = self.stem(word) if word else ""
        return term

    # -- a text ---------------------------------------------------------------------------

    @staticmethod
    def tokens(text: str) -> list[str]:
        """The raw tokens of `text`, in order (position n is the nth)."""
        return TOKEN_PATTERN.findall(text)

    def terms(self, text: str) -> list[str]:
        """The index terms of `text` in order, stop words left out."""
        return [term for term in map(self.term, TOKEN_PATTERN.findall(text)) if term]

    def names(self, text: str) -> list[str]:
        """The normalised tokens of a name (source, author): no stop words out, no stems."""
        return [word for word in map(normalize_token, TOKEN_PATTERN.findall(text)) if word]

    def term_positions(self, text: str) -> dict[str, list[int]]:
        """Each index term of `text` with its positions (stop words leave their gap)."""
        positions: dict[str, list[int]] = {}
        for pos, term in enumerate(map(self.term, TOKEN_PATTERN.findall(text))):
            if term:
                found = positions.get(term)
                if found is None:
                    positions[term] = [pos]
                else:
                    found.append(pos)
        return positions

    def term_spans(self, text: str, start: int = 0, end: int | None = None) -> list[tuple[str, int, int, int]]:
        """(term, position, start char, end char) of each index term of text[start:end]."""
        raws, starts = token_starts(text, start, end)
        terms = list(map(self._terms.get, raws))
        if None in terms:
            terms = [self.term(raw) if term is None else term for raw, term in zip(raws, terms)]
        return [(term, pos, at, at + len(raw))
                for pos, (term, at, raw) in enumerate(zip(terms, starts, raws)) if term]

    def find_terms(self, raws: Sequence[str], terms: Collection[str]) -> list[int]:
        """The places in `raws` (raw tokens) of the tokens whose term is in `terms`.

        A token seen before is one dictionary look-up. A new one is stemmed only if its
        word could give one of `terms` (stem_prefixes): a word that starts with none of their
        prefixes, or is shorter than all of them, cannot (snippets of articles full of new
        words stay fast, and the caches do not fill with words nobody searched for)."""
        return [i for i, _ in TermFinder(self, terms).find(raws)]

    def spelling_words(self, text: str) -> list[str]:
        """The distinct unstemmed words of `text`, sorted: the did-you-mean words."""
        return sorted(self.words_of(TOKEN_PATTERN.findall(text)))

    def words_of(self, raws: Iterable[str]) -> set[str]:
        """The distinct unstemmed words of raw tokens (stop words out)."""
        words = set(map(self.word, raws))
        words.discard("")
        return words


class TermFinder:
    """Analyzer.find_terms for one set of wanted terms, their prefixes worked out once: a
    results page asks it for every sentence it looks at, in ten articles and their titles."""

    def __init__(self, analyzer: Analyzer, terms: Collection[str]) -> None:
        self.analyzer = analyzer
        self.terms = frozenset(terms) - {""}  # a stop word's "" is no term
        self.prefixes = tuple({start for term in self.terms for start in stem_prefixes(term)})  # what a wanted word starts with
        self._shortest = min(map(len, terms)) if terms else 0

    def term(self, raw: str) -> str | None:
        """find() for one raw token: its term if wanted, else None."""
        analyzer = self.analyzer
        term = analyzer._terms.get(raw)
        if term is None:
            word = analyzer.word(raw)
            if word and (len(word) < self._shortest or not word.startswith(self.prefixes)):
                return None
            term = analyzer.term(raw)  # (a stop word's "", remembered as find() does)
        return term if term in self.terms else None

    def find(self, raws: Sequence[str]) -> list[tuple[int, str]]:
        """(place, term) of each token of `raws` (raw tokens) whose term is wanted."""
        if not self.prefixes:
            return []
        analyzer = self.analyzer
        found = list(map(analyzer._terms.get, raws))  # None: a token not termed yet
        if None in found:
            prefixes, shortest = self.prefixes, self._shortest
            word_of = analyzer._words.get
            for i, term in enumerate(found):
                if term is None:
                    raw = raws[i]
                    word = word_of(raw)
                    if word is None:
                        word = analyzer.word(raw)
                    # a stop word's term is "" (no stemming): remembered, it is one look-up next time
                    if not word or len(word) >= shortest and word.startswith(prefixes):
                        found[i] = analyzer.term(raw)
        wanted = self.terms.intersection(found)
        if not wanted:
            return []
        return [(i, term) for i, term in enumerate(found) if term in wanted]


def token_starts(text: str, start: int = 0, end: int | None = None) -> tuple[list[str], list[int]]:
    """The raw tokens of text[start:end] (TOKEN_PATTERN.findall's) and where each starts in `text`."""
    parts = _TOKEN_SPLIT.split(text[start:end] if start or end is not None else text)
    return parts[1::2], list(accumulate(map(len, parts), initial=start))[1:-1:2]


# The stems of Snowball English's exceptional forms that are not the word's start plus one
# letter (from the algorithm's list: dying, lying, tying -> die, lie, tie).
_EXCEPTIONAL_STEMS = ("die", "lie", "tie")


def stem_prefixes(stem: str) -> tuple[str, ...]:
    """What every word with this Snowball stem starts with, one of these: the stem but its
    last letter (the stem itself when it is one letter). Snowball keeps a prefix of the word
    and replaces the suffix after it with at most one letter of its own (happy -> happi,
    hoping -> hope, possibly -> possibl); only three exceptional forms go further (dying ->
    die), listed here. It never makes a word longer. Checked on the bench corpus's 63k words,
    729k made by adding Snowball's suffixes to them and 548k made from every one- to
    three-letter start and a suffix. The tighter the prefix, the fewer new words a snippet
    stems (TermFinder): with its last two letters off, the bench queries stemmed twice as many."""
    start = stem[:max(1, len(stem) - 1)]
    return (start, stem[0] + "y") if stem in _EXCEPTIONAL_STEMS else (start,)


class Vocabulary:
    """Raw tokens numbered in the order first seen, each with its word and term (UTF-8; b""
    for a stop word), for the segment builder (engine.writer.WordRuns): a document's tokens
    become numbers with one dictionary look-up each, in C, and a distinct token is analysed
    once per process, not once per document. Kept from one segment to the next; emptied
    between segments once it holds `limit` tokens, so its memory stays bounded."""

    def __init__(self, analyzer: Analyzer, limit: int = 400_000) -> None:
        self.analyzer, self.limit = analyzer, limit
        self.clear()

    def clear(self) -> None:
        self.numbers: dict[str, int] = _Numbers(self._number)
        self.words: list[str] = []
        self.terms: list[bytes] = []
        self._term_bytes: dict[str, bytes] = {}  # one bytes object per distinct term

    def __len__(self) -> int:
        return len(self.words)

    def add(self, tokens: Iterable[str]) -> None:
        """Number the tokens not numbered yet (`numbers[token]` does it too, one at a time)."""
        for token in set(tokens).difference(self.numbers):
            self._number(token)

    def _number(self, token: str) -> int:
        """Analyse a token not numbered yet and give it the next number."""
        word = self.analyzer.uncached_word(token)
        term = self.analyzer.stem(word) if word else ""
        encoded = self._term_bytes.get(term)
        if encoded is None:
            encoded = self._term_bytes[term] = term.encode("utf-8")
        number = self.numbers[token] = len(self.words)
        self.words.append(word)
        self.terms.append(encoded)
        return number


class _Numbers(dict):
    """Vocabulary.numbers: token -> number, numbering a token the first time it is asked for,
    so a document's tokens become numbers in one pass (map(numbers.__getitem__, tokens))."""

    def __init__(self, number) -> None:
        super().__init__()
        self._new = number

    def __missing__(self, token: str) -> int:
        return self._new(token)


@cache
def analyzer() -> Analyzer:
    """The analyzer every part of searchkit uses (one per process, its caches with it)."""
    return Analyzer()


def analyze(text: str) -> list[str]:
    """The terms searchkit indexes for `text`, in order (handy in tests and tools)."""
    return analyzer().terms(text)


# The Whoosh analyzer chain built on the Analyzer (for Whoosh's own searcher and query parser)
# lives in engine/schema.py with the schema; indexes' TOCs name its classes by this module.
_MOVED = ("NewsTokenizer", "NewsNormalizeFilter", "SnowballFilter", "NewsPositions", "news_analyzer", "name_analyzer")


def __getattr__(name: str):
    if name in _MOVED:
        from .engine import schema

        return getattr(schema, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
