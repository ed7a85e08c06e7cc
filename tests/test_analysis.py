from searchkit.analysis import analyze, news_analyzer, stopwords


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
