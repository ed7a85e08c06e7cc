"""Stem-aware, sentence-aware snippets: the best passage of whole sentences, matches marked.

A snippet is a list of fragments `(text, is_match)`; render_html / render_terminal turn it
into `<mark>`-ed HTML (everything else escaped) or bold terminal text. Matching uses the
index's analyzer, so "fighter" marks "fighters" and "ISIS’s". Only sentences that could
match (a cheap substring test) are analysed, so long articles stay fast, and there is
no length limit: a match 100,000 characters in is found like one at the start.
"""

from __future__ import annotations

import re
import sys
from array import array
from bisect import bisect_left, bisect_right
from html import escape
from itertools import accumulate
from operator import sub
from typing import Iterable, Sequence

from .analysis import TermFinder, analyzer, token_starts

Fragment = tuple[str, bool]

MAX_CHARS = 300
MAX_PASSAGES = 3
Phrase = tuple[tuple[str, int], ...]  # (stem, position relative to the phrase's first word)
# A sentence ends after a run of . ! ? … (and closing quotes or brackets), before white space
# and a capital or digit (group 1 is the run), or at a blank line. Written to start with one
# character class, which the regex engine scans for in C (three times faster than the
# alternation "([.!?…]+…)\s+(?=…)|\n\s*\n" it matches exactly like).
_BOUNDARY = re.compile(r"""[.!?\u2026\n](?:(?<=\n)\s*\n|(?<!\n)([.!?\u2026]*["'\u201d\u2019)\]]*)\s+(?=["'\u201c\u2018(\[]?[A-Z0-9]))""")
_NEWLINES = re.compile(r"\s*\n\s*")
# What makes a token more than a run of word characters, or its lower case not its word: a
# folded character or apostrophe between two word characters ("U.S.", "4,000", "don't"), an
# underscore (a number's end inside a run: "12_3"), capital sigma (its lower case depends on
# what follows) and dotted I (two characters in lower case).
_TANGLED = re.compile(r"[_\u03a3\u0130]|[',.\u2019\u02bc](?<=\w.)(?=\w)")
_WORD_RUN = re.compile(r"\w+")
_FOLD_CHARS = ",.'\u2019"
_FOLD = str.maketrans("", "", _FOLD_CHARS)


def _fold(text: str) -> str:
    """text.translate(_FOLD), several times faster: str.replace has a C fast path."""
    for char in _FOLD_CHARS:
        if char in text:
            text = text.replace(char, "")
    return text
