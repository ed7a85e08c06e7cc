from searchkit import analysis
from searchkit.analysis import Analyzer, analyze, analyzer, stopwords
from searchkit.engine.schema import name_analyzer, news_analyzer


def test_possessive_with_straight_and_curly_apostrophes():
    assert analyze("ISIS's fighters") == ["isi", "fighter"]
    assert analyze("ISIS\u2019s former stronghold") == ["isi", "former", "stronghold"]


def test_acronym_with_dots_and_hyphen():
    assert analyze("U.S.-backed forces") == ["us", "back", "forc"]


def test_number_with_thousands_separator_is_one_term():
    assert analyze("Almost 4,000 ISIS militants") == ["almost", "4000", "isi", "milit"]
    assert analyze("3.5 per cent") == ["3.5", "per", "cent"]


def test_hyphenated_words_are_split():
    assert analyze("Kurdish-led forces") == ["kurdish", "led", "forc"]


def test_curly_quotes_and_contractions():
    assert analyze("a \u201chuge number\u201d don\u2019t") == ["huge", "number"]


def test_stop_words_removed_and_positions_kept():
    tokens = [(t.text, t.pos) for t in news_analyzer()("The Bank of England", positions=True)]
    assert tokens == [("bank", 1), ("england", 3)]  # a gap: "Bank of England" is not "bank England"


def test_character_offsets_point_at_the_original_words():
    text = "Raqqa\u2019s fighters"
    spans = [text[t.startchar:t.endchar] for t in news_analyzer()(text, chars=True)]
    assert spans == ["Raqqa\u2019s", "fighters"]


def test_bundled_stopword_list():
    words = stopwords()
    assert {"the", "of", "dont", "and"} <= words
    assert not {"us", "new", "well", "shell"} & words


TRICKY = ("The Bank of England's U.S.-backed 4,000 fighters\u2019 fight; ISIS's \u201chuge\u201d don\u2019t "
          "O'Brien e.g. 3.5 per cent, a.b.c Kurdish-led OIL oil Oil")


def test_the_analyzer_gives_the_whoosh_chains_terms_positions_and_offsets():
    """Indexing, queries, snippets (Analyzer) and Whoosh's own parser (news_analyzer, the
    chain pickled in the schema) see the same terms at the same places."""
    chain = [(t.text, t.pos, t.startchar, t.endchar)
             for t in news_analyzer()(TRICKY, positions=True, chars=True)]
    assert Analyzer().term_spans(TRICKY) == chain
    assert Analyzer().terms(TRICKY) == [term for term, *_ in chain] == analyze(TRICKY)
    positions = Analyzer().term_positions(TRICKY)
    assert sorted((pos, term) for term, found in positions.items() for pos in found) == \
        sorted((pos, term) for term, pos, *_ in chain)
    assert Analyzer().names("BBC News\u2019s O'Brien") == [t.text for t in name_analyzer()("BBC News\u2019s O'Brien")]


def test_the_analyzer_is_one_object_and_its_caches_are_its_own():
    assert analyzer() is analyzer()
    small = Analyzer(cache_limit=2)
    assert small.terms("rising prices rose higher and higher") == ["rise", "price", "rose", "higher", "higher"]
    assert len(small._stems) <= 2 and len(small._terms) <= 2  # bounded, and not shared
    assert Analyzer(stop_words=frozenset({"bank"})).terms("The Bank of England") == ["the", "of", "england"]
    assert analyzer().terms("The Bank of England") == ["bank", "england"]
    # No module-level cache: everything analysis remembers lives in an Analyzer.
    module_state = [name for name, value in vars(analysis).items()
                    if isinstance(value, (dict, set, list)) and not name.startswith("__")]
    assert module_state == []


def test_the_vocabulary_numbers_each_token_once_with_its_word_and_term():
    vocabulary = Analyzer().vocabulary
    vocabulary.add(["Fighters", "the", "fighters", "Fighters"])
    vocabulary.add(["fighters", "U.S."])
    numbers = vocabulary.numbers
    assert sorted(numbers) == ["Fighters", "U.S.", "fighters", "the"]
    assert [vocabulary.words[numbers[t]] for t in ("Fighters", "the", "U.S.")] == ["fighters", "", "us"]
    assert [vocabulary.terms[numbers[t]] for t in ("Fighters", "the", "U.S.")] == [b"fighter", b"", b"us"]


def test_tokens_as_the_first_pattern_had_them():
    """TOKEN_PATTERN was made faster (guards, possessive words): the tokens of the forms the
    original pattern (kept here) treats specially are unchanged."""
    import re

    original = re.compile(r"(?=\w)(?:(?:[^\W\d_]\.){2,}(?![^\W_])|\d+(?:[.,]\d+)*(?![^\W_])"
                          r"|\w+(?:['\u2019\u02bc]\w+)*)")
    for text in [TRICKY, "U.S.A.B a.b. Z.Z.z ab.cd. e.g.,", "4,000,5x 3.5.6 4,000abc 1,2,3, 12__3 a.1.",
                 "x's O'Brien don\u2019t rock\u02bcn\u02bcroll '' \u2019s _a_ \u00e9t\u00e9 \u0661\u0662.\u0663"]:
        assert analysis.TOKEN_PATTERN.findall(text) == original.findall(text), text


