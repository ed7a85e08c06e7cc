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


def _phrase_matches_from_every_term(text: str, stems: set[str], phrases) -> list[tuple[int, int, str]]:
    """Marks.matches with phrases, worked out from every token's term: a phrase is its
    words at their offsets from a token of its first word (first phrase that fits wins),
    other wanted words are marked alone, overlapping spans merge, and each span lists the
    terms of the tokens in it (stop words out)."""
    tokens = [(term, pos, s, e) for term, pos, s, e in analyzer().term_spans(text)]
    term_at = {pos: term for term, pos, _, _ in tokens}
    end_at = {pos: e for _, pos, _, e in tokens}
    found, covered = [], set()
    for term, pos, s, _ in tokens:
        for phrase in phrases:
            if all(term_at.get(pos + offset) == want for want, offset in phrase):
                found.append((s, end_at[pos + phrase[-1][1]]))
                covered.update(pos + offset for _, offset in phrase)
                break
    found += [(s, e) for term, pos, s, e in tokens if term in stems and pos not in covered]
    merged: list[list[int]] = []
    for s, e in sorted(found):
        if merged and s < merged[-1][1]:
            merged[-1][1] = max(e, merged[-1][1])
        else:
            merged.append([s, e])
    return [(s, e, " ".join(t for t, _, ts, te in tokens if s <= ts and te <= e) or text[s:e].lower())
            for s, e in merged]


def test_phrase_matches_are_those_found_from_every_words_term():
    """Marks stems only the words that could be wanted; what it marks is what termming every
    word gives, with stop-word gaps (filled by any word), overlapping and repeated phrases
    and tangled tokens. (Which words could be wanted: test_analysis, stem_prefixes.)"""
    import random

    from searchkit.query import phrase_terms

    words = ["Bank", "bank", "banks", "banking", "of", "the", "England", "england's", "U.S.", "4,000", "rates",
             "rate", "rising", "a", "and", "Dying", "die", "tie", "tying", "x", "England-based", "O'Brien",
             "ISIS\u2019s", "caf\u00e9", "12_3", "bank.", "(bank)", "\n", "e.g.", "sales", "sale", "salt"]
    typed = ["bank of england", "rising rates", "the bank", "bank bank", "die tie", "of the bank of", "sale sales",
             "u.s. rates", "england rates bank"]
    rng = random.Random(7)
    for _ in range(1500):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 25)))
        phrases = [p for p in map(phrase_terms, rng.sample(typed, rng.randint(1, 3))) if len(p) > 1]
        stems = set(rng.sample(["bank", "rate", "england", "die", "sale", "x"], rng.randint(0, 2)))
        assert Marks(stems, phrases).matches(text) == _phrase_matches_from_every_term(text, stems, phrases), \
            (text, phrases, stems)


def test_one_marks_makes_the_snippets_and_titles_that_fresh_calls_make():
    marks = Marks({"fighter", "sky"}, [(("happi", 0), ("return", 1))])
    for text in (PLAIN, TANGLED, PLAIN + ". " + TANGLED, ""):
        assert marks.snippet(text, 80) == snippet(text, {"fighter", "sky"}, 80, [(("happi", 0), ("return", 1))])
        assert marks.highlight(text) == highlight(text, {"fighter", "sky"}, [(("happi", 0), ("return", 1))])
    assert [t for t, m in Marks({"die"}).highlight(PLAIN) if m] == ["dying"]


def _demo_articles(count: int):
    """The first `count` articles of the demo corpus (Global Voices: many languages, long
    and short sentences, paragraph breaks, quotes)."""
    import gzip
    import json
    from pathlib import Path

    from searchkit.article import Article, clean

    path = Path(__file__).resolve().parents[1] / "seeds" / "news-demo.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        records = [json.loads(line) for _, line in zip(range(count), lines)]
    return [clean(Article(id=r["id"], title=r.get("title") or "", body=r.get("body") or "")) for r in records]


