"""Run a query: ranking, filters, sort, near-duplicate collapse, facets, did-you-mean, snippets.

The library API the CLI and the web UI build on:

    result = search(index, 'isis "Bank of England" since:"last week"', sort="recency")
    result.hits          # list[Hit], one per near-duplicate cluster, best first
    result.facets        # {"source": [("BBC", 12), ...], "month": [("2017-03", 4), ...]}
    result.timeline      # list[TimelineBucket]: every day/month/year from first to last match
    result.suggestion    # "government spending" when "goverment spending" found few results

Near-duplicates (syndicated copies, stored field `cluster`) are shown once: the best
article of a cluster stands for it and `Hit.cluster_size` counts the matching articles
in the cluster (1 when it has no copies among the matches).
"""

from __future__ import annotations

import difflib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from .analysis import analyze
from .article import derived_title
from .dates import since_until
from .display import shown
from .errors import SearchkitError
from .engine import scoring as ranking_formulas
from .engine import tree as wq
from .engine.container import Searcher
from .engine.evaluate import Expansion
from .engine.scoring import RECENCY_POOL, CorpusStats
from .query import ParsedQuery, QueryError, date_range, parse
from .snippets import STORED_SENTENCES, Fragment, Marks, render_html
from .store import Index, _aware
from .suggest import suggest

if TYPE_CHECKING:
    from .engine.rank import Recount

SORTS = ("relevance", "newest", "oldest", "recency")
NO_SOURCE = "(no source)"  # the source facet's row, and filter value, for articles without one
# Results per page a caller may ask for: an evaluation reads 1,000 per query (TREC depth).
# A larger limit or page is lowered to these, and the result's notice says so.
MAX_LIMIT = 1_000
MAX_PAGE = 1_000
# Did-you-mean is offered when a query finds fewer results than this.
SUGGEST_BELOW = 3
# What one query may cost (the CLI and the web UI use these defaults): TIME_BUDGET seconds,
# after which it returns what it found with timed_out set; and MAX_EXPANSIONS index words for
# each wildcard, prefix or range (Elasticsearch's max_expansions). The notice says when either
# applied. Fuzzy words have their own caps (query.MAX_EDITS, query.MAX_FUZZY_WORDS).
TIME_BUDGET = 3.0
MAX_EXPANSIONS = 50
TIMED_OUT = "the search took too long: showing what it found in its first {seconds:.1f} s"
BUSY = "the server is busy with other slow searches (wildcards, fuzzy words): try again in a moment"


@dataclass
class Hit:
    """One ranked result: an article, its score and its highlighted title and snippet.

    `cluster` is the near-duplicate cluster the article stands for; `cluster_size` is how
    many matching articles that cluster has (itself included), so 1 means no copies.
    """

    rank: int
    id: str
    url: str
    title: str
    source: str
    author: str
    published: datetime | None
    score: float
    fragments: list[Fragment] = field(default_factory=list)
    title_fragments: list[Fragment] = field(default_factory=list)
    cluster: str = ""
    cluster_size: int = 1

    @property
    def snippet(self) -> str:
        """The snippet as HTML: matches in <mark>, everything else escaped."""
        return render_html(self.fragments)

    @property
    def title_html(self) -> str:
        """The title as HTML with matching words in <mark>."""
        return render_html(self.title_fragments or [(self.title, False)])

    def to_dict(self) -> dict:
        return {
            "rank": self.rank, "id": self.id, "url": self.url, "title": self.title,
            "source": self.source, "author": self.author,
            "published": self.published.isoformat() if self.published else None,
            "score": round(self.score, 4), "snippet": self.snippet,
            "cluster": self.cluster, "cluster_size": self.cluster_size,
        }


@dataclass
class TimelineBucket:
    """How many matches were published in [start, end): one day, month or year."""

    label: str
    start: datetime
    end: datetime
    count: int

    def to_dict(self) -> dict:
        return {"label": self.label, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "count": self.count}


