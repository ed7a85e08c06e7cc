"""The query language: user text -> a Whoosh query, filters, and the terms to highlight.

    storm flooding              words: ranked by BM25F, articles with every word boosted
    "Bank of England"           a phrase (stop words inside keep their place: not "bank england")
    brexit AND (may OR johnson) NOT poll, -poll
    title:brexit source:bbc author:"jane smith" tags:politics language:en
    elect*  goverment~          wildcard; fuzzy (one edit, ~2 for two)
    published:2017  published:[2017-01-01 TO 2017-06-30]  published:2017-03
    since:yesterday  since:"last week"  until:"2 months ago"   (see dates.py)

Only deliberate syntax is syntax: a question is words ("what is information science?"
searches science), `word:` names a field only when the word is one of FIELD_NAMES, and a
lone `(`, `*`, `?` or a hyphen inside a word ("steady-state") is punctuation. Qualifiers
(source:, author:, tags:, language:, title:, published:, since:, until:) narrow the results
like Gmail's from: -- they become ParsedQuery.filters, and title:'s words rank too.
Any input is a valid query: what the parser cannot read falls back to its plain words,
with a notice that says so. Only a query with nothing to search for raises QueryError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta


from .analysis import analyze, analyzer
from .dates import DateError, Span, parse_span
from .engine import tree as wq
from .engine.evaluate import FieldsTerm, expand_words
from .engine.tree import Boosted, WrappingQuery
from .engine.scoring import ALL_WORDS_BOOST, SHORT_QUERY, USE_QTF
from .store import _naive_utc

SEARCH_FIELDS = ("title", "body")
# The fields a query may name (title:word). Dates are not among them: since:/until:/published:
# clauses become filters (_take_dates); a date field reaching Whoosh's parser as a word
# (`x-published:""`) made a search fail when the word was not a date.
QUERY_FIELDS = ("title", "body", "source", "author", "tags")
# Syntax that makes a query more than a bag of words.
_SYNTAX = re.compile(r"""["*?~:()\[\]{}^]|(?:^|\s)[-+]\S|\b(?:AND|OR|NOT|ANDNOT|ANDMAYBE)\b""")
_SYNTAX_CHARS = re.compile(r"""["*?~:()\[\]{}^+]|(?:^|\s)-(?=\S)|\b(?:AND|OR|NOT|ANDNOT|ANDMAYBE)\b""")
# since:/until:/published: clauses, taken out of the text before parsing and turned into filters.
_DATE_CLAUSE = re.compile(
    r"""(?:(?<=\s)|^)(?P<neg>[-])?(?P<field>since|until|published|date):\s*"""
    r"""(?:"(?P<quoted>[^"]*)"|\[(?P<range>[^\]]*)\]|(?P<bare>[^\s()"]+))""", re.I)
_RANGE_TO = re.compile(r"\s+TO\s+", re.I)
# Names a `name:` prefix can give; any other `word:` ("note: ...", "http://") is a word and a colon.
FIELD_NAMES = ("title", "body", "source", "author", "tags", "language", "published", "since", "until", "date")
# Qualifiers that restrict the results without ranking them (title: restricts and ranks).
QUALIFIER_FIELDS = ("source", "author", "tags", "language", "title")
_QUALIFIER = re.compile(
    r"""(?:(?<=[\s(])|^)(?P<neg>-|NOT\s+)?(?P<field>source|author|tags|language|title):\s*"""
    r"""(?:"(?P<quoted>[^"]*)"|(?P<bare>[^\s()"\[{][^\s()"]*))""", re.I)
