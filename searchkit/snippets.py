"""Stem-aware, sentence-aware snippets: the best passage of whole sentences, matches marked.

A snippet is a list of fragments `(text, is_match)`; render_html / render_terminal turn it
into `<mark>`-ed HTML (everything else escaped) or bold terminal text. Matching uses the
index's analyzer, so "fighter" marks "fighters" and "ISIS’s". Only sentences that could
match (a cheap substring test) are analysed, so long articles stay fast, and there is
no length limit: a match 100,000 characters in is found like one at the start.
"""

from __future__ import annotations

import re
from html import escape
from typing import Iterable

from functools import cache

from .analysis import news_analyzer as _new_analyzer


@cache
def news_analyzer():
    return _new_analyzer()

Fragment = tuple[str, bool]

MAX_CHARS = 300
_BOUNDARY = re.compile(r"""([.!?\u2026]+["'\u201d\u2019)\]]*)\s+(?=["'\u201c\u2018(\[]?[A-Z0-9])|\n\s*\n""")
_NEWLINES = re.compile(r"\s*\n\s*")
_FOLD = str.maketrans("", "", ",.'\u2019")


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of `text` (paragraph breaks end one too)."""
    spans, start = [], 0
    for m in _BOUNDARY.finditer(text):
        end = m.end(1) if m.group(1) else m.start()
        if end > start:
            spans.append((start, end))
        start = m.end()
    if start < len(text) and text[start:].strip():
        spans.append((start, len(text.rstrip())))
    return spans


def _probes(stems: Iterable[str]) -> list[str]:
    # A stem's text minus its last letter is (nearly always) in the word it came from:
    # "fighter" < "fighters", "happi" -> "happ" < "happy".
    return [s[:-1] if len(s) > 3 else s for s in stems]


def match_spans(text: str, stems: set[str], start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Offsets of the words in text[start:end] whose stem is in `stems`."""
    end = len(text) if end is None else end
    analyzer = news_analyzer()
    return [(t.startchar, t.endchar)
            for t in analyzer(text[start:end], chars=True, start_char=start)
            if t.text in stems]


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


def highlight(text: str, stems: set[str]) -> list[Fragment]:
    """All of `text` with every matching word marked (for titles and article pages)."""
    if not stems or not text:
        return [(text, False)] if text else []
    return _fragments(text, 0, len(text), match_spans(text, stems))


def _trim(text: str, start: int, end: int, spans: list[tuple[int, int]], budget: int) -> tuple[int, int, bool, bool]:
    """Cut an over-long passage to `budget` characters around its first match, at word edges."""
    focus = spans[0][0] if spans else start
    cut_start = max(start, focus - budget // 3)
    if cut_start > start:
        space = text.find(" ", cut_start)
        cut_start = space + 1 if 0 <= space < focus else cut_start
    cut_end = min(end, cut_start + budget)
    if cut_end < end:
        space = text.rfind(" ", cut_start, cut_end)
        cut_end = space if space > (spans[0][1] if spans else cut_start) else cut_end
    return cut_start, cut_end, cut_start > start, cut_end < end


def snippet(text: str, stems: set[str], max_chars: int = MAX_CHARS) -> list[Fragment]:
    """The best passage of whole sentences (about max_chars long) with matches marked.

    The best passage covers the most distinct query terms, then the most matches; with no
    match the text's opening sentences stand in.
    """
    spans_of = sentences(text)
    if not spans_of:
        return []
    probes = _probes(stems)
    scored = []  # (index, matches)
    for i, (s, e) in enumerate(spans_of):
        folded = text[s:e].lower()
        if probes and any(p in folded or p in folded.translate(_FOLD) for p in probes):
            found = match_spans(text, stems, s, e)
            if found:
                scored.append((i, found))
    matches = dict(scored)
    best = None  # (key, first, last)
    for i, _ in scored:
        j, covered, count = i, set(), 0
        while j < len(spans_of):
            if j > i and spans_of[j][1] - spans_of[i][0] > max_chars:
                break
            for s, e in matches.get(j, ()):
                covered.add(news_analyzer_stem(text[s:e]))
                count += 1
            j += 1
        key = (len(covered), count, -i)
        if best is None or key > best[0]:
            best = (key, i, j - 1)
    if best is None:
        first = last = 0
    else:
        _, first, last = best
        while last > first and last not in matches:  # the passage ends on its last match
            last -= 1
        # Context: the sentence before, if it fits.
        if first > 0 and spans_of[last][1] - spans_of[first - 1][0] <= max_chars:
            first -= 1
    while last + 1 < len(spans_of) and spans_of[last + 1][1] - spans_of[first][0] <= max_chars:
        last += 1  # then fill the room left with the sentences that follow
    start, end = spans_of[first][0], spans_of[last][1]
    found = [span for k in range(first, last + 1) for span in matches.get(k, ())]
    before = after = False
    if end - start > max_chars * 1.5:
        start, end, before, after = _trim(text, start, end, found, max_chars)
    out = _fragments(text, start, end, found)
    out = [(t if m else _NEWLINES.sub(" ", t), m) for t, m in out]  # paragraph breaks -> spaces
    if before:
        out.insert(0, ("\u2026", False))
    if after:
        out.append(("\u2026", False))
    return [(t, m) for t, m in out if t]


def news_analyzer_stem(word: str) -> str:
    """The index term for one word (its stem)."""
    terms = [t.text for t in news_analyzer()(word)]
    return terms[0] if terms else word.lower()


def render_html(fragments: list[Fragment]) -> str:
    """HTML with matches in <mark> and everything else escaped."""
    return "".join(f"<mark>{escape(t)}</mark>" if m else escape(t) for t, m in fragments)


def render_terminal(fragments: list[Fragment], bold: bool) -> str:
    """Terminal text: matches in bold (ANSI) when `bold`, plain otherwise."""
    if not bold:
        return "".join(t for t, _ in fragments)
    return "".join(f"\x1b[1m{t}\x1b[0m" if m else t for t, m in fragments)
