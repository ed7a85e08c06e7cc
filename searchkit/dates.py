"""Dates as people type them: "2017", "2017-03", "2017-03-05", "yesterday", "last week", "2 months ago".

Every form names a span of time, `[start, end)` in UTC: a year, a month, a day, or one
moment. Filters use the span's start for `since` and its end for `until`, so
`since:2017 until:2017` means "during 2017" and `until:yesterday` includes all of yesterday.
Relative forms count back from `now` (passed in, so results are reproducible in tests).
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from .article import parse_date

_UNITS = {"day": 1, "week": 7, "fortnight": 14, "month": 0, "year": 0}
_AGO = re.compile(r"^(\d{1,4}|an?|one|two|three|four|five|six|seven|eight|nine|ten)\s+"
                  r"(day|week|fortnight|month|year)s?\s+ago$")
_LAST = re.compile(r"^(?:last|past|previous)\s+(?:(\d{1,4})\s+)?(day|week|fortnight|month|year)s?$")
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
            "seven": 7, "eight": 8, "nine": 9, "ten": 10}
_YEAR = re.compile(r"^(\d{4})$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_DAY = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")

DATE_HELP = 'use YYYY, YYYY-MM, YYYY-MM-DD, "today", "yesterday", "last week" or "3 months ago"'


class DateError(ValueError):
    """A date the user typed that none of the forms above can read."""


@dataclass(frozen=True)
class Span:
    """A stretch of time: start inclusive, end exclusive, both timezone-aware UTC."""

    start: datetime
    end: datetime


def _utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


def _day_span(day: date) -> Span:
    return Span(_utc(day), _utc(day) + timedelta(days=1))


def months_back(day: date, months: int) -> date:
    """The same day-of-month `months` calendar months earlier (clamped: 31 March - 1 = 28/29 Feb)."""
    total = day.year * 12 + (day.month - 1) - months
    year, month = divmod(total, 12)
    month += 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


def _back(today: date, count: int, unit: str) -> date:
    if unit == "month":
        return months_back(today, count)
    if unit == "year":
        return months_back(today, 12 * count)
    return today - timedelta(days=count * _UNITS[unit])


def parse_span(text: str, now: datetime | None = None) -> Span:
    """The span of time `text` names; raises DateError if it names none."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    today = now.date()
    words = " ".join(str(text).lower().replace("_", " ").split()).strip("\"'")
    try:
        if words in ("today", "now"):
            return _day_span(today)
        if words == "yesterday":
            return _day_span(today - timedelta(days=1))
        if m := _AGO.match(words):
            count = int(m.group(1)) if m.group(1).isdigit() else _NUMBERS[m.group(1)]
            return _day_span(_back(today, count, m.group(2)))
        if m := _LAST.match(words):
            return _day_span(_back(today, int(m.group(1) or 1), m.group(2)))
        if m := _YEAR.match(words):
            year = int(m.group(1))
            return Span(_utc(date(year, 1, 1)), _utc(date(year + 1, 1, 1)))
        if m := _MONTH.match(words):
            first = date(int(m.group(1)), int(m.group(2)), 1)
            return Span(_utc(first), _utc(first + timedelta(days=monthrange(first.year, first.month)[1])))
        if m := _DAY.match(words):
            return _day_span(date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
        moment = parse_date(words.upper() if "t" in words else words)
    except (ValueError, OverflowError, KeyError):
        raise DateError(f"cannot read the date {text!r}: {DATE_HELP}") from None
    if moment is None:
        raise DateError(f"empty date: {DATE_HELP}")
    return Span(moment, moment + timedelta(microseconds=1))


def since_until(since: str | datetime | None, until: str | datetime | None,
                now: datetime | None = None) -> tuple[datetime | None, datetime | None]:
    """The (start, end) moments for a since/until pair: start inclusive, end exclusive."""
    start = end = None
    if since not in (None, ""):
        start = parse_date(since) if isinstance(since, datetime) else parse_span(since, now).start
    if until not in (None, ""):
        end = (parse_date(until) + timedelta(microseconds=1) if isinstance(until, datetime)
               else parse_span(until, now).end)
    return start, end