_FIELD_PREFIX = re.compile(r"(?<![\w:])([^\W_][\w-]*):")
_BOOLEAN = re.compile(r"\b(?:AND|OR|NOT|ANDNOT|ANDMAYBE)\b|(?:^|(?<=[\s(]))[-+](?=[\w\"(])")
_PHRASE = re.compile(r'"([^"]*)"')
_LONE_PHRASE = re.compile(r'"([^"]*)"')  # (fullmatch) a query that is one quoted phrase
_FUZZY = re.compile(r"(?<![\w*?'])([^\W\d_][\w']*)~([0-9]+)?(?![\w~])")
MAX_FUZZY_WORDS = 20
# A fuzzy word allows at most MAX_EDITS edits (Elasticsearch's cap too): each edit multiplies
# the words of the index it is near, and `a~9` used to take minutes.
MAX_EDITS = 2
# Words and phrases a query may have before it counts as expensive (see ParsedQuery.expensive).
MAX_CHEAP_TERMS = 12
MAX_QUERY_CHARS = 1_000



class QueryError(ValueError):
    """Raised for a query that has nothing to search for (empty, or only stop words)."""


Phrase = tuple[tuple[str, int], ...]  # (stem, position relative to the first word)


@dataclass
class ParsedQuery:
    """A query ready to run.

    `query` matches and ranks; `filters` restrict without ranking (dates from the query
    text); `stems` and `phrases` are what snippets highlight; `notice` says how a query
    that could not be read as typed was searched instead.
    """

    text: str
    query: wq.Query
    stems: set[str] = field(default_factory=set)
    phrases: list[Phrase] = field(default_factory=list)
    filters: list[wq.Query] = field(default_factory=list)
    notice: str = ""
    words: list[str] | None = None  # a plain-word query's stems, repeats kept (engine/rank.py ranks these)
    # Wildcards, prefixes, fuzzy words, ranges or many terms: work that grows with the index's
    # vocabulary or with the query. A server runs few such queries at once (search.py).
    expensive: bool = False



def _word_query(stem: str, boost: float = 1.0) -> wq.Query:
    return FieldsTerm.of(stem, SEARCH_FIELDS, boost=boost)


def words_query(stems: list[str]) -> wq.Query:
    """The matching query for plain words: any word matches; all words score more.

    A word typed twice counts twice (BM25's query term frequency). Up to SHORT_QUERY words,
    an article with all of them scores ALL_WORDS_BOOST x more (a soft "all words first":
    people typing two or three words mean each); longer queries read as descriptions that
    no single article matches word for word, so there coverage is left to BM25. Closeness
    of the words (sequential dependence, scoring.proximity_score) adds no matches: the
    ranking of plain words (engine/rank.py) scores it, not this tree.
    """
    counts = {s: stems.count(s) for s in stems}
    stems = list(counts)
    per_word = [_word_query(s, counts[s] if USE_QTF else 1.0) for s in stems]
    if len(per_word) == 1:
        return per_word[0]
    parts: list[wq.Query] = [wq.Or(per_word)]
    if ALL_WORDS_BOOST and len(stems) <= SHORT_QUERY:
        parts.append(wq.And(per_word, boost=ALL_WORDS_BOOST))
    return wq.Or(parts)


def _words(text: str, notice: str = "", filters: list[wq.Query] | None = None) -> ParsedQuery:
    stems = analyze(text)
    if not stems:
        if filters:
            return ParsedQuery(text, wq.Every(), set(), [], filters, notice)
        raise QueryError("nothing to search for: the query has only punctuation or very common words")
    return ParsedQuery(text, words_query(stems), set(stems), [], filters or [], notice, words=stems,
                       expensive=len(set(stems)) > MAX_CHEAP_TERMS)


def phrase_terms(text: str) -> Phrase:
    """The stems of a phrase with their positions, stop words leaving their gap."""
    found = [(term, pos) for term, pos, _, _ in analyzer().term_spans(text)]
    if not found:
        return ()
    first = found[0][1]
    return tuple((stem, pos - first) for stem, pos in found)