def test_find_terms_finds_what_stemming_every_token_finds():
    """find_terms skips stemming a new token whose word cannot give a wanted term (Snowball
    keeps the first letter and never lengthens a word): the same places as term() on each."""
    text = ("The dying lying tying skies news early Only gently ugly idly singly U.S. us ISIS's "
            "generously communism arsenals Ying yes YEARS 4,000 3.5 happiness happy abilities "
            "ability relational conditional sensibility possibly hoped hoping hopping Fighters "
            "fighters' \u0130stanbul istanbul o'clock e.g. a.b.c")
    raws = Analyzer.tokens(text)
    one = Analyzer()
    for wanted in ({"die"}, {"lie", "tie"}, {"sky"}, {"news", "earli"}, {"onli", "gentl"}, {"us"},
                   {"isi", "fighter"}, {"generous", "communism"}, {"yes", "year"}, {"4000", "3.5"},
                   {"happi", "abil"}, {"relat", "condit", "sensibl", "possibl"}, {"hope", "hop"},
                   {"istanbul"}, {"oclock", "eg", "abc"}, {"zzz"}, set()):
        expected = [i for i, raw in enumerate(raws) if one.term(raw) in wanted and one.term(raw)]
        assert Analyzer().find_terms(raws, wanted) == expected, wanted  # a fresh one: nothing cached
        assert expected or wanted in ({"zzz"}, set())


def test_a_term_finder_gives_each_wanted_tokens_place_and_term_and_remembers_stop_words():
    from searchkit.analysis import TermFinder

    one = Analyzer()
    finder = TermFinder(one, {"fighter", "isi", ""})
    raws = Analyzer.tokens("The fighters of ISIS's army: a fighter, the Fighters' ISIS")
    expected = [(1, "fighter"), (3, "isi"), (6, "fighter"), (8, "fighter"), (9, "isi")]
    assert finder.find(raws) == expected
    assert one._terms["The"] == one._terms["of"] == ""  # stop words: no stemming, one look-up next time
    assert "army" not in one._terms  # a word that cannot give a wanted term is not stemmed
    assert finder.find(raws) == expected and TermFinder(one, set()).find(raws) == []
    assert one.find_terms(raws, {"fighter"}) == [1, 6, 8]


def test_a_word_starts_with_its_stems_prefix_and_is_never_shorter():
    """What find_terms relies on (analysis.stem_prefixes), over every word of the bundled test
    articles and those words with each of Snowball's suffixes added, and Snowball's
    exceptional forms."""
    from pathlib import Path

    from searchkit.analysis import stem_prefixes

    one = Analyzer()
    words = set()
    for path in Path(__file__).parent.joinpath("fixtures").rglob("*"):
        if path.is_file() and path.suffix in (".json", ".jsonl", ".html", ".txt", ".xml"):
            words |= one.words_of(Analyzer.tokens(path.read_text("utf-8", errors="replace")))
    assert len(words) > 1000
    suffixes = ("", "s", "'s", "es", "ies", "ied", "ed", "edly", "eed", "ing", "ingly", "ly", "y", "bly", "ably",
                "ibility", "ization", "ational", "tional", "ator", "alism", "ality", "fulness", "ousness", "iveness",
                "ivity", "ency", "ancy", "ently", "logy", "fully", "lessly", "icate", "icity", "ical", "ative",
                "alize", "ement", "ance", "ence", "ism", "ous", "ive", "ize", "ion", "ying", "yed")
    for word in sorted(words)[::4] + ["dying", "lying", "tying", "skies", "idly", "gently", "ugly", "early", "only"]:
        for suffix in suffixes:
            longer = one.uncached_word(word + suffix)
            stem = one.stem(longer) if longer else ""
            assert longer.startswith(stem_prefixes(stem)) and len(stem) <= len(longer), (longer, stem)


def test_token_starts_are_where_the_token_pattern_matches():
    """token_starts (lengths summed over re.split's pieces) gives each token where the
    pattern found it, for whole texts and for parts of them."""
    import random

    pieces = ["U.S.", "4,000", "3.5", "don't", "ISIS\u2019s", "caf\u00e9", " ", ", ", ". ", "\n", "a", "b.",
              "e.g.", "12_3", "\u212aelvin", "\u0130zmir", "'", "\u201c", "\u2014", "x1", "A.B.C"]
    rng = random.Random(3)
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        start = rng.randint(0, len(text))
        end = rng.choice([None, rng.randint(start, len(text))])
        found = list(analysis.TOKEN_PATTERN.finditer(text, start, len(text) if end is None else end))
        assert analysis.token_starts(text, start, end) == ([m.group() for m in found], [m.start() for m in found]), text