@dataclass
class SearchResult:
    """A page of hits for a query, with the total, facets, timeline and any notice/suggestion.

    `facets` maps "source" to (source, count) pairs, most common first, and one of "day",
    "month" or "year" (whichever suits the matches' date range) to (label, count) pairs in
    date order. `timeline` has a bucket for every day/month/year from the first match to
    the last, empty ones included. Counts are of results as shown (a cluster counts once).
    """

    query: str
    hits: list[Hit]
    total: int
    page: int
    limit: int
    elapsed_ms: float
    notice: str = ""
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    timeline: list[TimelineBucket] = field(default_factory=list)
    suggestion: str | None = None
    sort: str = "relevance"
    timed_out: bool = False  # the deadline passed: the results are what was found by then
    capped: list[Expansion] = field(default_factory=list)  # wildcards cut at max_expansions
    # The first and last publication moments among the counted matches (what the timeline's
    # unit was chosen from), so that the timelines of several shards merge exactly.
    span: tuple[datetime, datetime] | None = None
    # A sharded index's search that some shards could not answer: their names (shards.py).
    partial: bool = False
    missing: list[str] = field(default_factory=list)
    corrected_from: str | None = None  # the query as typed, which found nothing: these are `query`'s
    # With since/until arguments: the timeline of the same search without them (the query's own
    # since: and the source filter kept), so a chart of a narrowed search keeps the periods
    # around the chosen ones. Empty without since/until: `timeline` is then the whole of it.
    timeline_around: list[TimelineBucket] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.limit))

    def to_dict(self) -> dict:
        return {
            "query": self.query, "total": self.total, "page": self.page, "limit": self.limit,
            "pages": self.pages, "sort": self.sort, "elapsed_ms": round(self.elapsed_ms, 1),
            "notice": self.notice, "suggestion": self.suggestion, "timed_out": self.timed_out,
            "corrected_from": self.corrected_from,
            "facets": {name: [[key, count] for key, count in pairs] for name, pairs in self.facets.items()},
            "timeline": [b.to_dict() for b in self.timeline],
            **({"timeline_around": [b.to_dict() for b in self.timeline_around]} if self.timeline_around else {}),
            "hits": [h.to_dict() for h in self.hits],
            **({"partial": True, "missing": list(self.missing)} if self.partial else {}),
        }


def filter_query(since: str | datetime | None = None, until: str | datetime | None = None,
                 source: str | None = None, now: datetime | None = None) -> wq.Query | None:
    """The Whoosh filter for a date range and a source; None when there is nothing to filter.

    Dates may be anything dates.parse_span reads ("2017", "2017-03-05", "last week", ...);
    a bad one raises dates.DateError (a ValueError) saying which forms work. `source` is a
    name as stored: match_sources reads names as people type them, several, or none.
    """
    parts: list[wq.Query] = []
    start, end = since_until(since, until, now)
    if start or end:
        parts.append(date_range(start, end))
    if source:
        parts.append(wq.Term("source_key", shown(source).strip()))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else wq.And(parts)


@dataclass
class SourceMatch:
    """Sources as a person typed them, matched to the names the index stores: `names` (and
    NO_SOURCE) to filter on, the stored names of every source, and what matched none."""

    names: list[str]
    stored: list[str]
    unknown: list[str]
    notice: str = ""

    def query(self) -> wq.Query:
        """Articles from any of the matched sources (nothing when none matched)."""
        parts: list[wq.Query] = [wq.Term("source_key", n) for n in self.names if n != NO_SOURCE]
        if NO_SOURCE in self.names:  # no source: none of the stored ones
            parts.append(wq.Not(wq.Or([wq.Term("source_key", n) for n in self.stored])) if self.stored
                         else wq.Every())
        if not parts:
            return wq.NullQuery
        return parts[0] if len(parts) == 1 else wq.Or(parts)


def _source_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def match_sources(searcher: Searcher, wanted: Sequence[str]) -> SourceMatch:
    """Match typed sources to stored ones, ignoring case and extra spaces ("global voices"
    finds "Global Voices"; NO_SOURCE stands for articles without one); each that matches
    none is named in the notice, with the closest stored names when some are close."""
    stored = list(searcher.reader().field_terms("source_key"))
    by_key: dict[str, list[str]] = {}
    for name in stored:
        by_key.setdefault(_source_key(name), []).append(name)
    names, unknown = [], []
    for typed in dict.fromkeys(" ".join(w.split()) for w in wanted if w and w.strip()):
        if _source_key(typed) == _source_key(NO_SOURCE):
            names.append(NO_SOURCE)
        elif _source_key(typed) in by_key:
            names.extend(by_key[_source_key(typed)])
        else:
            unknown.append(typed)
    notices = []
    for typed in unknown:
        close = difflib.get_close_matches(_source_key(typed), list(by_key), n=3, cutoff=0.6)
        hint = (f": did you mean {' or '.join(by_key[c][0] for c in close)}?" if close
                else f" (this archive has {len(by_key):,} sources)")
        notices.append(f"no source is called {typed!r}{hint}")
    return SourceMatch(names, stored, unknown, "; ".join(notices))