def phrase_query(fieldname: str, text: str, slop: int = 1, boost: float = 1.0) -> wq.Query:
    """Match `text` as a phrase in one field; "Bank of England" needs exactly one word between.

    The index drops stop words but keeps everyone else's position, so a phrase with stop
    words is a chain of exact distances, not adjacent words.
    """
    terms = phrase_terms(text)
    if not terms:
        return wq.NullQuery
    if len(terms) == 1:
        return wq.Term(fieldname, terms[0][0], boost=boost)
    gaps = [b[1] - a[1] for a, b in zip(terms, terms[1:])]
    if all(g == 1 for g in gaps):
        return wq.Phrase(fieldname, [s for s, _ in terms], slop=slop, boost=boost)
    q: wq.Query = wq.Term(fieldname, terms[0][0])
    for (stem, _), gap in zip(terms[1:], gaps):
        q = wq.SpanNear2([q, wq.Term(fieldname, stem)], slop=gap + slop - 1, mindist=gap, ordered=True)
    return Boosted(q, boost)


def parser(schema):
    """The query parser (engine/parse.py) over title and body, OR by default, with +/- and
    fuzzy word~; phrases made by phrase_query. It knows only QUERY_FIELDS: any other `name:`
    is read as words, never as a field."""
    from .engine.parse import make_parser  # Whoosh's parser: a query of plain words never loads it

    return make_parser(schema, SEARCH_FIELDS, QUERY_FIELDS, phrase_query)


def _positive_terms(q: wq.Query) -> set[str]:
    """Stems of the title/body words a query looks for (not excluded ones, not phrases' words)."""
    if isinstance(q, wq.Not):
        return set()
    if isinstance(q, wq.AndNot):
        return _positive_terms(q.a)
    found: set[str] = set()
    if isinstance(q, (wq.Term, wq.Prefix, wq.FuzzyTerm)) and q.fieldname in SEARCH_FIELDS:
        found.add(q.text)
    if isinstance(q, (wq.Phrase, Boosted)):  # phrases are highlighted as units (ParsedQuery.phrases)
        return found
    for child in q.children():
        found |= _positive_terms(child)
    return found


def _fields_terms(q: wq.Query) -> wq.Query:
    """Score a word searched in both title and body with true BM25F (FieldsTerm).

    Whoosh's parser turns a word into Or(title:w, body:w) and flattens nested ORs, so the
    pairs are found among an OR's terms by their text.
    """
    if isinstance(q, FieldsTerm):
        return q
    if isinstance(q, wq.Or):
        kids = [_fields_terms(c) for c in q.subqueries]
        fields_of: dict[str, set[str]] = {}
        for c in kids:
            if type(c) is wq.Term and c.fieldname in SEARCH_FIELDS and c.boost == 1.0:
                fields_of.setdefault(c.text, set()).add(c.fieldname)
        both = {text for text, names in fields_of.items() if len(names) == len(SEARCH_FIELDS)}
        if not both:
            return q.__class__(kids, boost=q.boost)
        out: list[wq.Query] = []
        for c in kids:
            if type(c) is wq.Term and c.text in both and c.fieldname in SEARCH_FIELDS and c.boost == 1.0:
                if c.fieldname == SEARCH_FIELDS[0]:
                    out.append(FieldsTerm.of(c.text, SEARCH_FIELDS))
                continue
            out.append(c)
        return out[0] if len(out) == 1 and q.boost == 1.0 else q.__class__(out, boost=q.boost)
    if isinstance(q, (wq.CompoundQuery, wq.BinaryQuery, wq.Not, WrappingQuery)):
        return q.apply(_fields_terms)
    return q


def _scored_patterns(q: wq.Query) -> wq.Query:
    """`parliam*` scored as the BM25 of the words it expands to, always.

    Whoosh's Prefix and Wildcard score 1 per field wherever a segment holds two or more of
    their words, but BM25 where it holds one, so an article's score depended on how the
    index happened to be cut into segments (or shards): the same article scored differently
    after another import.
    """
    if isinstance(q, (wq.Prefix, wq.Wildcard)) and q.constantscore:
        return q.__class__(q.fieldname, q.text, boost=q.boost, constantscore=False)
    if isinstance(q, (wq.CompoundQuery, wq.BinaryQuery, wq.Not, WrappingQuery)):
        return q.apply(_scored_patterns)
    return q