_FOLD_PATTERN = re.compile(f"[{re.escape(_FOLD_CHARS)}]")
_FOLD_ASCII = bytes(char for char in _FOLD_CHARS.encode("utf-8") if char < 128)  # what ASCII text can hold of them
_FOLD_BYTES_PATTERN = re.compile(b"[" + re.escape(_FOLD_ASCII) + b"]")
_LOWER_ASCII = bytes(range(256)).lower()  # bytes.lower() as a translation table


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of `text` (paragraph breaks end one too)."""
    found = _Sentences(text)
    found.cover(len(text))
    return found.spans


# The name an article's sentences are stored under with its stored fields (store.article_to_doc):
# made at import, a result's snippet needs no splitting (a fifth of its cost). The number is
# that of the packing and of _BOUNDARY's rules: raise it when they change, and older segments'
# sentences go unused (split at search time).
STORED_SENTENCES = "_sentences2"


def sentence_bounds(text: str) -> bytes | None:
    """sentences(text) packed to be stored (unpacked by _stored_offsets), as 16-bit numbers:
    for each sentence its start less the previous one's end and its length, then for each its
    start less the previous one's in the folded text (the text without the characters of
    _FOLD: _candidates searches it). None when the text has no sentence or a number does not
    fit in 16 bits (then nothing is stored)."""
    spans = sentences(text)
    if not spans:
        return None
    starts = [start for start, _ in spans]
    ends = [end for _, end in spans]
    folds = [m.start() for m in _FOLD_PATTERN.finditer(text)]
    folded = [start - bisect_left(folds, start) for start in starts]  # less the characters of _FOLD before it
    steps = array("H")
    try:
        for gap, length in zip(map(sub, starts, [0, *ends]), map(sub, ends, starts)):
            steps.append(gap)
            steps.append(length)
        steps.extend(map(sub, folded, [0, *folded]))
    except OverflowError:
        return None
    if sys.byteorder == "big":
        steps.byteswap()
    return steps.tobytes()


def stored_sentences(packed: bytes | None, text: str) -> tuple[list[tuple[int, int]], list[int]] | None:
    """The spans sentence_bounds packed and where each starts in the folded text (the text
    without the characters of _FOLD), or None when there are none that fit `text`."""
    known = _stored_offsets(packed, text)
    return None if known is None else (known.spans, known.folded_starts)


def _stored_offsets(packed: bytes | None, text: str) -> "_Known | None":
    """The sentences sentence_bounds packed, or None (nothing stored, or not of `text`)."""
    if not isinstance(packed, bytes) or not packed or len(packed) % 6:
        return None
    steps = array("H", packed)
    if sys.byteorder == "big":
        steps.byteswap()
    count = len(steps) // 3
    offsets = list(accumulate(steps[:2 * count]))
    if offsets[-1] > len(text):
        return None
    pairs = iter(offsets)  # zip(pairs, pairs): (start, end) from one pass over the list, no slices
    return _Known(list(zip(pairs, pairs)), list(accumulate(steps[2 * count:])))


class _Known:
    """_Sentences' face for sentences already known (_stored_offsets): nothing left to split.
    `folded_starts`: where each starts in the folded text (_folded_candidates)."""

    def __init__(self, spans: list[tuple[int, int]], folded_starts: list[int]) -> None:
        self.spans = spans
        self.folded_starts = folded_starts

    def has(self, i: int) -> bool:
        return i < len(self.spans)

    def cover(self, offset: int) -> None:
        pass


class _Sentences:
    """sentences(text), split only as far as asked (`spans` grows): a snippet needs the
    sentences up to its last match and a few after, not those of the whole article."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.spans: list[tuple[int, int]] = []
        self._boundaries = _BOUNDARY.finditer(text)
        self._start = 0  # where the next sentence starts
        self._done = False

    def _split(self, count: int, offset: int) -> None:
        """Split until there are more than `count` sentences and the last ends after
        `offset`, or the text ends (one loop: a call per sentence costs a third more)."""
        spans, text = self.spans, self.text
        append = spans.append
        start = self._start
        for m in self._boundaries:
            end = m.end(1)  # -1 at a blank line (no group 1): the sentence ends where it starts
            if end < 0:
                end = m.start()
            if end > start:
                append((start, end))
                start = m.end()
                if end > offset and len(spans) > count:
                    self._start = start
                    return
            else:
                start = m.end()
        self._start = start
        if not self._done:
            self._done = True
            if start < len(text) and text[start:].strip():
                spans.append((start, len(text.rstrip())))

    def has(self, i: int) -> bool:
        """Whether sentence i exists."""
        if len(self.spans) <= i:
            self._split(i, -1)
        return len(self.spans) > i

    def cover(self, offset: int) -> None:
        """Split at least up to the sentence with `offset` in it (or up to the end)."""
        if not self.spans or self.spans[-1][1] <= offset:
            self._split(0, offset)


def _probes(stems: Iterable[str]) -> list[str]:
    # A stem's text minus its last letter is (nearly always) in the word it came from:
    # "fighter" < "fighters", "happi" -> "happ" < "happy".
    return [s[:-1] if len(s) > 3 else s for s in stems]


