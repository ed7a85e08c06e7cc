"""The evaluator (engine/evaluate.py, ranking.py) against a brute-force scorer.

A small literal corpus is indexed for real; the reference below scores every article
for a query one at a time in plain Python, straight from the formulas of engine/scoring.py
and the query tree's meaning, from the corpus text (not from the index). search() must
list exactly the articles the reference finds, in its order, with its scores.
"""

from __future__ import annotations

import fnmatch
import math
from datetime import datetime, timezone

import numpy as np
import pytest
from whoosh import query as wq
from whoosh.query import spans as wspans
from whoosh.query.ranges import TermRange
from whoosh.util.numeric import byte_to_length, length_to_byte

import searchkit
from searchkit.analysis import analyzer
from searchkit.engine.schema import name_analyzer
from searchkit.article import Article, clean
from searchkit.engine import rank, scoring
from searchkit.engine.evaluate import FieldsTerm
from searchkit.query import Boosted, parse
from searchkit.search import NO_SOURCE

DOCS = [
    dict(id="a", title="Oil prices rise as OPEC cuts output",
         body="Oil prices rose on Monday. Traders said oil demand was strong and prices would rise again.",
         author="Jane Smith", source="Daily Planet", tags=["markets", "energy"],
         published=datetime(2017, 3, 1, tzinfo=timezone.utc)),
    dict(id="b", title="Bank of England holds rates",
         body="The Bank of England kept interest rates on hold. Oil was not discussed by the bank.",
         author="John Smith", source="Gazette", tags=["economy"],
         published=datetime(2017, 3, 5, tzinfo=timezone.utc)),
    dict(id="c", title="Election campaign begins",
         body="The election campaign began with a debate on oil, energy prices and the economy.",
         author="Jane Doe", source="Daily Planet", tags=["politics"],
         published=datetime(2017, 4, 2, tzinfo=timezone.utc)),
    dict(id="d", title="Oil prices rise as OPEC cuts output again",
         body="Oil prices rose on Monday. Traders said oil demand was strong and prices would rise.",
         author="Jane Smith", source="Wire", tags=["markets"], cluster="a",
         published=datetime(2017, 3, 2, tzinfo=timezone.utc)),
    dict(id="e", title="Governor speaks on elections",
         body="The governor said elected officials must act on energy. Elections are due in May.",
         author="Ann Lee", source="Gazette", tags=["politics", "energy"], published=None),
    dict(id="f", title="Markets calm",
         body="Markets were calm. The price of oil fell and energy shares were flat; oil traders waited.",
         author="", source="Wire", tags=["markets"],
         published=datetime(2016, 12, 30, tzinfo=timezone.utc)),
]
TEXT_FIELDS = ("title", "body")