def _not_excludes(q: wq.Query) -> wq.Query:
    """Make `a NOT b` mean "a, but not b" (Whoosh's OR grouping reads it as "a, or not b")."""
    if isinstance(q, wq.Or):
        kids = [_not_excludes(c) for c in q.subqueries]
        nots = [c.query for c in kids if isinstance(c, wq.Not)]
        keep = [c for c in kids if not isinstance(c, wq.Not)]
        if nots and keep:
            return wq.AndNot(keep[0] if len(keep) == 1 else wq.Or(keep),
                             nots[0] if len(nots) == 1 else wq.Or(nots))
        return q.__class__(kids, boost=q.boost)
    if isinstance(q, wq.CompoundQuery):
        return q.apply(_not_excludes)
    return q


def date_range(start: datetime | None, end: datetime | None) -> wq.Query:
    """Articles published in [start, end) (either end open when None)."""
    # Whoosh ranges are inclusive: stop one microsecond before the exclusive end.
    last = _naive_utc(end - timedelta(microseconds=1)) if end else None
    return wq.DateRange("published", _naive_utc(start), last)


def _clause_span(m: re.Match, now: datetime | None) -> tuple[datetime | None, datetime | None]:
    name = m.group("field").lower()
    if m.group("range") is not None:
        ends = _RANGE_TO.split(m.group("range").strip(), maxsplit=1)
        if len(ends) != 2:
            raise DateError(f"cannot read the range [{m.group('range')}]: use [2017-01-01 TO 2017-06-30]")
        low, high = (e.strip().strip('"') for e in ends)
        start = parse_span(low, now).start if low not in ("", "*") else None
        end = parse_span(high, now).end if high not in ("", "*") else None
        if name == "since":
            return start, None
        if name == "until":
            return None, end
        return start, end
    span: Span = parse_span(m.group("quoted") if m.group("quoted") is not None else m.group("bare"), now)
    if name == "since":
        return span.start, None
    if name == "until":
        return None, span.end
    return span.start, span.end


def _take_dates(text: str, now: datetime | None) -> tuple[str, list[wq.Query], list[str]]:
    """Remove since:/until:/published: clauses; return the rest, their filters, any problems."""
    filters: list[wq.Query] = []
    problems: list[str] = []

    def replace(m: re.Match) -> str:
        try:
            start, end = _clause_span(m, now)
        except DateError as exc:
            problems.append(str(exc))
            return " " + (m.group("quoted") or m.group("range") or m.group("bare") or "") + " "
        q = date_range(start, end)
        filters.append(wq.Not(q) if m.group("neg") else q)
        return " "

    rest = _DATE_CLAUSE.sub(replace, text)
    return " ".join(rest.split()), filters, problems


def _qualifier_filter(name: str, value: str) -> wq.Query | None:
    """The filter for one `name:value` qualifier (None when the value has no words)."""
    value = value.strip()
    if name == "title":
        if value.endswith("*") and value[:-1].isalnum():
            return wq.Prefix("title", value[:-1].lower())
        stems = analyze(value)
        if not stems:
            return None
        if len(stems) > 1 and " " in value:
            return phrase_query("title", value)
        return wq.And([wq.Term("title", stem) for stem in stems]) if len(stems) > 1 else wq.Term("title", stems[0])
    if name == "tags":
        tag = " ".join(value.lower().split())
        return wq.Term("tags", tag) if tag else None
    if name == "language":
        return wq.Or([wq.Term("language", v) for v in dict.fromkeys((value, value.lower()))]) if value else None
    tokens = analyzer().names(value)  # source, author: the words of a name
    if not tokens:
        return None
    return wq.And([wq.Term(name, t) for t in tokens]) if len(tokens) > 1 else wq.Term(name, tokens[0])