def _sources_filter(searcher: Searcher, source: str | Sequence[str] | None
                    ) -> tuple[wq.Query | None, SourceMatch | None]:
    if not source:
        return None, None
    match = match_sources(searcher, [source] if isinstance(source, str) else source)
    return match.query(), match


def _with_no_source(pairs: list[tuple[str, int]], total: int) -> list[tuple[str, int]]:
    """The source facet with a last row counting the results that have no source (NO_SOURCE)."""
    named = [(key, count) for key, count in pairs if key and key != NO_SOURCE]
    missing = total - sum(count for _, count in named)
    return named + [(NO_SOURCE, missing)] if missing > 0 else named


def _combine(parts: list[wq.Query | None]) -> wq.Query | None:
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else wq.And(parts)


def _granularity(first: datetime, last: datetime) -> str:
    span = last - first
    if span <= timedelta(days=62):
        return "day"
    if span <= timedelta(days=6 * 366):
        return "month"
    return "year"


def _bucket_number(moment: datetime, unit: str) -> int:
    """The day, month or year of `moment` (its own wall clock) as one increasing number."""
    if unit == "day":
        return moment.toordinal()
    if unit == "month":
        return moment.year * 12 + moment.month - 1
    return moment.year


def _bucket_start(number: int, unit: str, zone) -> datetime:
    """The start of the day, month or year numbered `number` (_bucket_number) in `zone`."""
    if unit == "day":
        day = date.fromordinal(number)
        return datetime(day.year, day.month, day.day, tzinfo=zone)
    if unit == "month":
        return datetime(number // 12, number % 12 + 1, 1, tzinfo=zone)
    return datetime(number, 1, 1, tzinfo=zone)


def _label(start: datetime, unit: str) -> str:
    if start.year < 1000:  # as strftime writes it (the platform's own way: "%Y" need not pad)
        return start.strftime({"day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}[unit])
    if unit == "day":  # %-formatting: about twice as fast as an f-string with format specs here
        return "%d-%02d-%02d" % (start.year, start.month, start.day)
    return "%d-%02d" % (start.year, start.month) if unit == "month" else "%d" % start.year


def timeline(dates: dict[datetime, int]) -> tuple[str, list[TimelineBucket]]:
    """Bucket publication dates (UTC) by day, month or year, whichever suits their range.

    Returns the unit and a bucket for every unit from the first date to the last.
    """
    if not dates:
        return "month", []
    return timeline_between(dates, min(dates), max(dates))


def timeline_between(dates: dict[datetime, int], first: datetime, last: datetime
                     ) -> tuple[str, list[TimelineBucket]]:
    """timeline() over the range first..last, which `dates` may only approximate (a sharded
    index merges its shards' buckets, whose starts are not the first and last dates).
    Buckets follow first's time zone (a date in another is counted as it reads there, a
    date without one as if in it); bucket starts are made from numbers (_bucket_number),
    not by datetime arithmetic: a search page makes dozens of them per timeline."""
    unit = _granularity(first, last)
    zone = first.tzinfo
    counts: dict[int, int] = {}
    for moment, count in dates.items():
        if moment.tzinfo is not zone and moment.tzinfo is not None and zone is not None:
            moment = moment.astimezone(zone)
        key = _bucket_number(moment, unit)
        counts[key] = counts.get(key, 0) + count
    numbers = range(_bucket_number(first, unit), _bucket_number(last, unit) + 1)
    starts = [_bucket_start(number, unit, zone) for number in range(numbers.start, numbers.stop + 1)]
    return unit, [TimelineBucket(_label(start, unit), start, end, counts.get(number, 0))
                  for number, start, end in zip(numbers, starts, starts[1:])]


def _facet_lists(sources: dict[str, int], dates: dict[datetime, int], span: tuple[datetime, datetime] | None
                 ) -> tuple[dict[str, list[tuple[str, int]]], list[TimelineBucket]]:
    """Facets and timeline from counts per source and per publication moment (naive UTC,
    as the engine counts them: rank.Ranking.dates) whose first and last are `span` (UTC)."""
    unit, buckets = timeline_between(dates, *span) if span else ("month", [])
    facets = {"source": sorted(((shown(k), v) for k, v in sources.items() if k), key=lambda kv: (-kv[1], kv[0]))}
    facets[unit] = [(b.label, b.count) for b in buckets if b.count]
    return facets, buckets


def _recency_rerank(searcher: Searcher, docs: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Blend relevance with freshness (see RECENCY_WEIGHT): newer articles move up."""
    dated = {}
    for docnum, _ in docs:
        moment = searcher.stored_fields(docnum).get("published")
        if moment:
            dated[docnum] = moment
    if not dated:
        return docs
    newest = max(dated.values())
    rescored = []
    for docnum, score in docs:
        factor = 1.0
        if docnum in dated:
            factor = ranking_formulas.recency_factor(newest - dated[docnum])
        rescored.append((docnum, score * factor))
    return sorted(rescored, key=lambda pair: -pair[1])


def make_hit(searcher: Searcher, docnum: int, score: float, rank: int, parsed: ParsedQuery | None,
             snippet_chars: int = 300, cluster_size: int = 1, snippets: bool = True,
             fields: dict | None = None, marks: Marks | None = None) -> Hit:
    """The Hit for a document: stored fields (`fields` when already read) plus highlighted
    title and snippet, as shown (display.shown: no bidi controls). `marks` is what `parsed`
    marks (snippets.Marks), when the caller makes several hits of one query."""
    if fields is None:
        fields = searcher.stored_fields(docnum)
    if not snippets:
        parsed = marks = None
    if marks is None:
        marks = Marks(parsed.stems, parsed.phrases) if parsed else Marks(set())
    body = shown(fields.get("body") or "")
    title = shown(fields.get("title") or "") or derived_title(body)
    return Hit(
        rank=rank, id=fields["id"], url=fields.get("url") or "", title=title,
        source=shown(fields.get("source") or ""), author=shown(fields.get("author") or ""),
        published=_aware(fields.get("published")), score=float(score),
        fragments=marks.snippet(body, snippet_chars, fields.get(STORED_SENTENCES)) if snippets else [],
        title_fragments=marks.highlight(title),
        cluster=fields.get("cluster") or fields["id"], cluster_size=cluster_size,
    )


def search(index: Index, text: str, *, limit: int = 10, page: int = 1, sort: str = "relevance",
           since: str | datetime | None = None, until: str | datetime | None = None,
           source: str | Sequence[str] | None = None, snippet_chars: int = 300, facets: bool = True,
           collapse: bool = True, snippets: bool = True, now: datetime | None = None,
           stats: CorpusStats | None = None, deadline: float | None = None,
           max_expansions: int | None = MAX_EXPANSIONS, time_budget: float | None = TIME_BUDGET,
           slow_slots: threading.Semaphore | None = None, correct: bool = True,
           feedback: bool | dict[str, float] = True, suggest: bool = True) -> SearchResult:
    """Ranked, highlighted results for `text` in the query language (see query.py).

    When `text` finds nothing and a spelling correction of it (suggest.py) finds something,
    the result is the correction's, with `corrected_from` the text as typed ("Showing
    results for government; search instead for goverment"); correct=False searches as typed.
    suggest=False offers no did-you-mean either (a shard's part of a sharded index's search,
    which suggests from every shard's counts).

    sort: "relevance" (BM25F with phrase and all-words boosts), "newest", "oldest", or
    "recency" (relevance blended with freshness, see RECENCY_WEIGHT). since/until filter like
    the query's own since:/until: (dates as dates.parse_span reads them, relative to `now`);
    source is one or more sources, any of them, matched as match_sources does (a name that
    matches none is said in the notice). The source facet counts every source as if none
    were chosen, and NO_SOURCE counts the results without one. facets=False skips facet and timeline counting; collapse=False
    shows every near-duplicate; snippets=False leaves hits without snippets (for evaluation). Raises QueryError for a query with nothing to search for and
    ValueError for a bad date or sort; any other text is a valid query.

    `stats` scores with other collection statistics than the index's own: those of all
    the shards of a sharded index (engine.collect_stats on each, summed), so every shard
    scores as the whole collection would. `deadline` (time.monotonic() seconds): past it,
    the terms not yet read match nothing and the result says timed_out. `max_expansions`
    caps how many index terms a wildcard, prefix or range stands for (result.capped lists
    the ones cut). `time_budget` seconds sets the deadline when none is given (None: no limit).

    An expensive query (query.ParsedQuery.expensive: wildcards, fuzzy words, many terms) runs
    only once it holds one of `slow_slots` (a semaphore a server's threads share, so a few
    slow searches cannot take every thread from cheap ones), waiting until its deadline at
    most; then it returns no hits, timed_out and a notice that the server is busy.
    feedback=False skips the pseudo-relevance feedback pass of plain words (see
    scoring.FEEDBACK_DOCS); a dict is that pass's outcome already made (feedback_query: a
    sharded index makes it from every shard's first pass, feedback_documents).
    """
    sharded = getattr(index, "search_shards", None)  # a shards.ShardedIndex searches its shards
    if sharded is not None:
        return sharded(text, limit=limit, page=page, sort=sort, since=since, until=until, source=source,
                       snippet_chars=snippet_chars, facets=facets, collapse=collapse, snippets=snippets,
                       now=now, deadline=deadline, max_expansions=max_expansions, correct=correct)
    started = time.perf_counter()
    if deadline is None and time_budget is not None:
        deadline = time.monotonic() + time_budget
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}: use one of {', '.join(SORTS)}")
    capped = [f"{name} {int(value)} is more than {high}: showing {name} {high}"
              for name, value, high in (("limit", limit, MAX_LIMIT), ("page", page, MAX_PAGE)) if int(value) > high]
    limit = max(1, min(int(limit), MAX_LIMIT))
    page = max(1, min(int(page), MAX_PAGE))
    dates = filter_query(since, until, None, now)
    with index.searcher() as searcher:
        parsed = parse(text, searcher.schema, now=now,
                       reader=index.arrays.words(searcher) if "~" in text else searcher.reader())
        unfiltered = _combine([dates, *parsed.filters])
        source_flt, sources = _sources_filter(searcher, source)
        flt = _combine([unfiltered, source_flt])
        wanted = page * limit
        gate = slow_slots if parsed.expensive else None
        if gate is not None and not gate.acquire(timeout=None if deadline is None else
                                                 max(0.0, deadline - time.monotonic())):
            return SearchResult(text, [], 0, page, limit, (time.perf_counter() - started) * 1000,
                                _notice(BUSY, parsed.notice), sort=sort, timed_out=True)
        # Counted around the chosen sources and dates, with the same query: every source's
        # count as if no source were chosen (a reader can add another), and the timeline
        # over all dates (a chart that shows what lies around the chosen ones).
        source_around = facets and sources is not None
        dates_around = facets and dates is not None
        from .engine.rank import Recount

        recount = ([Recount(unfiltered, dates=False)] * source_around +
                   [Recount(_combine([*parsed.filters, source_flt]))] * dates_around)
        try:
            ranked = rank_with_arrays(index, searcher, parsed, flt, sort, wanted, collapse, facets, stats,
                                      deadline, max_expansions, feedback, page_from=(page - 1) * limit,
                                      recount=recount)
            if facets:
                ranked.facets["source"] = _with_no_source(ranked.facets.get("source", []), ranked.total)
            if source_around:
                around = ranked.recounts[0]
                ranked.facets["source"] = _with_no_source(around.facets.get("source", []), around.total)
            timeline_around = []
            if dates_around and not ranked.timed_out:
                timeline_around = ranked.recounts[-1].timeline
        finally:
            if gate is not None:
                gate.release()
        marks = Marks(parsed.stems, parsed.phrases)
        hits = [make_hit(searcher, docnum, score, rank, parsed, snippet_chars, snippets=snippets,
                         fields=ranked.stored.get(docnum), marks=marks)
                for rank, (docnum, score) in enumerate(ranked.docs[(page - 1) * limit:wanted], (page - 1) * limit + 1)]
        if collapse:
            for hit, (docnum, _) in zip(hits, ranked.docs[(page - 1) * limit:wanted]):
                hit.cluster_size = ranked.sizes_by_docnum.get(docnum, 1)
        suggestion = confident = None
        if correct and not ranked.total and not ranked.timed_out:
            # Shown at once only when every corrected word is one edit away ("goverment").
            confident = _better_query(index, searcher, text, ranked.total, now, max_edits=1)
        if suggest and ranked.total < SUGGEST_BELOW and not ranked.timed_out and not confident:
            suggestion = _better_query(index, searcher, text, ranked.total, now)
    capped_expansions = _distinct(ranked.capped)
    notice = _notice(TIMED_OUT.format(seconds=time.perf_counter() - started) if ranked.timed_out else "",
                     *(f"{_shown(cut.pattern)} stands for more than {max_expansions} words: searched the "
                       f"first {max_expansions}" for cut in capped_expansions), parsed.notice, *capped,
                     sources.notice if sources else "")
    result = SearchResult(text, hits, ranked.total, page, limit, (time.perf_counter() - started) * 1000,
                          notice, ranked.facets, ranked.timeline, suggestion, sort,
                          ranked.timed_out, capped_expansions, ranked.span, timeline_around=timeline_around)
    if confident:
        corrected = search(index, confident, limit=limit, page=page, sort=sort, since=since, until=until,
                           source=source, snippet_chars=snippet_chars, facets=facets, collapse=collapse,
                           snippets=snippets, now=now, stats=stats, deadline=deadline,
                           max_expansions=max_expansions, time_budget=time_budget, slow_slots=slow_slots,
                           correct=False)
        if corrected.total:  # with the filters too: otherwise "did you mean" stays a suggestion
            corrected.corrected_from, corrected.suggestion = text, None
            return corrected
        result.suggestion = confident
    return result

def _distinct(expansions: list[Expansion]) -> list[Expansion]:
    """Each capped expansion once (a title:e* qualifier is both a filter and ranked)."""
    return list({(e.field, e.pattern): e for e in expansions}.values())


def matching_ids(index: Index, text: str) -> list[str]:
    """Every article `text` matches (near-duplicates too), best first: what an export of a
    query's matches writes, a page of MAX_LIMIT at a time, never silently cut."""
    ids: list[str] = []
    for page in range(1, MAX_PAGE + 1):
        result = search(index, text, limit=MAX_LIMIT, page=page, facets=False, collapse=False, snippets=False)
        ids.extend(hit.id for hit in result.hits)
        if len(ids) >= result.total or not result.hits:
            break
    return ids


def _shown(pattern: str) -> str:
    """An expanded pattern as typed: a prefix gets back its "*"."""
    return pattern if any(c in pattern for c in "*?[{~ ") else pattern + "*"


def _notice(*parts: str) -> str:
    """One line for the user: the parts that say something, each once."""
    return "; ".join(dict.fromkeys(part for part in parts if part))


@dataclass
class Ranked:
    """A query's ranked results before hits are made: the first `wanted` (docnum, score),
    best first, the total shown, facets and timeline, and each listed docnum's cluster size."""

    docs: list[tuple[int, float]]
    total: int
    facets: dict[str, list[tuple[str, int]]]
    timeline: list[TimelineBucket]
    sizes_by_docnum: dict[int, int] = field(default_factory=dict)
    timed_out: bool = False
    capped: list[Expansion] = field(default_factory=list)
    span: tuple[datetime, datetime] | None = None  # first and last publication counted
    stored: dict[int, dict] = field(default_factory=dict)  # stored fields of the page, by docnum
    recounts: list[Ranked] = field(default_factory=list)  # rank_with_arrays(recount=): no docs, counts only


def rank_with_arrays(index: Index, searcher: Searcher, parsed: ParsedQuery, flt: wq.Query | None,
                     sort: str, wanted: int, collapse: bool, facets: bool,
                     stats: CorpusStats | None = None, deadline: float | None = None,
                     max_expansions: int | None = None, feedback: bool | dict[str, float] = True,
                     page_from: int | None = None, recount: Sequence[Recount] = ()) -> Ranked:
    """Any query ranked over all its matches at once, as arrays (engine/rank.py):
    plain words and exact phrases by their own fast paths, everything else by the
    evaluator of engine/evaluate.py. Plain words of FEEDBACK_MIN_WORDS or more get a
    pseudo-relevance feedback pass first (scoring.feedback_weights) unless feedback=False;
    a dict `feedback` is the weights that pass gives, made elsewhere. With `page_from`, the stored fields of the results [page_from:wanted) come along
    (Ranked.stored), read straight from their segments. Each engine.rank.Recount of `recount`
    gives a Ranked of its own in Ranked.recounts: the total, facets and timeline of the same
    query through its filter instead (as wanted=0 and feedback=False give them), counted
    from the same evaluation where it can be (engine rank(recount=))."""
    from .engine import rank as ranking

    words, fields, tree = _query_form(parsed)
    boosts = _boosts()
    stop = max(wanted, RECENCY_POOL) if sort == "recency" and wanted else wanted
    weights = None
    if isinstance(feedback, dict):
        weights = feedback or None
    elif feedback and feedback_words(parsed, sort):
        documents = _feedback_documents(index, searcher, words, boosts, flt, stats, deadline)
        weights = feedback_query(words, documents, feedback_stats(searcher, documents))
    ranked = ranking.rank(searcher, index.arrays, words, boosts, flt=flt,
                          sort="relevance" if sort == "recency" else sort, start=0, stop=stop,
                          collapse=collapse, facets=facets, granularity=_granularity,
                          phrase_fields=fields, stats=stats, tree=tree, deadline=deadline,
                          max_expansions=max_expansions, weights=weights,
                          stored=(page_from, wanted) if page_from is not None and sort != "recency" else None,
                          recount=tuple(recount))
    docs = ranked.docs
    if sort == "recency":
        docs = _recency_rerank(searcher, docs)
    return _ranked(ranked, docs, facets, [_ranked(other, [], True) for other in ranked.recounts])


def _ranked(ranked, docs: list[tuple[int, float]], facets: bool, recounts: list[Ranked] | None = None) -> Ranked:
    """The Ranked of an engine ranking (rank.Ranking) showing `docs`: its facet counts as lists."""
    facet_counts, buckets, span = ({}, [], None)
    if facets:
        dates = ranked.dates
        span = (_aware(min(dates)), _aware(max(dates))) if dates else None
        facet_counts, buckets = _facet_lists(ranked.sources, dates, span)
    return Ranked(docs, ranked.total, facet_counts, buckets, sizes_by_docnum=ranked.cluster_sizes,
                  timed_out=ranked.timed_out, capped=ranked.capped, span=span, stored=ranked.stored,
                  recounts=recounts or [])


def _boosts():
    from .engine import rank as ranking

    f = ranking_formulas
    return ranking.Boosts(f.ALL_WORDS_BOOST, f.SHORT_QUERY, f.PROXIMITY, f.USE_QTF)


def feedback_words(parsed: ParsedQuery, sort: str) -> list[str] | None:
    """The plain words (stems) a pseudo-relevance feedback pass expands for this query and
    sort, or None when it gets none (fields or phrases, a date sort, too few words)."""
    words, fields, _ = _query_form(parsed)
    if (words and not fields and sort in ("relevance", "recency")
            and len(set(words)) >= ranking_formulas.FEEDBACK_MIN_WORDS):
        return words
    return None


def feedback_query(words: list[str], documents: list[tuple[float, dict[str, int]]],
                   stats: CorpusStats | None = None) -> dict[str, float]:
    """RM3's query from the typed words and their first pass's best articles (documents, best
    first: (score, {stem: count})); `stats` holds the document frequencies of their stems
    (feedback_stats), which leave the collection's most common stems out."""
    typed: dict[str, float] = {}
    for stem in words:
        typed[stem] = typed.get(stem, 0.0) + 1.0
    return ranking_formulas.feedback_weights(typed, documents, stats=stats)


def feedback_terms(documents: list[tuple[float, dict[str, int]]]) -> list[tuple[str, str]]:
    """The (field, stem)s whose document frequencies feedback_query needs."""
    stems = sorted({stem for _, counts in documents for stem in counts})
    return [(name, stem) for stem in stems for name in ranking_formulas.SEARCH_FIELDS]


def feedback_stats(searcher: Searcher, documents: list[tuple[float, dict[str, int]]]) -> CorpusStats | None:
    """This index's document frequencies of the feedback articles' stems (None without any)."""
    if not documents or ranking_formulas.FEEDBACK_MAX_DF >= 1.0:
        return None
    from .engine.stats import stats_for_terms

    return stats_for_terms(searcher, feedback_terms(documents))


def feedback_documents(index: Index, text: str, *, sort: str = "relevance", since: str | datetime | None = None,
                       until: str | datetime | None = None, source: str | Sequence[str] | None = None,
                       now: datetime | None = None, stats: CorpusStats | None = None
                       ) -> list[tuple[float, dict[str, int]]]:
    """The first pass of search()'s feedback on this index alone, with the same filters:
    its best articles as (score, {stem: count}), best first; [] when `text` gets no feedback
    pass. A sharded index takes the best of every shard's (scored with the collection's
    `stats`), which are the collection's best, and gives the shards feedback_query's weights."""
    with index.searcher() as searcher:
        parsed = parse(text, searcher.schema, now=now, reader=index.arrays.words(searcher))
        words = feedback_words(parsed, sort)
        if not words:
            return []
        source_flt, _ = _sources_filter(searcher, source)
        flt = _combine([_combine([filter_query(since, until, None, now), *parsed.filters]), source_flt])
        return _feedback_documents(index, searcher, words, _boosts(), flt, stats, None)


def _feedback_documents(index: Index, searcher: Searcher, words: list[str], boosts, flt: wq.Query | None,
                        stats: CorpusStats | None, deadline: float | None) -> list[tuple[float, dict[str, int]]]:
    """RM3's first pass: the words' best articles (one per near-duplicate cluster, so a
    syndicated story counts once) read back and analysed into stem counts."""
    from .engine import rank as ranking

    first = ranking.rank(searcher, index.arrays, words, boosts, flt=flt, sort="relevance", start=0,
                         stop=ranking_formulas.FEEDBACK_DOCS, collapse=True, facets=False, stats=stats,
                         deadline=deadline)
    documents = []
    for docnum, score in first.docs:
        stored = searcher.stored_fields(docnum)
        counts: dict[str, int] = {}
        for stem in analyze(stored.get("title") or "") + analyze(stored.get("body") or ""):
            counts[stem] = counts.get(stem, 0) + 1
        documents.append((score, counts))
    return documents


MAX_COPIES = 20


def highlight_terms(index: Index, text: str) -> tuple[set[str], list]:
    """(stems, phrases) of `text` to highlight in an article (snippets.highlight takes
    them); raises QueryError for a query with nothing to search for."""
    if getattr(index, "sharded", False):
        from .engine.schema import build_schema

        parsed = parse(text, build_schema())
        return parsed.stems, parsed.phrases
    with index.searcher() as searcher:
        parsed = parse(text, searcher.schema)
    return parsed.stems, parsed.phrases


def cluster_copies(index: Index, hits: list[Hit], text: str, since: str | datetime | None = None,
                   until: str | datetime | None = None, source: str | Sequence[str] | None = None,
                   limit: int = MAX_COPIES, now: datetime | None = None,
                   time_budget: float | None = TIME_BUDGET) -> dict[str, list[Hit]]:
    """For each hit with copies (cluster_size > 1): hit id -> the other articles of its
    cluster that match `text` and the since/until/source filters, newest first, highlighted;
    at most `limit` each. One evaluation of the query for the whole page."""
    from .engine import rank as ranking

    copies: dict[str, list[Hit]] = {}
    clustered = [h for h in hits if h.cluster_size > 1 and h.cluster]
    if not clustered:
        return copies
    if getattr(index, "sharded", False):  # a cluster's copies all live on its shard (shards.py)
        for shard, group in index.group_by_cluster_shard(clustered).items():
            try:
                copies.update(cluster_copies(index.shard(shard), group, text, since, until, source, limit, now))
            except SearchkitError:
                continue  # a shard this process cannot read: the hit shows without its copies
        return copies
    flt = filter_query(since, until, None, now)
    with index.searcher() as searcher:
        try:
            parsed = parse(text, searcher.schema, now=now, reader=index.arrays.words(searcher))
        except QueryError:
            return copies
        words, fields, tree = _query_form(parsed)
        source_flt, _ = _sources_filter(searcher, source)
        members = ranking.cluster_members(searcher, index.arrays, words,
                                          flt=_combine([flt, source_flt, *parsed.filters]),
                                          clusters=[h.cluster for h in clustered], limit=limit + 1,
                                          phrase_fields=fields, tree=tree, max_expansions=MAX_EXPANSIONS,
                                          deadline=None if time_budget is None else time.monotonic() + time_budget)
        for hit in clustered:
            docs = [d for d in members.get(hit.cluster, []) if searcher.stored_fields(d)["id"] != hit.id][:limit]
            if docs:
                copies[hit.id] = [make_hit(searcher, d, 0.0, rank, parsed) for rank, d in enumerate(docs, 1)]
    return copies


def _query_form(parsed: ParsedQuery) -> tuple[list[str] | None, tuple[str, ...], wq.Query | None]:
    """(plain words, ()), (a phrase's words, its fields) or (None, (), the query tree): the
    three ways ranking.rank evaluates a query."""
    from .engine import rank as ranking

    if parsed.words:
        return parsed.words, (), None
    found = ranking.phrase_of(parsed.query)
    if found is None:
        return None, (), parsed.query
    return found[0], found[1], None


def _better_query(index: Index, searcher: Searcher, text: str, total: int, now: datetime | None,
                  max_edits: int = 2) -> str | None:
    """A corrected query that finds more results than `text` did, or None."""
    words = index.arrays.words(searcher)

    def within(field: str, word: str, maxdist: int) -> set[str]:
        return set(words.terms_within(field, word, maxdist, prefix=1))

    candidate = suggest(searcher, text, max_edits, within)
    if not candidate or candidate == text:
        return None
    try:
        parsed = parse(candidate, searcher.schema, now=now, reader=words)
        found = rank_with_arrays(index, searcher, parsed, None, "relevance", 0, False, False).total
    except QueryError:
        return None
    return candidate if found > total else None


__all__ = ["Hit", "SearchResult", "cluster_copies", "highlight_terms", "TimelineBucket", "search", "matching_ids",
           "filter_query",
           "make_hit", "timeline", "rank_with_arrays", "Ranked", "QueryError", "SORTS",
           "match_sources", "SourceMatch", "NO_SOURCE", "feedback_documents", "feedback_query", "feedback_words"]