def _candidates(text: str, spans_of: "list[tuple[int, int]] | _Sentences | _Known", probes: list[str]) -> list[int]:
    """The sentences that contain a probe, case-folded, as they are or without the
    characters of _FOLD ("U.S." has "us"): only those are analysed. The whole text is
    searched once per probe rather than each sentence in turn (news bodies have dozens)."""
    if not probes:
        return []
    if isinstance(spans_of, _Known):
        found = _folded_candidates(text, spans_of.folded_starts, probes)
        if found is not None:
            return found
    wheres = _probe_offsets(text, probes)
    if wheres is None:  # a character whose lower case is longer: go sentence by sentence
        if not isinstance(spans_of, list):
            spans_of.cover(len(text))
            spans_of = spans_of.spans
        return [i for i, (s, e) in enumerate(spans_of)
                if any(p in text[s:e].lower() or p in text[s:e].lower().translate(_FOLD) for p in probes)]
    if not wheres:
        return []
    if not isinstance(spans_of, list):
        spans_of.cover(max(wheres))
        spans_of = spans_of.spans
    starts = [s for s, _ in spans_of]
    found: set[int] = set()
    for where in wheres:
        i = bisect_right(starts, where) - 1
        if i >= 0 and where < spans_of[i][1]:
            found.add(i)
    return sorted(found)


def _folded_candidates(text: str, folded_starts: list[int], probes: list[str]) -> list[int] | None:
    """_candidates for sentences whose starts in the folded text are known: each probe is
    looked for in the folded text alone (every occurrence in the lower-cased text is one there
    too, at the same character), once. A character of a probe is never white space and every
    other character is in a sentence, so an occurrence is in the last sentence starting at or
    before it. None when the folded text cannot be made as bytes (_folded)."""
    made = _folded(text, probes)
    if made is None:
        return None
    folded, probes = made
    found: set[int] = set()
    for probe in probes:
        step = len(probe) or 1
        at = folded.find(probe)
        while at >= 0:
            found.add(bisect_right(folded_starts, at) - 1)
            at = folded.find(probe, at + step)
    found.discard(-1)  # (white space before the first sentence: only an empty probe is found there)
    return sorted(found)


def _folded(text: str, probes: list[str]) -> tuple[bytes, list[bytes]] | None:
    """The lower-cased, folded text as bytes and the probes as bytes, as _probe_offsets makes
    them, or None where it makes them as str."""
    if text.isascii():
        raw = text.encode("ascii")
    elif all(probe.isascii() for probe in probes) and "\u212a" not in text and "\u0130" not in text:
        raw = text.replace("\u2019", "'").encode("ascii", "replace")
    else:
        return None
    # bytes.lower() and the folding in one pass: the characters of _FOLD are no capitals
    return raw.translate(_LOWER_ASCII, _FOLD_ASCII), [probe.encode("utf-8") for probe in probes]


def _probe_offsets(text: str, probes: list[str]) -> list[int] | None:
    """Where in `text` a probe starts, case-folded, as it is or without the characters of
    _FOLD; None when lower-casing changes the text's length (offsets would not map back).
    ASCII text (most articles) is searched as bytes: lower-cased and folded in C at once. So
    is other text when every probe is ASCII: a non-ASCII character then matters only as the
    folded apostrophe "\u2019" (turned into "'"), the others stand as "?" (one byte each, so
    offsets stay), unless one lower-cases to ASCII or to two characters (\u212a, \u0130)."""
    if text.isascii():
        lowered = text.encode("ascii").lower()
    elif all(probe.isascii() for probe in probes) and "\u212a" not in text and "\u0130" not in text:
        lowered = text.replace("\u2019", "'").encode("ascii", "replace").lower()
    else:
        lowered = None
    if lowered is not None:
        folded = lowered.translate(None, _FOLD_ASCII)
        fold_pattern = _FOLD_BYTES_PATTERN
        probes = [probe.encode("utf-8") for probe in probes]  # a non-ASCII probe is found nowhere
    else:
        lowered = text.lower()
        if len(lowered) != len(text):
            return None
        folded = _fold(lowered)
        fold_pattern = _FOLD_PATTERN
    shifts = None  # for each removed character, how many kept ones come before it
    wheres: list[int] = []  # offsets in `text` where a probe starts
    folds = len(folded) != len(lowered)
    for probe in probes:
        # Occurrences are found without overlap: one that overlaps another lies in the same run
        # of characters other than white space (a probe has none), so in the same sentence.
        step = len(probe) or 1
        seen = len(wheres)
        at = lowered.find(probe)
        while at >= 0:
            wheres.append(at)
            at = lowered.find(probe, at + step)
        # Each occurrence in `lowered` is one in `folded` too, at the same character (a probe
        # with a removed character is in `folded` nowhere), and occurrences apart stay apart
        # (what is removed lies between them), so `folded` has at least as many in each run:
        # when it has no more in all, it has none elsewhere and nothing needs mapping back.
        if not folds or folded.count(probe) == len(wheres) - seen:
            continue
        if shifts is None:
            shifts = [m.start() - n for n, m in enumerate(fold_pattern.finditer(lowered))]
        at = folded.find(probe)
        while at >= 0:
            wheres.append(at + bisect_right(shifts, at))  # back to offsets in `text`
            at = folded.find(probe, at + step)
    return wheres