def _take_qualifiers(text: str) -> tuple[str, list[wq.Query], list[str]]:
    """Remove source:/author:/tags:/language:/title: clauses; return the rest, their filters
    (each narrows the results: `source:bbc OR source:cnn` is one filter), and title:'s words,
    which rank as well as restrict."""
    found = []  # (start, end, field, negated, filter, value)
    for m in _QUALIFIER.finditer(text):
        name = m.group("field").lower()
        value = m.group("quoted") if m.group("quoted") is not None else m.group("bare").rstrip("?!.,;")
        found.append((m.start(), m.end(), name, bool(m.group("neg")), _qualifier_filter(name, value), value))
    if not found:
        return text, [], []
    groups: list[list[tuple]] = []
    for item in found:
        last = groups[-1][-1] if groups else None
        if (last and last[2] == item[2] and not last[3] and not item[3]
                and text[last[1]:item[0]].strip() == "OR"):
            groups[-1].append(item)
        else:
            groups.append([item])
    filters: list[wq.Query] = []
    words: list[str] = []
    rest, at = [], 0
    for group in groups:
        rest.append(text[at:group[0][0]])
        at = group[-1][1]
        parts = [item[4] for item in group if item[4] is not None]
        if not parts:
            continue
        flt = parts[0] if len(parts) == 1 else wq.Or(parts)
        negated = group[0][3]
        filters.append(wq.Not(flt) if negated else flt)
        if group[0][2] == "title" and not negated:  # the headline words rank too
            words.extend(f"title:{item[5]}" if item[5].endswith("*") else item[5] for item in group)
    rest.append(text[at:])
    return " ".join("".join(rest).split()), filters, words


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


_NOT_A_FIELD = re.compile(r"([^\W_][\w-]*):(?=\S)|:")
_LOOSE_MARKS = [
    (re.compile(r"(?<=\w)-(?=\w)"), " "),           # steady-state: one word's parts, not NOT state
    (re.compile(r"(?<!\w)\?|\?(?!\w)"), " "),       # science? : a question mark; wom?n stays a wildcard
    (re.compile(r"(?<!\w)[*~]"), " "),              # a lone * or ~ (parliam* and word~ stay)
    (re.compile(r"(?<![\w\")])\^|\^(?![\d.])"), " "),  # ^ only boosts as word^2
    (re.compile(r"[\[\]{}]"), " "),                 # ranges only after published: (taken out before)
    (re.compile(r"(?:^|(?<=\s))[-+](?=\s|$)"), " "),  # a lone - or +
    (re.compile(r'""'), " "),
]
_WORDS_ONLY = re.compile(r"[\w\s]*")  # word characters and white space: as_meant changes only spacing
_RANGE = re.compile(r"(\b\w+:[\[{][^\]}]*[\]}])")
_EDGE_OPERATORS = re.compile(r"^(?:\s*\b(?:AND|OR|ANDMAYBE|ANDNOT)\b)+|(?:\b(?:AND|OR|NOT|ANDMAYBE|ANDNOT)\b\s*)+$")


def as_meant(text: str) -> str:
    """`text` with only its deliberate syntax left; what merely looks like syntax becomes space.

    A `?` ending a word, `word:` where the word names no field, a lone `(`, `*`, `~`, `-`, a
    hyphen inside a word and parentheses that group no operator are punctuation, as a reader
    would take them: "what is information science?" is four words, not a wildcard.
    """
    if _WORDS_ONLY.fullmatch(text):  # no mark any rule below looks for (most queries)
        return _EDGE_OPERATORS.sub("", " ".join(text.split())).strip()
    text = _NOT_A_FIELD.sub(lambda m: m.group(0) if m.group(1) and m.group(1).lower() in FIELD_NAMES
                            else (m.group(1) or "") + " ", text)
    text = re.sub(r"\b(" + "|".join(FIELD_NAMES) + r"):", lambda m: m.group(1).lower() + ":", text, flags=re.I)
    parts = _RANGE.split(text)  # field:[a TO b] keeps its brackets; the rest is loosened
    for i in range(0, len(parts), 2):
        for pattern, replacement in _LOOSE_MARKS:
            parts[i] = pattern.sub(replacement, parts[i])
    text = "".join(parts)
    if "(" in text or ")" in text:
        bare = re.sub(r'"[^"]*"', " ", text)
        if not _balanced(bare) or not _BOOLEAN.search(bare):
            text = re.sub(r"[()]", " ", text)
        text = re.sub(r"\(\s*\)", " ", text)
    text = " ".join(text.split())
    return _EDGE_OPERATORS.sub("", text).strip()