def test_stored_sentences_are_the_sentences_split_at_search_time():
    import random

    from searchkit.snippets import _FOLD, sentence_bounds, sentences, stored_sentences

    pieces = list(".!?\u2026\n \t\"'\u201d\u2019)]([\u201c\u2018Aa0b\u00e9,") + ["\n\n", ". ", "U.S.", " \n "]
    rng = random.Random(11)
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 40))) for _ in range(5000)]
    texts += [article.body for article in _demo_articles(300)]
    for text in texts:
        spans = sentences(text)
        folded_starts = [len(text[:start].translate(_FOLD)) for start, _ in spans]
        assert stored_sentences(sentence_bounds(text), text) == ((spans, folded_starts) if spans else None), text
    # A sentence longer than 16 bits can count is not stored: the snippet splits the text itself.
    long = "Short one. Then " + "word " * 14000 + "end. Last one."
    assert sentences(long)[1][1] - sentences(long)[1][0] > 65535 and sentence_bounds(long) is None
    # Spans that do not fit the text (not made from it) are not used.
    assert stored_sentences(sentence_bounds("A sentence. " * 30), "A sentence.") is None


@pytest.mark.parametrize("procs", [1, 2])
def test_a_snippet_from_stored_sentences_is_the_one_made_by_splitting(tmp_path, procs):
    """Every demo article imported carries its sentences, whether this process or the build
    workers (ParallelBuilder(prepare=)) worked them out, and with them every snippet (words,
    phrases, none found) is the one made by splitting the text at search time."""
    import searchkit
    from searchkit.display import shown
    from searchkit.snippets import STORED_SENTENCES

    ix = searchkit.open_index(tmp_path / "index", create=True)
    ix.write(_demo_articles(300), procs=procs, batch=100)
    queries = [Marks({"govern"}), Marks({"protest", "polic"}), Marks({"said", "zzz"}),
               Marks({"right"}, [(("human", 0), ("right", 1))]), Marks({"blog", "internet", "censorship"}),
               Marks({"the"})]
    stored = 0
    documents = [(reader, docnum) for reader, _ in ix.snapshot().segments for docnum in range(reader.doc_count)]
    assert len(documents) == 300
    for reader, docnum in documents:  # read as a search's results are (Whoosh hides them)
        fields = reader.stored(docnum)
        body = shown(fields.get("body") or "")
        bounds = fields.get(STORED_SENTENCES)
        stored += bounds is not None
        assert (bounds is not None) == bool(body.strip()), fields["id"]
        for marks in queries:
            for chars in (300, 120):
                assert marks.snippet(body, chars, bounds) == marks.snippet(body, chars), (fields["id"], marks.stems)
    assert stored > 250


def test_candidate_sentences_are_those_with_a_probe_as_they_read_or_folded():
    """_candidates searches the whole text once per probe (occurrences without overlap, the
    folded text only counted unless it has more; or only the folded text, where stored
    sentences say where each starts in it): the sentences it finds are those in which a probe
    appears, lower-cased, as written or without "," "." "'" "\u2019"."""
    import random

    from searchkit.snippets import _FOLD, _candidates, _stored_offsets, sentence_bounds, sentences

    pieces = ["ab", "a", "b", "ba", "aba", ",", ".", "'", "\u2019", " ", ". ", "A", "B", "\n\n", "U.S.", "\u00e9",
              "'A", ". '", "\u212a", "\u0130"]
    rng = random.Random(5)
    for _ in range(20000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 30)))
        probes = rng.sample(["ab", "aba", "ba", "us", "b", "bab", "\u00e9a"], rng.randint(1, 3))
        spans = sentences(text)
        expected = [i for i, (s, e) in enumerate(spans)
                    if any(p in text[s:e].lower() or p in text[s:e].lower().translate(_FOLD) for p in probes)]
        assert _candidates(text, spans, probes) == expected, (text, probes)
        stored = _stored_offsets(sentence_bounds(text), text)  # the sentences' folded starts known
        assert (stored is None) == (not spans)
        if stored is not None:
            assert _candidates(text, stored, probes) == expected, (text, probes)
