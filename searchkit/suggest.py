"""Did-you-mean: a corrected query built from real words in the index, never from stems.

The title and body fields keep their unstemmed words (Whoosh `spelling=True`, fields
`spell_title`/`spell_body`), so a correction is a word some article really contains:
"goverment" -> "government", never the stem "govern". A word is replaced when its own
stem is rare in the index and a word within two edits is clearly more common.
"""

from __future__ import annotations

import re

from whoosh.searching import Searcher

from .analysis import normalize_token, snowball_stem, stopwords

SPELL_FIELDS = ("body", "title")
_WORD = re.compile(r"[^\W\d_][\w'\u2019]*")
# A correction must be this many times more common than the word the user typed.
MIN_RATIO = 5
MAX_WORDS = 12
# A word that this many articles contain is taken as meant, not corrected: looking for words
# within two edits of it walks every segment's term list (half a second on 30k articles).
COMMON_WORD = 50


def _frequency(searcher: Searcher, stem: str) -> int:
    return max(searcher.doc_frequency(field, stem) for field in SPELL_FIELDS)


def correct_word(searcher: Searcher, word: str) -> str | None:
    """The most common real word within 1 (then 2) edits of `word`, if clearly commoner."""
    lowered = normalize_token(word)
    if len(lowered) < 3 or lowered in stopwords():
        return None
    own = _frequency(searcher, snowball_stem(lowered))
    if own >= COMMON_WORD:
        return None
    reader = searcher.reader()
    for maxdist in (1, 2) if len(lowered) > 4 else (1,):
        candidates: set[str] = set()
        for field in SPELL_FIELDS:
            candidates.update(reader.terms_within(field, lowered, maxdist, prefix=1))
        scored = []
        for candidate in candidates - {lowered}:
            if not candidate.isalpha():
                continue
            freq = _frequency(searcher, snowball_stem(candidate))
            if freq >= max(1, own) * MIN_RATIO or (own == 0 and freq > 0):
                # Prefer the commonest word; among equals, the shorter (the base form).
                scored.append((-freq, len(candidate), candidate))
        if scored:
            return min(scored)[2]
    return None


def suggest(searcher: Searcher, text: str) -> str | None:
    """`text` with misspelt words replaced by common index words, or None if nothing changed.

    Operators, field names and quotes are kept as typed; only word characters are checked.
    """
    changed = False
    pieces: list[str] = []
    last = 0
    for count, m in enumerate(_WORD.finditer(text)):
        word = m.group(0)
        after = text[m.end():m.end() + 1]
        if count >= MAX_WORDS or word in ("AND", "OR", "NOT") or after == ":":
            continue
        fixed = correct_word(searcher, word)
        if fixed:
            if word[0].isupper():
                fixed = fixed.upper() if word.isupper() and len(word) > 1 else fixed.capitalize()
            pieces.append(text[last:m.start()] + fixed)
            last = m.end()
            changed = True
    if not changed:
        return None
    pieces.append(text[last:])
    return "".join(pieces)