class Marks:
    """What one query marks in a text, its stems and phrases, with what finding them needs
    worked out once (the probes, the stems' prefixes): a results page makes ten snippets and
    ten highlighted titles with one."""

    def __init__(self, stems: set[str], phrases: Sequence[Phrase] = ()) -> None:
        self.stems = stems
        self.phrases = phrases
        self.probes = _probes(stems | {stem for phrase in phrases for stem, _ in phrase})
        self._finder: TermFinder | None = None

    def matches(self, text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int, str]]:
        """match_spans with the index terms in each span (space-separated): what it matched."""
        if self._finder is None:  # the words and every phrase's words
            self._finder = TermFinder(analyzer(), self.stems | {stem for phrase in self.phrases for stem, _ in phrase})
        if self.phrases:
            return _phrase_matches(text, self.stems, start, end, self.phrases, self._finder)
        return _word_matches(text, self._finder, start, end)

    def highlight(self, text: str) -> list[Fragment]:
        """All of `text` with every matching word (and phrase) marked (for titles and article pages)."""
        if not (self.stems or self.phrases) or not text:
            return [(text, False)] if text else []
        return _fragments(text, 0, len(text), [(s, e) for s, e, _ in self.matches(text)])

    def snippet(self, text: str, max_chars: int = MAX_CHARS, bounds: bytes | None = None) -> list[Fragment]:
        """snippet(text, stems, max_chars, phrases) of this query's stems and phrases;
        `bounds` is text's sentence_bounds when they were stored (else text is split here)."""
        known = _stored_offsets(bounds, text) if bounds else None
        split = _Sentences(text) if known is None else known
        if not split.has(0):
            return []
        spans_of = split.spans  # grows as split is asked for more
        found_in: dict[int, list[tuple[int, int, str]]] = {}
        terms_in: dict[int, list[str]] = {}
        matches = self.matches
        for i in _candidates(text, split, self.probes):
            s, e = spans_of[i]
            found = matches(text, s, e)
            if found:
                found_in[i] = found
                terms_in[i] = [term for _, _, term in found]
        picked = _pick(spans_of, terms_in, max_chars) if terms_in else [0]
        first, last = picked[0], picked[-1]
        groups: list[Sequence[int]] = []
        if last - first == len(picked) - 1:  # one passage: context around it, as room allows
            used = sum(spans_of[i][1] - spans_of[i][0] for i in picked)
            if terms_in and first and used + spans_of[first - 1][1] - spans_of[first - 1][0] <= max_chars:
                first -= 1  # the sentence before
                used += spans_of[first][1] - spans_of[first][0]
            while split.has(last + 1) and used + spans_of[last + 1][1] - spans_of[last + 1][0] <= max_chars:
                last += 1  # then the sentences that follow
                used += spans_of[last][1] - spans_of[last][0]
            groups.append(range(first, last + 1))
        else:  # passages apart: each run of neighbouring sentences is one
            for i in picked:
                if groups and groups[-1][-1] == i - 1:
                    groups[-1].append(i)
                else:
                    groups.append([i])
        out: list[Fragment] = []
        for n, group in enumerate(groups):
            start, end = spans_of[group[0]][0], spans_of[group[-1]][1]
            spans = [(a, b) for k in group for a, b, _ in found_in.get(k, ())]
            before = after = False
            if end - start > max_chars * 1.5:  # one sentence far longer than a snippet
                start, end, before, after = _trim(text, start, end, spans, max_chars)
            if n:
                out.append((" \u2026 ", False))
            if before:
                out.append(("\u2026", False))
            part = _fragments(text, start, end, spans)
            if text.find("\n", start, end) < 0:
                out += part
            else:  # paragraph breaks -> spaces (the pattern needs a "\n": text without one is skipped)
                out.extend((_NEWLINES.sub(" ", t) if not m and "\n" in t else t, m) for t, m in part)
            if after:
                out.append(("\u2026", False))
        return [(t, m) for t, m in out if t]