class Reference:
    """Every article's terms, positions and lengths, counted from the text itself."""

    def __init__(self, docs: list[dict], deleted: list[dict] = ()) -> None:
        """`docs` in document number order; `deleted` ones count in the statistics (as
        their postings stay until a merge) but never match."""
        self.docs = docs
        self.terms: list[dict[str, dict[str, list[int]]]] = []
        self.lengths: list[dict[str, int]] = []
        for d in [*docs, *deleted]:
            fields = {name: analyzer().term_positions(d[name]) for name in TEXT_FIELDS}
            for name in ("author", "source"):
                found: dict[str, list[int]] = {}
                for pos, token in enumerate(t.text for t in name_analyzer()(d[name])):
                    found.setdefault(token, []).append(pos)
                fields[name] = found
            fields["tags"] = {t.lower(): [0] for t in d["tags"]}
            self.terms.append(fields)
            self.lengths.append({name: sum(len(p) for p in found.values()) for name, found in fields.items()})
        self.n = len(docs) + len(deleted)

    def df(self, name: str, term: str) -> int:
        return sum(1 for fields in self.terms if term in fields[name])

    def avg(self, name: str) -> float:
        return sum(lengths[name] for lengths in self.lengths) / self.n

    def tf(self, doc: int, name: str, term: str) -> float:
        count = len(self.terms[doc][name].get(term, []))
        return count * (scoring.TITLE_BOOST if name == "title" else 1.0)

    def length(self, doc: int, name: str) -> float:
        return max(1.0, byte_to_length(length_to_byte(self.lengths[doc][name])))

    def term(self, doc: int, name: str, term: str) -> float | None:
        tf = self.tf(doc, name, term)
        if not tf:
            return None
        norm = scoring.length_norm(self.length(doc, name), self.avg(name), scoring.B)
        return scoring.bm25(scoring.idf(self.n, self.df(name, term)), tf, norm)

    def bm25f(self, doc: int, term: str, fields=TEXT_FIELDS) -> float | None:
        combined = 0.0
        for name in fields:
            tf = self.tf(doc, name, term)
            if tf:
                norm = scoring.length_norm(self.length(doc, name), self.avg(name), scoring.field_b(name))
                combined += scoring.field_weight(name) * tf / norm
        if not combined:
            return None
        word_idf = scoring.idf(self.n, max(self.df(name, term) for name in fields))
        return word_idf * combined * (scoring.K1 + 1) / (combined + scoring.K1)

    def lexicon(self, name: str) -> list[str]:
        return sorted({t for fields in self.terms for t in fields[name]})

    # -- plain words ---------------------------------------------------------------------

    def words(self, doc: int, stems: list[str]) -> float | None:
        unique = list(dict.fromkeys(stems))
        scores = [self.bm25f(doc, w) for w in unique]
        if all(s is None for s in scores):
            return None
        total = sum(stems.count(w) * s for w, s in zip(unique, scores) if s is not None)
        if all(s is not None for s in scores) and 1 < len(unique) <= scoring.SHORT_QUERY:
            total *= 1 + scoring.ALL_WORDS_BOOST
        for a, b in zip(unique, unique[1:]):
            if None not in (self.bm25f(doc, a), self.bm25f(doc, b)):
                pair_idf = sum(scoring.idf(self.n, max(self.df(name, w) for name in TEXT_FIELDS)) for w in (a, b))
                total += scoring.proximity_score(pair_idf, *self.windows(doc, a, b))
        return total

    def windows(self, doc: int, a: str, b: str) -> tuple[float, float]:
        """Sequential dependence's BM25F frequencies of a pair: b right after a (ordered), and
        a and b within SDM_WINDOW positions (the smaller of a's and b's occurrences so near)."""
        ordered = unordered = 0.0
        near = scoring.SDM_WINDOW - 1
        for name in TEXT_FIELDS:
            pa, pb = self.terms[doc][name].get(a, []), self.terms[doc][name].get(b, [])
            weight = (self.tf(doc, name, a) / len(pa) if pa else 0.0) * scoring.field_weight(name) / \
                scoring.length_norm(self.length(doc, name), self.avg(name), scoring.field_b(name))
            ordered += weight * sum(1 for p in pa if p + 1 in pb)
            unordered += weight * min(sum(1 for p in pa if any(abs(p - q) <= near for q in pb)),
                                      sum(1 for q in pb if any(abs(p - q) <= near for p in pa)))
        return ordered, unordered

    # -- query trees ---------------------------------------------------------------------

    def spans(self, doc: int, q) -> list[tuple[int, int]]:
        if isinstance(q, Boosted):
            return self.spans(doc, q.child)
        if type(q) is wq.Term:
            return [(p, p) for p in self.terms[doc][q.fieldname].get(q.text, [])]
        if isinstance(q, wq.Phrase):
            parts, slop, ordered, mindist = [wq.Term(q.fieldname, w) for w in q.words], q.slop, True, 1
        else:
            parts, slop, ordered, mindist = q.qs, q.slop, q.ordered, q.mindist
        found = self.spans(doc, parts[0])
        for part in parts[1:]:
            joined = set()
            for a in found:
                for b in self.spans(doc, part):
                    dist = max(b[0] - a[1], a[0] - b[1], 0)
                    if mindist <= dist <= slop and (not ordered or a[0] <= b[0]):
                        joined.add((min(a[0], b[0]), max(a[1], b[1])))
            found = sorted(joined)
        return found

    def leaves(self, q) -> list[tuple[str, str]]:
        if isinstance(q, Boosted):
            return self.leaves(q.child)
        if type(q) is wq.Term:
            return [(q.fieldname, q.text)]
        if isinstance(q, wq.Phrase):
            return [(q.fieldname, w) for w in q.words]
        return [leaf for part in q.qs for leaf in self.leaves(part)]

    def node(self, doc: int, q) -> float | None:
        boost = getattr(q, "boost", 1.0)
        if isinstance(q, FieldsTerm):
            found = self.bm25f(doc, q.subqueries[0].text, tuple(t.fieldname for t in q.subqueries))
            return None if found is None else found * boost
        if type(q) is wq.Term:
            found = self.term(doc, q.fieldname, q.text)
            return None if found is None else found * boost
        if isinstance(q, (wq.Phrase, wspans.SpanNear2)) or (isinstance(q, Boosted)
                                                             and isinstance(q.child, wspans.SpanNear2)):
            if not self.spans(doc, q):
                return None
            total = sum(self.term(doc, name, text) for name, text in self.leaves(q))
            return total * boost
        if isinstance(q, (wq.Prefix, wq.Wildcard, TermRange)):
            if isinstance(q, wq.Prefix):
                terms = [t for t in self.lexicon(q.fieldname) if t.startswith(q.text)]
            elif isinstance(q, wq.Wildcard):
                terms = [t for t in self.lexicon(q.fieldname) if fnmatch.fnmatchcase(t, q.text)]
            else:
                terms = [t for t in self.lexicon(q.fieldname) if q.start <= t <= q.end]
            found = [s for s in (self.term(doc, q.fieldname, t) for t in terms) if s is not None]
            return sum(found) * boost if found else None
        if isinstance(q, wq.Or):
            found = [s for s in (self.node(doc, c) for c in q.subqueries) if s is not None]
            return sum(found) * boost if found else None
        if isinstance(q, wq.And):  # a NOT inside excludes, and adds nothing to the score
            if any(self.node(doc, c.query) is not None for c in q.subqueries if isinstance(c, wq.Not)):
                return None
            found = [self.node(doc, c) for c in q.subqueries if not isinstance(c, wq.Not)]
            return None if any(s is None for s in found) else sum(found) * boost
        if isinstance(q, wq.AndNot):
            a = self.node(doc, q.a)
            return None if a is None or self.node(doc, q.b) is not None else a * boost
        if isinstance(q, wq.AndMaybe):
            a = self.node(doc, q.a)
            b = self.node(doc, q.b)
            return None if a is None else (a + (b or 0.0)) * boost
        if isinstance(q, wq.Every):
            return boost
        raise AssertionError(f"the reference does not know {q!r}")

    def ranking(self, text: str, searcher) -> list[tuple[str, float]]:
        """(id, score) best first; word~ is read against the index's words, as search() reads it."""
        parsed = parse(text, searcher.schema, reader=searcher.reader())
        keep = [all(self._passes(d, f) for f in parsed.filters) for d in range(len(self.docs))]
        scores = []
        for doc in range(len(self.docs)):
            if not keep[doc]:
                continue
            score = self.words(doc, parsed.words) if parsed.words else self.node(doc, parsed.query)
            if score is not None:
                scores.append((doc, score))
        scores.sort(key=lambda pair: (-pair[1], pair[0]))
        return [(self.docs[doc]["id"], score) for doc, score in scores]

    def _passes(self, doc: int, flt) -> bool:
        moment = self.docs[doc]["published"]
        if isinstance(flt, wq.Not):
            return not self._passes(doc, flt.query)
        if not isinstance(flt, wq.DateRange):  # a qualifier (source:, title:, ...): does it match
            return self.node(doc, flt) is not None
        if moment is None:
            return False
        value = moment.replace(tzinfo=None)
        start, end = flt.startdate, flt.enddate
        return (start is None or value >= start) and (end is None or value <= end)


