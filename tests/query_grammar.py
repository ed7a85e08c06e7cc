"""Hypothesis strategies built from the query language's own pieces (query.py's grammar):
field names, quotes, ranges, dates, operators, wildcards, `~N`, boosts, Unicode digits and
punctuation. Random text rarely forms `x-published:""`; these strategies form such near-valid
queries all the time, so the fuzz tests reach the parser's corners, not only its fallback."""

from __future__ import annotations

from hypothesis import strategies as st

# Fields the language knows, date clauses, the index's other fields, and near misses.
FIELDS = ["title", "source", "author", "tags", "published", "since", "until", "imported", "id", "nosuch"]
WORDS = ["raqqa", "fighter", "isis", "mosul", "the", "a", "of", "goverment", "Bank", "ﬁ", "Ωμέγα", "🙂", "x",
         "profit", "AND", "OR", "NOT", "TO", "ANDNOT", "ANDMAYBE"]
DATES = ["", "2017", "2017-03", "2017-11-14", "2017-13-45", "0000", "9999-12-31", "10000-01-01", "1900-01-01",
         "last week", "yesterday", "2 months ago", "now", "*", "²⁰¹⁷", "٢٠١٧", "①", "1e9", "-1"]
# Numbers as people and attackers write them: ASCII, superscripts, circled, other scripts' digits.
NUMBERS = ["0", "1", "2", "9", "99999", "-1", "1.5", "²", "¹", "①", "٣", "௫", "1e9", "0x10", "1_000", " 2 "]
PUNCTUATION = ['"', "'", "(", ")", "[", "]", "{", "}", ";", ":", ",", ".", "!", "?", "*", "~", "^", "-", "+",
               "\\", "/", "&", "|", "«", "»", "¿", "\u202e", "\u2066", "\x00", "\t", "\n", " "]

words = st.one_of(st.sampled_from(WORDS), st.text(max_size=6))
dates = st.one_of(st.sampled_from(DATES), st.text(max_size=5))
numbers = st.one_of(st.sampled_from(NUMBERS), st.integers(0, 10**6).map(str))


def _quoted(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return inner.map(lambda text: f'"{text}"')


phrases = _quoted(st.lists(words, max_size=3).map(" ".join))
ranges = st.tuples(st.sampled_from(["[", "{", ""]), dates, st.sampled_from([" TO ", " to ", "TO", " ", ""]),
                   dates, st.sampled_from(["]", "}", ""])).map("".join)
wildcards = st.one_of(st.tuples(words, st.sampled_from(["*", "?", "**", "*?*", "?*?*?*"])).map("".join),
                      st.tuples(st.sampled_from(["*", "?"]), words).map("".join))
fuzzy = st.tuples(st.one_of(words, phrases), st.just("~"), st.one_of(st.just(""), numbers)).map("".join)
boosted = st.tuples(st.one_of(words, phrases), st.just("^"), numbers).map("".join)
empty = st.sampled_from(["", '""', "[]", "[ TO ]", "*", "()"])
values = st.one_of(empty, words, phrases, ranges, _quoted(dates), dates, wildcards, fuzzy, boosted)
# A field clause, alone or glued to what comes before it (`x-published:`, `profit;published:`).
fielded = st.tuples(st.sampled_from(["", "-", "+", "NOT ", "x-", "profit;", "x(", "(", "title:"]),
                    st.sampled_from(FIELDS), st.just(":"), st.one_of(empty, values),
                    st.sampled_from(["", ")"])).map("".join)
clauses = st.one_of(fielded, values)
separators = st.one_of(st.sampled_from([" ", " AND ", " OR ", " NOT ", ";", "(", ")", "", " -", "x"]),
                       st.sampled_from(PUNCTUATION))
queries = st.lists(st.tuples(clauses, separators).map("".join), min_size=1, max_size=5).map("".join)
