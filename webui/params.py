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
    source: str = ""
    limit: int = 10
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
            source=" ".join((args.get("source") or "")[:500].split()),
            limit=_int_arg(args, "limit", 10, MAX_LIMIT, problems),
            problems=tuple(problems),
        )

    def args(self, **changes: object) -> dict[str, str]:
        """URL arguments for these parameters with `changes`, leaving out defaults.

        Any change other than the page goes back to page 1: new filters make a new result list.
        """
        if "page" not in changes:
            changes["page"] = 1
        values = replace(self, **changes)
        out: dict[str, str] = {}
        for name, default in (("q", ""), ("sort", "relevance"), ("since", ""), ("until", ""),
                              ("source", ""), ("page", 1), ("limit", 10)):
            value = getattr(values, name)
            if value != default:
                out[name] = str(value)
        return out

    def search_kwargs(self) -> dict[str, object]:
        """Keyword arguments for searchkit.search()."""
        return dict(limit=self.limit, page=self.page, sort=self.sort, since=self.since or None,
                    until=self.until or None, source=self.source or None)

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
    def filtered(self) -> bool:
        return bool(self.since or self.until or self.source)

    def chips(self) -> list[Chip]:
        """The active filters, each with the arguments that remove it."""
        chips = []
        if self.source:
            chips.append(Chip(f"Source: {self.source}", self.args(source="")))
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