QUERIES = [
    # plain words: BM25F, the all-words boost, proximity, a repeated word
    "oil", "oil prices", "oil prices rise", "oil oil energy", "energy traders markets calm",
    # phrases: exact, with a stop word's gap, with slop, in one field
    '"oil prices"', '"bank of england"', '"oil demand"~3', 'title:"oil prices"',
    # boolean
    "oil AND energy", "oil OR election", "oil -prices", "oil NOT traders", "+oil energy",
    "(oil OR election) AND energy", "energy AND NOT oil", "NOT oil",
    # fields
    "title:oil", "body:bank", "author:smith", 'author:"jane smith"', "source:gazette", "tags:energy",
    "title:oil body:energy", "oil^3 energy",
    # prefix, wildcard, range, fuzzy
    "elect*", "pri?e", "ene*gy OR bank", "title:[e TO m]", "enrgy~",
    # dates
    "oil since:2017-03-02", "oil until:2017-03-03", "energy published:2017", "oil -published:2017-03",
]


@pytest.fixture(scope="module")
def engine_index(tmp_path_factory):
    ix = searchkit.open_index(tmp_path_factory.mktemp("engine") / "index", create=True)
    ix.write([clean(Article(**d)) for d in DOCS])
    return ix


@pytest.fixture(params=["dense", "dense-merged", "sparse"])
def scoring_arrays(request, monkeypatch):
    """Plain words scored over index-sized arrays (the matches from a mask, or from the
    lists merged), or over posting-sized ones (engine/rank.py picks by the postings' share
    of the index; a tiny corpus would always get the first). Phrases likewise: candidates
    counted in segment-sized arrays, or lists intersected (then merged, not looked up)."""
    if request.param == "sparse":
        monkeypatch.setattr(rank, "SPARSE_BELOW", 0.0)  # 0 x postings < documents: always sparse
        monkeypatch.setattr(rank, "MERGE_FROM", 0)  # sorted lists intersected by a merge
    if request.param == "dense-merged":
        monkeypatch.setattr(rank, "MERGE_BELOW", 0.0)  # 0 x postings < documents: always merged
    return request.param


@pytest.mark.parametrize("text", QUERIES)
def test_the_engine_ranks_as_the_brute_force_reference(engine_index, text, scoring_arrays):
    reference = Reference(DOCS)
    with engine_index.searcher() as searcher:
        expected = reference.ranking(text, searcher)
    result = searchkit.search(engine_index, text, limit=100, collapse=False, facets=False, snippets=False)
    assert [hit.id for hit in result.hits] == [i for i, _ in expected]
    for hit, (_, score) in zip(result.hits, expected):
        assert hit.score == pytest.approx(score, rel=1e-9), hit.id
    assert result.total == len(expected)