def _phrases_among_words(text: str) -> bool:
    """Whether `text` is plain words with one or more balanced "quoted phrases" among them
    (and no other syntax): 'svd in "digital image processing" applications'."""
    if text.count('"') % 2:
        return False
    outside = _PHRASE.sub(" ", text)
    return bool(analyze(outside)) and not _SYNTAX.search(outside) and all(
        not _SYNTAX.search(m.group(1).replace('"', "")) for m in _PHRASE.finditer(text))


def _phrases(text: str) -> list[Phrase]:
    found = []
    for m in _PHRASE.finditer(text):
        before = text[:m.start()].rstrip()
        if before.endswith("-") or before.endswith("NOT"):
            continue
        terms = phrase_terms(m.group(1))
        if len(terms) > 1:
            found.append(terms)
    return found


def allowed_edits(word: str, asked: int) -> int:
    """Edits a fuzzy `word` may have: what was asked, at most MAX_EDITS, and no more than
    Elasticsearch's "AUTO" fuzziness gives a word that long (0 up to 2 letters, 1 up to 5):
    a short word is within two edits of a large part of the index and means nothing then."""
    return max(0, min(asked, MAX_EDITS, 0 if len(word) <= 2 else 1 if len(word) <= 5 else 2))


def _fewer_edits(shown: str, edits: int) -> str:
    return f"{shown}: at most {edits} edit{'s' * (edits != 1)} for a word this long, searched with {edits}"


def expand_fuzzy(text: str, reader, notices: list[str] | None = None) -> str:
    """Replace word~ (word~2) by the real index words within 1 (2) edits: "(government OR governor)".

    Fuzzy matching works on the words people typed, not on stems: "goverment" is one edit
    from "government" but three from its stem "govern". Edits are capped (allowed_edits) and
    so are the words (MAX_FUZZY_WORDS); `notices` says when either cap applied.
    """
    notices = [] if notices is None else notices

    def replace(m: re.Match) -> str:
        word = m.group(1).lower()
        asked = int(m.group(2) or 1)
        edits = allowed_edits(word, asked)
        if edits < asked:
            notices.append(_fewer_edits(m.group(0), edits))
        if not edits:
            return m.group(1)
        found = expand_words(reader, SEARCH_FIELDS, word, edits, prefix=1).terms
        words = [w for w in found if w.replace("'", "").isalnum()]
        if len(words) > MAX_FUZZY_WORDS:
            notices.append(f"{m.group(0)} is close to {len(words)} words: searched the first {MAX_FUZZY_WORDS}")
            words = words[:MAX_FUZZY_WORDS]
        if not words:
            return m.group(1)
        return "(" + " OR ".join(words) + ")" if len(words) > 1 else words[0]

    return _FUZZY.sub(replace, text)


def _cap_edits(q: wq.Query, notices: list[str]) -> wq.Query:
    """`q` with every fuzzy term Whoosh's parser made held to allowed_edits."""
    if isinstance(q, wq.FuzzyTerm):
        edits = allowed_edits(q.text, q.maxdist)
        if edits >= q.maxdist:
            return q
        notices.append(_fewer_edits(f"{q.text}~{q.maxdist}", edits))
        if not edits:
            return wq.Term(q.fieldname, q.text, boost=q.boost)
        return wq.FuzzyTerm(q.fieldname, q.text, boost=q.boost, maxdist=edits,
                            prefixlength=max(1, q.prefixlength), constantscore=q.constantscore)
    if isinstance(q, (wq.CompoundQuery, wq.BinaryQuery, wq.Not, WrappingQuery)):
        return q.apply(lambda child: _cap_edits(child, notices))
    return q


