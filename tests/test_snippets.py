"""Snippet matching marks exactly the words whose index term is wanted, whichever way a
sentence is matched (every token stemmed, or only the runs that start with a stem's prefix)."""

from __future__ import annotations

import pytest

from searchkit.analysis import analyzer
from searchkit.snippets import Marks, highlight, match_spans, snippet

PLAIN = "The dying fighters saw the skies clear as happiness returned to Zurich and its caf\u00e9s"
TANGLED = "The U.S. fighters' skies: ISIS's dying o'clock 4,000 happiness 12_3 caf\u00e9s \u212aelvin"
WANTED = [{"die"}, {"fighter", "sky"}, {"happi", "us"}, {"zurich", "caf\u00e9"}, {"isi", "oclock", "4000"},
          {"kelvin", "12"}, {"the"}, {"zzz"}]


@pytest.mark.parametrize("text", [PLAIN, TANGLED, PLAIN.upper(), TANGLED.lower(), PLAIN + ". " + TANGLED])
def test_the_words_marked_are_those_whose_term_is_wanted(text):
    for stems in WANTED:
        every = [(s, e) for term, _, s, e in analyzer().term_spans(text) if term in stems]
        assert match_spans(text, stems) == every, stems
        assert [(s, e) for s, e, _ in Marks(stems).matches(text, 4, len(text) - 3)] == \
            [(s, e) for s, e in every if 4 <= s and e <= len(text) - 3], stems


def test_one_marks_makes_the_snippets_and_titles_that_fresh_calls_make():
    marks = Marks({"fighter", "sky"}, [(("happi", 0), ("return", 1))])
    for text in (PLAIN, TANGLED, PLAIN + ". " + TANGLED, ""):
        assert marks.snippet(text, 80) == snippet(text, {"fighter", "sky"}, 80, [(("happi", 0), ("return", 1))])
        assert marks.highlight(text) == highlight(text, {"fighter", "sky"}, [(("happi", 0), ("return", 1))])
    assert [t for t, m in Marks({"die"}).highlight(PLAIN) if m] == ["dying"]