def match_spans(text: str, stems: set[str], start: int = 0, end: int | None = None,
                phrases: Sequence[Phrase] = ()) -> list[tuple[int, int]]:
    """Offsets of the words in text[start:end] whose stem is in `stems`, in order.

    A phrase found in the text is one span from its first word to its last ("Bank of
    England" is marked as a unit, stop words included); its words are not marked again.
    """
    return [(s, e) for s, e, _ in Marks(stems, phrases).matches(text, start, end)]


def _phrase_matches(text: str, stems: set[str], start: int, end: int | None,
                    phrases: Sequence[Phrase], finder: TermFinder) -> list[tuple[int, int, str]]:
    """Marks.matches with phrases: the tokens whose term `finder` wants (the stems and the
    phrases' words), by place, phrases found first. Only those are stemmed (TermFinder): a
    token of another term cannot be part of a match, and stemming every new word of each
    sentence looked at was most of a phrase query's snippets (a word is stemmed once per
    process, but a results page meets hundreds of words the process has not seen)."""
    raws, starts = token_starts(text, start, end)
    wanted = dict(finder.find(raws))  # place -> term, in text order
    found: list[tuple[int, int]] = []
    covered: set[int] = set()
    for at, stem in wanted.items():
        for phrase in phrases:
            if stem != phrase[0][0]:
                continue
            if all(wanted.get(at + offset) == want for want, offset in phrase):
                last = at + phrase[-1][1]
                found.append((starts[at], starts[last] + len(raws[last])))
                covered.update(at + offset for _, offset in phrase)
                break
    for at, stem in wanted.items():
        if stem in stems and at not in covered:
            found.append((starts[at], starts[at] + len(raws[at])))
    found.sort()
    merged: list[tuple[int, int]] = []
    for s, e in found:  # overlapping phrase matches become one
        if merged and s < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    out = []
    term = finder.analyzer.term  # (a word in a phrase's stop-word gap is stemmed here: rare)
    at = 0
    for s, e in merged:  # the terms of the tokens in each span, stop words left out
        at = bisect_left(starts, s, at)
        inside = []
        while at < len(raws) and starts[at] + len(raws[at]) <= e:
            found_term = wanted.get(at) or term(raws[at])
            if found_term:
                inside.append(found_term)
            at += 1
        out.append((s, e, " ".join(inside) or text[s:e].lower()))
    return out


def _word_matches(text: str, finder: TermFinder, start: int, end: int | None) -> list[tuple[int, int, str]]:
    """Marks.matches without phrases: each token of text[start:end] whose term is wanted."""
    stop = len(text) if end is None else end
    if not finder.prefixes:
        return []
    if not _TANGLED.search(text, start, stop):
        return _untangled_matches(text, finder, start, stop)
    # The tokens and where they start are listed in C (token_starts) and looked up by their
    # text (TermFinder).
    raws, starts = token_starts(text, start, stop)
    return [(starts[i], starts[i] + len(raws[i]), term) for i, term in finder.find(raws)]


def _untangled_matches(text: str, finder: TermFinder, start: int, stop: int) -> list[tuple[int, int, str]]:
    """_word_matches of a text with no tangle (_TANGLED): there every token is a run of word
    characters and its word is its lower case, and a wanted word starts with one of the
    finder's prefixes (analysis.stem_prefixes). So only the runs that start where a prefix is
    found are looked at, not every token (a few places instead of a sentence's dozen words)."""
    lowered = text[start:stop].lower()
    starts = []
    for prefix in finder.prefixes:
        at = lowered.find(prefix)
        while at >= 0:
            if not at or not lowered[at - 1].isalnum():  # a run of word characters starts here
                starts.append(at)
            at = lowered.find(prefix, at + 1)
    if len(finder.prefixes) > 1:  # (one prefix finds each place once, in order)
        starts = sorted(set(starts))
    out = []
    run_at, term_of = _WORD_RUN.match, finder.term
    for at in starts:
        run = run_at(text, start + at, stop)
        term = term_of(run.group()) if run else None  # (no run: a prefix of no word character)
        if term is not None:
            out.append((run.start(), run.end(), term))
    return out