def test_every_query_type_finds_something(engine_index):
    # A query list whose every entry found nothing would pass the comparison above.
    empty = [t for t in QUERIES if not searchkit.search(engine_index, t, collapse=False).hits]
    assert empty == []


def test_collapse_keeps_the_best_copy_and_counts_the_cluster(engine_index):
    result = searchkit.search(engine_index, "oil prices", limit=10)
    ids = [hit.id for hit in result.hits]
    assert ("a" in ids) != ("d" in ids)  # one of the two copies stands for the cluster
    shown = next(hit for hit in result.hits if hit.id in ("a", "d"))
    assert shown.cluster_size == 2
    with engine_index.searcher() as searcher:
        matching = [i for i, _ in Reference(DOCS).ranking("oil prices", searcher)]
    assert result.total == len({"a" if i == "d" else i for i in matching}) == len(ids)


@pytest.mark.parametrize("text", ["oil OR energy", "oil energy", '"oil prices"'])
def test_a_deadline_in_the_past_returns_what_it_has_and_says_so(engine_index, text):
    result = searchkit.search(engine_index, text, deadline=0.0)
    assert result.timed_out is True
    assert result.total == 0
    assert searchkit.search(engine_index, text).timed_out is False


def test_max_expansions_caps_a_wildcard_and_says_which(engine_index):
    full = searchkit.search(engine_index, "title:e*", collapse=False)
    capped = searchkit.search(engine_index, "title:e*", collapse=False, max_expansions=1)
    assert full.capped == []
    assert [(e.field, e.pattern, e.terms) for e in capped.capped] == [("title", "e", ["elect"])]
    assert 0 < capped.total < full.total


UPDATED_C = {**DOCS[2], "body": "The election campaign began with a long debate on oil prices, energy and taxes."}


@pytest.fixture(scope="module")
def updated_index(tmp_path_factory):
    """DOCS over several segments, article c re-imported with a new body: its old version
    stays in the first segment as a deleted document."""
    ix = searchkit.open_index(tmp_path_factory.mktemp("updated") / "index", create=True)
    ix.write([clean(Article(**d)) for d in DOCS[:3]])
    ix.write([clean(Article(**d)) for d in DOCS[3:]])
    ix.write([clean(Article(**UPDATED_C))])
    return ix


@pytest.mark.parametrize("text", ["oil prices", "election OR energy", '"oil prices"', "elect* -governor",
                                  "oil since:2017-03-02", "oil prices energy traders", "energy oil prices rose"])
def test_deleted_documents_count_in_statistics_but_never_match(updated_index, text, scoring_arrays):
    snapshot = updated_index.snapshot()
    assert len(snapshot.segments) >= 2 and snapshot.doc_count == len(DOCS) + 1
    live = [d for d in DOCS if d["id"] != "c"] + [UPDATED_C]
    reference = Reference(live, deleted=[DOCS[2]])
    with updated_index.searcher() as searcher:
        expected = reference.ranking(text, searcher)
    result = searchkit.search(updated_index, text, limit=100, collapse=False, facets=False, snippets=False)
    assert [hit.id for hit in result.hits] == [i for i, _ in expected]
    for hit, (_, score) in zip(result.hits, expected):
        assert hit.score == pytest.approx(score, rel=1e-9), hit.id


def test_facets_and_timeline_count_the_shown_results(updated_index):
    result = searchkit.search(updated_index, "oil", limit=1)
    # a and d are one cluster: shown once (the better copy), counted once.
    with updated_index.searcher() as searcher:
        expected = Reference([d for d in DOCS if d["id"] != "c"] + [UPDATED_C]).ranking("oil", searcher)
    shown = [i for i, _ in expected if i != ("d" if [j for j, _ in expected].index("a") <
                                              [j for j, _ in expected].index("d") else "a")]
    by_id = {d["id"]: d for d in [*DOCS, UPDATED_C]}
    sources: dict[str, int] = {}
    for i in shown:
        sources[by_id[i]["source"]] = sources.get(by_id[i]["source"], 0) + 1
    assert result.total == len(shown)
    assert dict(result.facets["source"]) == sources
    assert sum(b.count for b in result.timeline) == sum(1 for i in shown if by_id[i]["published"])


@pytest.mark.parametrize("sort", ["relevance", "newest"])
@pytest.mark.parametrize("collapse", [True, False])
@pytest.mark.parametrize("text", ["oil", "oil prices", "energy", "election OR energy OR markets", "zebra"])
def test_facets_read_per_segment_are_the_ones_from_the_index_wide_columns(updated_index, text, collapse, sort):
    # A process's first search reads each segment's columns; from its second search on, the
    # index-wide ones (rank._columns): both count the same, dated or not ("energy": e is undated).
    fresh = searchkit.open_index(updated_index.path)
    answers = [searchkit.search(fresh, text, collapse=collapse, sort=sort, snippets=False) for _ in range(3)]
    counted = [(r.total, r.facets, r.timeline, r.span) for r in answers]
    assert counted[0] == counted[1] == counted[2]
    if not collapse:  # every match counts once: its source, and its date if it has one
        every = searchkit.search(fresh, text, limit=100, collapse=False, facets=False, snippets=False).hits
        sources: dict[str, int] = {}
        for hit in every:
            sources[hit.source] = sources.get(hit.source, 0) + 1
        assert dict(answers[0].facets["source"]) == sources
        assert sum(b.count for b in answers[0].timeline) == sum(1 for hit in every if hit.published)


