"""Did-you-mean: a corrected query built from real words in the index, never from stems.

The title and body fields keep their unstemmed words (Whoosh `spelling=True`, fields
`spell_title`/`spell_body`), so a correction is a word some article really contains:
"goverment" -> "government", never the stem "govern". Only a word the index does not
contain as written is replaced (Lucene's SUGGEST_WHEN_NOT_IN_INDEX: a rare real word such as
"quota" is what the reader meant), by a word within two edits; and a suggestion is made only
when every word of it is a word of the index, so "xylophone quokka" gets none.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from .analysis import analyzer, normalize_token
from .engine.container import Searcher

SPELL_FIELDS = ("body", "title")
_WORD = re.compile(r"[^\W\d_][\w'\u2019]*")
# A correction must be this many times more common than the word the user typed.
MIN_RATIO = 5
MAX_WORDS = 12
# A word that this many articles contain is taken as meant, not corrected: looking for words
# within two edits of it walks every segment's term list (half a second on 30k articles).
COMMON_WORD = 50
Within = Callable[[str, str, int], Iterable[str]]  # (field, word, maxdist) -> words within maxdist edits


def _frequency(searcher: Searcher, stem: str) -> int:
    return max(searcher.doc_frequency(field, stem) for field in SPELL_FIELDS)


def is_index_word(searcher: Searcher, word: str) -> bool:
    """Whether some article has `word` as written (any case), or it is a stop word."""
    lowered = normalize_token(word)
    if lowered in analyzer().stop_words:
        return True
    # A direct look-up in the spelling fields (terms_within(word, 0) scans every term); a
    # sharded index's searcher answers doc_frequency for all its shards.
    schema = getattr(searcher, "schema", None)
    return any(searcher.doc_frequency(schema[field].spelling_fieldname(field) if schema else f"spell_{field}",
                                      lowered) > 0 for field in SPELL_FIELDS)


def correct_word(searcher: Searcher, word: str, max_edits: int = 2, within: Within | None = None) -> str | None:
    """The most common real word within 1 (then 2) edits of `word`, if clearly commoner;
    None for a word the index has as written. `within(field, word, maxdist)` gives the
    field's words within maxdist edits sharing the first letter (by default the searcher's
    reader's terms_within)."""
    lowered = normalize_token(word)
    if len(lowered) < 3 or lowered in analyzer().stop_words or is_index_word(searcher, lowered):
        return None
    own = _frequency(searcher, analyzer().stem(lowered))
    if own >= COMMON_WORD:
        return None
    reader = searcher.reader()
    for maxdist in ((1, 2) if len(lowered) > 4 else (1,))[:max_edits]:
        candidates: set[str] = set()
        for field in SPELL_FIELDS:
            candidates.update(within(field, lowered, maxdist) if within is not None
                              else reader.terms_within(field, lowered, maxdist, prefix=1))
        scored = []
        for candidate in candidates - {lowered}:
            if not candidate.isalpha():
                continue
            freq = _frequency(searcher, analyzer().stem(candidate))
            if freq >= max(1, own) * MIN_RATIO or (own == 0 and freq > 0):
                # Prefer the commonest word; among equals, the shorter (the base form).
                scored.append((-freq, len(candidate), candidate))
        if scored:
            return min(scored)[2]
    return None


def suggest(searcher: Searcher, text: str, max_edits: int = 2, within: Within | None = None) -> str | None:
    """`text` with misspelt words replaced by common index words (each within `max_edits`
    edits), or None if nothing changed or a word is neither an index word nor correctable.

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
        fixed = correct_word(searcher, word, max_edits, within)
        if not fixed and not is_index_word(searcher, word):
            return None  # a word that is not in the index and has no correction: no suggestion
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