def _fragments(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> list[Fragment]:
    out: list[Fragment] = []
    cursor = start
    for s, e in spans:
        if s < start or e > end:
            continue
        if s > cursor:
            out.append((text[cursor:s], False))
        out.append((text[s:e], True))
        cursor = e
    if cursor < end:
        out.append((text[cursor:end], False))
    return out


def highlight(text: str, stems: set[str], phrases: Sequence[Phrase] = ()) -> list[Fragment]:
    """All of `text` with every matching word (and phrase) marked (for titles and article pages)."""
    return Marks(stems, phrases).highlight(text)


def _trim(text: str, start: int, end: int, spans: list[tuple[int, int]], budget: int) -> tuple[int, int, bool, bool]:
    """Cut an over-long passage to `budget` characters around its first match, at word edges."""
    inside = [sp for sp in spans if start <= sp[0] < end]
    focus = inside[0][0] if inside else start
    cut_start = max(start, focus - budget // 3)
    if cut_start > start:
        space = text.find(" ", cut_start)
        cut_start = space + 1 if 0 <= space < focus else cut_start
    cut_end = min(end, cut_start + budget)
    if cut_end < end:
        space = text.rfind(" ", cut_start, cut_end)
        cut_end = space if space > (inside[0][1] if inside else cut_start) else cut_end
    return cut_start, cut_end, cut_start > start, cut_end < end


def _pick(spans_of: list[tuple[int, int]], matched: dict[int, list[str]], max_chars: int) -> list[int]:
    """Up to MAX_PASSAGES sentences, densest in query terms, preferring terms not yet shown."""
    if len(matched) == 1:  # one sentence matches: it is the pick
        return list(matched)
    picked: list[int] = []
    shown: set[str] = set()
    used = 0
    # each sentence's distinct terms and its density of matches (ties go to the earlier one)
    left = [(set(terms), len(terms) / max(1, spans_of[i][1] - spans_of[i][0]), -i) for i, terms in matched.items()]
    while left and len(picked) < MAX_PASSAGES:
        # the best by (terms not shown yet, density, -i): keys made in one comprehension, not
        # a key function called per sentence (no two have the same i, so k is never compared)
        k = max([(len(terms - shown), density, negative, k) for k, (terms, density, negative) in enumerate(left)])[3]
        terms, _, negative = left.pop(k)
        best = -negative
        length = spans_of[best][1] - spans_of[best][0]
        if picked and (used + length > max_chars or not terms - shown and used > max_chars // 2):
            continue
        picked.append(best)
        shown.update(terms)
        used += length
    return sorted(picked)


def snippet(text: str, stems: set[str], max_chars: int = MAX_CHARS,
            phrases: Sequence[Phrase] = ()) -> list[Fragment]:
    """Up to three best passages of whole sentences (about max_chars in all), matches marked.

    Sentences are chosen by how many query terms they show that earlier picks did not,
    then by match density; they are shown in text order, " … " between passages that are
    not next to each other, with room left filled by neighbouring sentences. With no
    match the text's opening sentences stand in.
    """
    return Marks(stems, phrases).snippet(text, max_chars)


def render_html(fragments: list[Fragment]) -> str:
    """HTML with matches in <mark> and everything else escaped."""
    return "".join(f"<mark>{escape(t)}</mark>" if m else escape(t) for t, m in fragments)


def render_terminal(fragments: list[Fragment], bold: bool) -> str:
    """Terminal text: matches in bold (ANSI) when `bold`, plain otherwise."""
    if not bold:
        return "".join(t for t, _ in fragments)
    return "".join(f"\x1b[1m{t}\x1b[0m" if m else t for t, m in fragments)