def _is_expensive(q: wq.Query, fuzzy: bool) -> bool:
    """Whether a query's work grows with the vocabulary (wildcards, prefixes, fuzzy words,
    ranges) or with its many terms (ParsedQuery.expensive)."""
    leaves = [q] if q.is_leaf() else list(q.leaves())
    return fuzzy or len(leaves) > MAX_CHEAP_TERMS or any(isinstance(leaf, wq.MultiTerm) for leaf in leaves)


def parse(text: str, schema, now: datetime | None = None, reader=None) -> ParsedQuery:
    """Parse user text; raises QueryError only when there is nothing to search for.

    `now` anchors relative dates; with an index `reader`, word~ matches real index words.
    """
    text = " ".join(str(text).split())[:MAX_QUERY_CHARS]
    if not text:
        raise QueryError("empty query: type some words to search for")
    rest, filters, problems = _take_dates(text, now)
    rest, narrowing, title_words = _take_qualifiers(rest)
    filters += narrowing
    # title:'s words rank beside plain words; beside an operator they would become an
    # alternative to the rest ("title:oil AND spill" must still need spill).
    operators = _BOOLEAN.search(rest)
    rest = as_meant(rest)
    if not operators:
        rest = " ".join([rest, *title_words]).strip()
    notices = [problems[0].rstrip(".") + ": searched for it as words"] if problems else []
    fuzzy = reader is not None and "~" in rest
    if fuzzy:
        rest = expand_fuzzy(rest, reader, notices)
    notice = "; ".join(dict.fromkeys(notices))
    if not rest:
        return ParsedQuery(text, wq.Every(), set(), [], filters, notice)
    if not _SYNTAX.search(rest):
        return _words(rest, notice, filters)
    if _phrases_among_words(rest):
        # Quoted words among plain ones, nothing else: in an any-word query the phrase is not
        # required, so it ranks as its words do (proximity rewards them together).
        parsed = _words(rest.replace('"', " "), notice, filters)
        parsed.phrases = _phrases(rest)
        return parsed
    plain = _SYNTAX_CHARS.sub(" ", rest)
    lone = _LONE_PHRASE.fullmatch(rest)
    if lone:  # one "quoted phrase" and nothing else: the tree Whoosh's parser makes of it, without it
        q = wq.Or([phrase_query(name, lone.group(1)) for name in SEARCH_FIELDS]).normalize()
        return _parsed(text, rest, plain, q, filters, notices, fuzzy)
    if rest.count('"') % 2:
        return _words(plain, 'unbalanced quote: searched for the words without it', filters)
    try:
        q = parser(schema).parse(rest)
    except Exception:  # Whoosh raises many types on odd input; plain words always work
        return _words(plain, "could not read the query syntax: searched for the plain words", filters)
    return _parsed(text, rest, plain, q, filters, notices, fuzzy)


def _parsed(text: str, rest: str, plain: str, q: wq.Query, filters: list, notices: list[str],
            fuzzy: bool) -> ParsedQuery:
    """parse()'s result for the tree the parser made of `rest` (the text left after dates
    and qualifiers; `plain` is it without syntax)."""
    if q is wq.NullQuery or isinstance(q, wq.NullQuery.__class__):
        return _words(plain, "could not read the query syntax: searched for the plain words", filters)
    q = _cap_edits(_fields_terms(_not_excludes(_scored_patterns(q))), notices)
    notice = "; ".join(dict.fromkeys(notices))
    if isinstance(q, wq.Not):  # only exclusions: everything except them
        q = wq.AndNot(wq.Every(), q.query)
    stems = _positive_terms(q)
    phrases = _phrases(rest)
    return ParsedQuery(text, q, stems, phrases, filters, notice, expensive=_is_expensive(q, fuzzy))
