"""The search parameters of a page or API request: read, checked, and turned back into links.

The page, the Atom feed and /api/search read the same parameters the same way, so a link
copied from one works in the others. Bad values never fail a request: each falls back to its
default and adds a one-line problem the page shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Mapping

from searchkit.dates import DATE_HELP, DateError, parse_span
from searchkit.search import SORTS

MAX_QUERY = 1_000
MAX_PAGE = 1_000
MAX_LIMIT = 100
MAX_SOURCES = 50  # source= arguments read from one request
SORT_LABELS = {"relevance": "Best match", "newest": "Newest first", "oldest": "Oldest first",
               "recency": "Relevant and recent"}


@dataclass(frozen=True)
class Chip:
    """An active filter shown on the page, with the parameters that remove it."""

    label: str
    remove: dict[str, str]
    kind: str = "filter"  # "filter" narrows the results, "sort" only orders them


@dataclass(frozen=True)
class SearchParams:
    """What a search request asks for. Dates are as people type them ("2017-03-05", "2017-03",
    "last week"; "" for none): `until` includes the whole day, month or year it names."""

    q: str = ""
    page: int = 1
    sort: str = "relevance"
    since: str = ""
    until: str = ""
    source: tuple[str, ...] = ()  # any of these sources (source=A&source=B)
    limit: int = 10
    as_typed: bool = False  # no automatic spelling correction (the "search instead for" link)
    problems: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> "SearchParams":
        """Read request arguments; a bad value falls back to the default with a problem noted."""
        problems: list[str] = []
        sort = args.get("sort") or "relevance"
        if sort not in SORTS:
            problems.append(f"unknown sort {sort!r}: showing the best matches first")
            sort = "relevance"
        since = _date_arg(args, "since", problems)
        until = _date_arg(args, "until", problems)
        if since and until and parse_span(since).start >= parse_span(until).end:
            problems.append(f"the date range {since} to {until} ends before it starts: swapped them")
            since, until = until, since
        return cls(
            q=" ".join((args.get("q") or "")[:MAX_QUERY].split()),
            page=_int_arg(args, "page", 1, MAX_PAGE, problems),
            sort=sort,
            since=since,
            until=until,
            source=_sources_arg(args),
            limit=_int_arg(args, "limit", 10, MAX_LIMIT, problems),
            as_typed=(args.get("as_typed") or "") in ("1", "true", "yes", "on"),
            problems=tuple(problems),
        )

    def args(self, **changes: object) -> dict[str, str]:
        """URL arguments for these parameters with `changes`, leaving out defaults.

        Any change other than the page goes back to page 1: new filters make a new result list.
        """
        if "page" not in changes:
            changes["page"] = 1
        if "q" in changes and "as_typed" not in changes:
            changes["as_typed"] = False  # a new query is corrected again if it finds nothing
        if isinstance(changes.get("source"), str):
            changes["source"] = (changes["source"],) if changes["source"] else ()
        values = replace(self, **changes)
        out: dict[str, str | list[str]] = {}
        for name, default in (("q", ""), ("sort", "relevance"), ("since", ""), ("until", ""),
                              ("page", 1), ("limit", 10)):
            value = getattr(values, name)
            if value != default:
                out[name] = str(value)
        if values.source:
            out["source"] = list(values.source)
        if values.as_typed:
            out["as_typed"] = "1"
        return out

    def has_source(self, name: str) -> bool:
        """Whether `name` (a source as stored) is one of the chosen sources, in any case."""
        return " ".join(name.split()).casefold() in {s.casefold() for s in self.source}

    def toggle_source(self, name: str) -> dict[str, str | list[str]]:
        """URL arguments with `name` added to the chosen sources, or taken out if chosen."""
        if self.has_source(name):
            key = " ".join(name.split()).casefold()
            return self.args(source=tuple(s for s in self.source if s.casefold() != key))
        return self.args(source=(*self.source, name))

    def search_kwargs(self) -> dict[str, object]:
        """Keyword arguments for searchkit.search()."""
        return dict(limit=self.limit, page=self.page, sort=self.sort, since=self.since or None,
                    until=self.until or None, source=list(self.source) or None, correct=not self.as_typed)

    @property
    def since_day(self) -> str:
        """`since` as the YYYY-MM-DD a date input shows ("2012-05" -> "2012-05-01")."""
        return parse_span(self.since).start.strftime("%Y-%m-%d") if self.since else ""

    @property
    def until_day(self) -> str:
        """`until` as the last YYYY-MM-DD it includes ("2012-05" -> "2012-05-31")."""
        if not self.until:
            return ""
        return (parse_span(self.until).end - timedelta(microseconds=1)).strftime("%Y-%m-%d")

    @property
    def dates_phrase(self) -> str:
        """The chosen dates as a phrase after "Matches": "in 2012", "2012-05 to 2012-07",
        "since 2012-05", "until 2012" ("" with none)."""
        if self.since and self.since == self.until:
            return f"in {self.since}"
        if self.since and self.until:
            return f"{self.since} to {self.until}"
        return f"since {self.since}" if self.since else f"until {self.until}" if self.until else ""

    @property
    def filtered(self) -> bool:
        return bool(self.since or self.until or self.source)

    def chips(self) -> list[Chip]:
        """The active filters, each with the arguments that remove it."""
        chips = []
        for name in self.source:
            chips.append(Chip(f"Source: {name}", self.args(source=tuple(s for s in self.source if s != name))))
        if self.since and self.since == self.until:
            chips.append(Chip(f"Published {self.since}", self.args(since="", until="")))
        elif self.since and self.until:
            chips.append(Chip(f"Dates: {self.since} to {self.until}", self.args(since="", until="")))
        elif self.since:
            chips.append(Chip(f"Since {self.since}", self.args(since="")))
        elif self.until:
            chips.append(Chip(f"Until {self.until}", self.args(until="")))
        if self.sort != "relevance":
            chips.append(Chip(f"Sort: {SORT_LABELS.get(self.sort, self.sort)}", self.args(sort="relevance"), "sort"))
        return chips


def _int_arg(args: Mapping[str, str], name: str, default: int, high: int, problems: list[str]) -> int:
    raw = args.get(name)
    if raw in (None, ""):
        return default
    try:
        return max(1, min(high, int(raw)))
    except ValueError:
        problems.append(f"{name}={raw[:40]!r} is not a number: using {default}")
        return default


def _sources_arg(args: Mapping[str, str]) -> tuple[str, ...]:
    """Every source= argument (several mean any of them), spaces collapsed, repeats dropped."""
    values = args.getlist("source") if hasattr(args, "getlist") else [args.get("source") or ""]
    cleaned = (" ".join(v[:500].split()) for v in values[:MAX_SOURCES])
    return tuple(dict.fromkeys(v for v in cleaned if v))


def _date_arg(args: Mapping[str, str], name: str, problems: list[str]) -> str:
    raw = " ".join((args.get(name) or "").split())[:100]
    if not raw:
        return ""
    try:
        parse_span(raw)
    except DateError:
        problems.append(f"{name}={raw[:40]!r} is not a date: {DATE_HELP} (ignored)")
        return ""
    return raw