def _many_docs() -> list[dict]:
    """DOCS twenty times over, with a rare word in a few and a second rare word in others:
    plain-word queries of a rare and a common word, where top-k pruning (rank._pruned)
    scores only the articles that can reach the page."""
    out = []
    for copy in range(20):
        for d in DOCS:
            body = d["body"]
            if copy in (2, 5, 11) and d["id"] in ("a", "c") or copy == 17 and d["id"] == "f":
                body += " A zebra crossed the oil field." if copy != 5 else " Zebra zebra oil."
            if copy in (3, 7) and d["id"] in ("b", "e"):
                body += " The quagga is extinct."
            out.append({**d, "id": f"{d['id']}{copy}", "cluster": f"{d['id']}{copy}", "body": body})
    return out


@pytest.fixture(scope="module")
def pruning_index(tmp_path_factory):
    ix = searchkit.open_index(tmp_path_factory.mktemp("pruning") / "index", create=True)
    ix.write([clean(Article(**d)) for d in _many_docs()])
    return ix


@pytest.fixture(scope="module")
def copies_index(tmp_path_factory):
    """_many_docs in clusters (wire copies): each article with its next copy, and the copies
    of an article with a rare word all together (so the best articles share clusters)."""
    path = tmp_path_factory.mktemp("copies") / "index"
    ix = searchkit.open_index(path, create=True)
    rare = ("zebra", "quagga")
    ix.write([clean(Article(**{**d, "cluster": d["id"][0] + next((w for w in rare if w in d["body"].lower()),
                                                                   str(int(d["id"][1:]) // 2)),
                               "source": f"{d['source']} {int(d['id'][1:]) % 3}"})) for d in _many_docs()])
    return path


@pytest.mark.parametrize("text", ["zebra oil", "oil zebra prices", "zebra energy oil markets quagga",
                                  "quagga bank", "oil prices zebra zebra"])
@pytest.mark.parametrize("limit", [1, 3, 5, 200])
def test_a_collapsed_page_scored_only_where_it_can_rank_is_the_page_of_every_match(copies_index, text, limit):
    # A process's first search ranks every match (the index's clusters are not known yet);
    # from the second on, pruning keeps only the articles that can show their cluster on the page.
    # (Without facets: with them every article of a shared cluster is scored, see rank.rank.)
    ix = searchkit.open_index(copies_index)
    every, pruned = (searchkit.search(ix, text, limit=limit, snippets=False, facets=False) for _ in range(2))
    assert ix.arrays._wide["clusters"][1].alone is False
    assert [(h.id, h.score, h.cluster_size) for h in pruned.hits] == [(h.id, h.score, h.cluster_size) for h in every.hits]
    assert pruned.total == every.total
    with_facets = searchkit.search(ix, text, limit=limit, snippets=False)
    assert [(h.id, h.score, h.cluster_size) for h in with_facets.hits] == [
        (h.id, h.score, h.cluster_size) for h in every.hits] and with_facets.total == every.total
    assert any(h.cluster_size > 1 for h in searchkit.search(ix, text, limit=200, snippets=False).hits)
    assert every.total < searchkit.search(ix, text, collapse=False, facets=False, snippets=False).total


@pytest.mark.parametrize("text", ["zebra oil", "oil zebra prices", "zebra energy oil markets quagga",
                                  "quagga bank", "oil prices zebra zebra", "oil prices energy", "energy oil"])
@pytest.mark.parametrize("limit", [1, 3, 5, 200])
def test_a_page_scored_only_where_it_can_rank_is_the_brute_force_page(pruning_index, text, limit):
    docs = _many_docs()
    with pruning_index.searcher() as searcher:
        expected = Reference(docs).ranking(text, searcher)
    result = searchkit.search(pruning_index, text, limit=limit, collapse=False, facets=False, snippets=False)
    assert [hit.id for hit in result.hits] == [i for i, _ in expected][:limit]
    for hit, (_, score) in zip(result.hits, expected):
        assert hit.score == pytest.approx(score, rel=1e-9), hit.id
    assert result.total == len(expected)
    with_facets = searchkit.search(pruning_index, text, limit=limit, collapse=False, snippets=False)
    assert [hit.id for hit in with_facets.hits] == [hit.id for hit in result.hits]
    sources = {}
    for i, _ in expected:
        name = next(d["source"] for d in docs if d["id"] == i)
        sources[name] = sources.get(name, 0) + 1
    assert {s: c for s, c in with_facets.facets["source"] if c} == sources
    # Collapsed (the web page): no two articles share a cluster, so the same page, pruned
    # too once the index's clusters are known (the second search).
    for _ in range(2):
        collapsed = searchkit.search(pruning_index, text, limit=limit, snippets=False)
        assert [(hit.id, hit.score, hit.cluster_size) for hit in collapsed.hits] == [
            (hit.id, hit.score, 1) for hit in with_facets.hits]
        assert (collapsed.total, collapsed.facets) == (with_facets.total, with_facets.facets)


@pytest.mark.parametrize("text", ["oil prices energy", "energy oil", "oil markets prices"])
@pytest.mark.parametrize("limit", [1, 3])
def test_final_scores_worked_out_in_two_rounds_give_the_brute_force_page(pruning_index, text, limit, monkeypatch):
    # rank._best works out proximity for the rows that can reach the page, in one round when
    # they are few; forced to start from the fewest rows it needs its second round.
    monkeypatch.setattr(rank, "FIRST_ROUND", 1)
    monkeypatch.setattr(rank, "ONE_ROUND", 0)
    calls = []
    bonus = rank._Proximity.bonus
    monkeypatch.setattr(rank._Proximity, "bonus", lambda self, rows: calls.append(len(rows)) or bonus(self, rows))
    with pruning_index.searcher() as searcher:
        expected = Reference(_many_docs()).ranking(text, searcher)
    result = searchkit.search(pruning_index, text, limit=limit, collapse=False, facets=False, snippets=False)
    assert [hit.id for hit in result.hits] == [i for i, _ in expected][:limit]
    for hit, (_, score) in zip(result.hits, expected):
        assert hit.score == pytest.approx(score, rel=1e-9), hit.id
    assert len(calls) == 2  # the first round (the 4 x limit best bounds, and ties) and the last


@pytest.mark.parametrize("text", ["oil prices energy", "zebra oil markets", "oil zebra prices quagga", "bank oil"])
def test_proximity_bounds_are_the_same_over_both_array_sizes_and_bound_every_match(pruning_index, text, monkeypatch):
    # rank._score_dense finds each pair's bounds through index-sized arrays (or by binary search
    # when the matches are few), _score_sparse by binary search of both lists: the same
    # numbers, 0 where a word is missing, never below the exact score.
    stems = analyzer().terms(text)
    boosts = rank.Boosts(scoring.ALL_WORDS_BOOST, scoring.SHORT_QUERY, True, scoring.USE_QTF)
    found = {}
    for mode, below, search_below in (("dense", 1e9, 1e9), ("dense-search", 1e9, 0.0), ("sparse", 0.0, 16)):
        monkeypatch.setattr(rank, "SPARSE_BELOW", below)
        monkeypatch.setattr(rank, "SEARCH_BELOW", search_below)  # 0 x matches < list: binary search
        with pruning_index.searcher() as searcher:
            m = rank._match(searcher, pruning_index.arrays, stems, boosts, None, (), None, None, None, None)
            offsets = np.array([seg.offset for seg in m.segments])
            seg_of = np.searchsorted(offsets, m.docnum, side="right") - 1
            proximity = rank._Proximity(m.query, m.segments, seg_of, m.docnum - offsets[seg_of], m.pair_bounds)
            exact = proximity.bonus(np.arange(len(m.docnum)))
        found[mode] = m
        assert len(m.pair_bounds) == len(stems) - 1 and len(m.docnum) > 0
        assert np.all(exact <= np.sum(m.pair_bounds, axis=0) * (1 + 1e-12))
        assert np.any(exact > 0)
        # and together at most their share of the words' own scores (_hopeful's cut)
        share = scoring.proximity_share(1 if len(stems) == 2 else 2)
        assert np.all(np.sum(m.pair_bounds, axis=0) <= share * m.base * (1 + 1e-12))
    dense, sparse = found["dense"], found["sparse"]
    for other in (sparse, found["dense-search"]):
        assert np.array_equal(dense.docnum, other.docnum)
        for a, b in zip(dense.pair_bounds, other.pair_bounds):
            assert np.array_equal(a, b)
    assert any(np.any(b == 0) for b in dense.pair_bounds)  # a match without both words of a pair


@pytest.mark.parametrize("text", ["oil prices energy", "energy oil"])
def test_matches_no_proximity_can_lift_to_the_page_are_counted_not_ranked(pruning_index, text):
    stems = analyzer().terms(text)
    boosts = rank.Boosts(scoring.ALL_WORDS_BOOST, scoring.SHORT_QUERY, True, scoring.USE_QTF)
    with pruning_index.searcher() as searcher:
        every = rank._match(searcher, pruning_index.arrays, stems, boosts, None, (), None, None, None, None)
        few = rank._match(searcher, pruning_index.arrays, stems, boosts, None, (), None, None, None, None, top=3)
    assert every.matched is None and few.matched is not None
    assert np.array_equal(few.matched, every.docnum)  # all counted
    assert 3 <= len(few.docnum) < len(every.docnum)  # some left out of the ranking
    left_out = ~np.isin(every.docnum, few.docnum)
    third_best = np.sort(every.base)[-3]
    limits = sum(scoring.proximity_limit(idf) for idf in every.query.pair_idf)
    share = scoring.proximity_share(1 if len(stems) == 2 else 2)
    # not even every pair at its limit, or at its share of the base score, lifts them
    assert np.all(every.base[left_out] + np.minimum(limits, share * every.base[left_out]) < third_best)
    offsets = np.array([seg.offset for seg in every.segments])
    seg_of = np.searchsorted(offsets, every.docnum, side="right") - 1
    exact = rank._Proximity(every.query, every.segments, seg_of, every.docnum - offsets[seg_of], every.pair_bounds)
    final = every.base + exact.bonus(np.arange(len(every.docnum)))
    assert np.all(final[left_out] < third_best) and np.any(final > every.base)
    kept = np.isin(every.docnum, few.docnum)
    assert np.array_equal(few.base, every.base[kept])
    for a, b in zip(few.pair_bounds, every.pair_bounds):
        assert np.array_equal(a, b[kept])


def test_an_all_words_boost_scores_the_same_over_both_array_sizes(pruning_index, monkeypatch):
    # ALL_WORDS_BOOST is 0 as shipped; a boost counts the typed words of each match
    # (index-sized arrays) or finds them by bincount (posting-sized): the same scores.
    stems = analyzer().terms("oil prices energy")
    found = {}
    for boost in (0.0, 1.0):
        for mode, below in (("dense", 1e9), ("sparse", 0.0)):
            monkeypatch.setattr(rank, "SPARSE_BELOW", below)
            with pruning_index.searcher() as searcher:
                found[boost, mode] = rank._match(searcher, pruning_index.arrays, stems,
                                                 rank.Boosts(boost, 3, True, True), None, (), None, None, None, None)
        dense, sparse = found[boost, "dense"], found[boost, "sparse"]
        assert np.array_equal(dense.docnum, sparse.docnum) and np.array_equal(dense.base, sparse.base)
    doubled = found[1.0, "dense"].base == 2 * found[0.0, "dense"].base
    assert doubled.any() and not doubled.all()  # articles with every word, and others


ANY_WORD = "oil OR energy OR election OR bank OR markets OR governor"


@pytest.mark.parametrize("source", ["Daily Planet", "Gazette", "Wire", ["Gazette", "Wire"],
                                    ["Daily Planet", "Wire"], NO_SOURCE])
def test_a_source_filter_keeps_exactly_the_live_articles_of_those_sources(updated_index, source):
    # Daily Planet is every article of the last segment (c's new version), and c's old
    # version, deleted, is one in the first: the filter reads each segment's postings.
    wanted = {source} if isinstance(source, str) else set(source)
    wanted = {"" if name == NO_SOURCE else name for name in wanted}
    live = [d for d in DOCS if d["id"] != "c"] + [UPDATED_C]
    everything = searchkit.search(updated_index, ANY_WORD, limit=100, collapse=False, facets=False, snippets=False)
    assert sorted(h.id for h in everything.hits) == sorted(d["id"] for d in live)
    result = searchkit.search(updated_index, ANY_WORD, source=source, limit=100, collapse=False, facets=False,
                              snippets=False)
    assert [h.id for h in result.hits] == [h.id for h in everything.hits if h.source in wanted]
    assert result.total == len(result.hits)


@pytest.mark.parametrize("since,until", [("2017-03-01", "2017-03-05"), ("2017-03-02", None), (None, "2017"),
                                         ("2016-12-30", "2016-12-30"), ("2018", None)])
def test_a_date_filter_keeps_exactly_the_live_articles_published_then(updated_index, since, until):
    everything = searchkit.search(updated_index, ANY_WORD, limit=100, collapse=False, facets=False, snippets=False)
    low = datetime.fromisoformat(since if len(since or "0000-") > 4 else f"{since}-01-01") if since else None
    high = None
    if until:
        high = datetime.fromisoformat(f"{until}-12-31" if len(until) == 4 else until).replace(hour=23, minute=59)
    kept = [h.id for h in everything.hits if h.published is not None
            and (low is None or h.published.replace(tzinfo=None) >= low)
            and (high is None or h.published.replace(tzinfo=None) <= high)]
    result = searchkit.search(updated_index, ANY_WORD, since=since, until=until, limit=100, collapse=False,
                              facets=False, snippets=False)
    assert [h.id for h in result.hits] == kept


@pytest.fixture(scope="module")
def spelling_index(tmp_path_factory):
    """Words a letter or two apart, some not ASCII, over three segments."""
    ix = searchkit.open_index(tmp_path_factory.mktemp("spelling") / "index", create=True)
    texts = ["The government spent more on governance and governors.",
             "Governments in Zürich and Zurich met at a café; cafés were naïve and naive.",
             "Spending budgets, spendings and budgeted spend: the budget of the government.",
             "Über alles: über, uber, überall and tuber; straße and strasse."]
    for n, text in enumerate(texts):
        ix.write([clean(Article(id=f"s{n}", title=text.split(":")[0], body=text))])
    return ix


@pytest.mark.parametrize("maxdist", [1, 2])
def test_words_within_some_edits_are_whoosh_s_over_several_segments(spelling_index, maxdist):
    from searchkit.engine.evaluate import terms_within

    with spelling_index.searcher() as searcher:
        reader = searcher.reader()
        assert not reader.is_atomic()  # Whoosh's own terms_within walks every word of the letter
        segments = [cache.segment for _, _, cache in spelling_index.arrays.segments(searcher)]
        words = ["goverment", "governmnet", "govrnment", "spendng", "budgett", "budgte", "zurich", "zürih",
                 "cafe", "cafés", "naive", "naïv", "uber", "übre", "strase", "straße", "xylophone", "go", "a"]
        found = 0
        for field in ("body", "title", "spell_body"):
            for word in words:
                expected = set(reader.terms_within(field, word, maxdist, prefix=1))
                assert terms_within(segments, field, word, maxdist, prefix=1) == expected, (field, word)
                found += len(expected)
        assert found > 20


@pytest.mark.parametrize("text,found", [("budgte~", "'budget'"), ("spendng~2 budget", "'spend'"),
                                        ("zurih~ OR cafe~", "'café'"), ("strase~ uber~", "'straße'")])
def test_fuzzy_words_expand_to_the_words_whoosh_s_reader_gives(spelling_index, text, found):
    with spelling_index.searcher() as searcher:
        words = spelling_index.arrays.words(searcher)
        assert words is not searcher.reader()  # several segments: the term dictionaries answer
        ours = parse(text, searcher.schema, reader=words)
        whoosh = parse(text, searcher.schema, reader=searcher.reader())
    assert (repr(ours.query), ours.notice) == (repr(whoosh.query), whoosh.notice)
    assert found in repr(ours.query)
    assert searchkit.search(spelling_index, text, facets=False, collapse=False).total > 0


@pytest.mark.parametrize("text", ["zurich~", "cafe~2 OR naive~", "strase~1/0", "govrn~1/2"])
def test_a_fuzzy_term_left_to_the_evaluator_expands_to_the_words_whoosh_s_reader_gives(spelling_index, text):
    from searchkit.engine.evaluate import expand

    with spelling_index.searcher() as searcher:
        words = spelling_index.arrays.words(searcher)
        fuzzy = [q for q in parse(text, searcher.schema).query.leaves() if isinstance(q, wq.FuzzyTerm)]
        assert fuzzy  # parsed without a reader, word~ is a FuzzyTerm for the evaluator to expand
        for q in fuzzy:
            ours, whoosh = expand(q, searcher.reader(), words=words), expand(q, searcher.reader())
            assert (ours.field, ours.terms) == (whoosh.field, whoosh.terms)
        assert sum(len(expand(q, searcher.reader(), words=words).terms) for q in fuzzy) > 0


def _distances_computed(run) -> int:
    """How many times run() computes Whoosh's edit distance (each is one term compared)."""
    import sys
    from whoosh.support import levenshtein

    code, calls = levenshtein.distance.__code__, [0]

    def count(frame, event, arg):
        if event == "call" and frame.f_code is code:
            calls[0] += 1

    sys.setprofile(count)
    try:
        run()
    finally:
        sys.setprofile(None)
    return calls[0]


def test_did_you_mean_a_fuzzy_word_compares_only_words_near_its_length(tmp_path):
    """`zürih~` matches nothing here; did-you-mean counts what `zurich~` finds. Over several
    segments that count looked the candidate's words up by comparing every word of the
    letter (0.84 s at 100k articles), not the few of a near length."""
    ix = searchkit.open_index(tmp_path / "index", create=True)
    far = [f"zq{chr(97 + n // 26)}{chr(97 + n % 26)}ffixlonger" for n in range(200)]  # 14 letters
    ix.write([clean(Article(id="a", title="Zurich talks", body="Banks in Zurich met. " + " ".join(far[:100])))])
    ix.write([clean(Article(id="b", title="Zurich again", body="Zurich banks. " + " ".join(far[100:])))])
    ix.write([clean(Article(id="c", title="Other news", body="Nothing near here at all."))])
    found = []
    compared = _distances_computed(lambda: found.append(searchkit.search(ix, "zürih~", facets=False, collapse=False)))
    assert (found[0].total, found[0].suggestion) == (0, "zurich~")
    assert searchkit.search(ix, "zurich~", facets=False, collapse=False).total == 2
    assert 0 < compared < 20, compared  # only the few words of a near length and letters, not the 200 far ones
