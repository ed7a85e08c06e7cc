"""The timeline of matches as inline SVG bars: geometry only, the template draws it.

Each bar links to the same search filtered to its period, so clicking a bar works
without JavaScript (SVG <a> elements are ordinary links); app.js adds dragging across
bars and the arrow keys for a range. A narrowed search draws the bars of the whole search
(SearchResult.timeline_around) with the chosen ones marked "in" and the others "out", so
the periods around stay in view; `zoom` tells when the chosen part deserves its own, finer
chart (a year chosen among years: its months).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime
from typing import Iterable, Sequence

from searchkit.search import TimelineBucket

WIDTH = 320
HEIGHT = 80
GAP = 2
MIN_BAR = 2  # a period with one match stays visible next to one with hundreds
MAX_WIDTH = 40  # a few periods make bars, not slabs: each is centred in its slot


@dataclass(frozen=True)
class Bar:
    """One period: its label ("3 May 2012", "May 2012", "2012"), the period as the since/until
    filters read it ("2012-05-03", "2012-05", "2012"), its match count and its rectangle.
    `state` places it against the chosen dates: "in", "part" (partly inside), "out", or ""
    when no dates are chosen."""

    label: str
    period: str
    count: int
    x: float
    y: float
    width: float
    height: float
    state: str = ""


@lru_cache(maxsize=4096)  # every page draws the same few periods (strptime is ~5 us a bar)
def label(period: str) -> str:
    """A period ("2012-05-03", "2012-05" or "2012") as people read it."""
    try:
        if len(period) == 10:
            return datetime.strptime(period, "%Y-%m-%d").strftime("%-d %b %Y")
        if len(period) == 7:
            return datetime.strptime(period, "%Y-%m").strftime("%b %Y")
    except ValueError:
        pass
    return period


def _state(bucket: TimelineBucket, chosen: tuple[datetime | None, datetime | None] | None) -> str:
    """Where a bucket [start, end) lies against the chosen [start, end) (None: open-ended)."""
    if chosen is None:
        return ""
    start, end = chosen
    if (start is not None and bucket.end <= start) or (end is not None and bucket.start >= end):
        return "out"
    if (start is None or bucket.start >= start) and (end is None or bucket.end <= end):
        return "in"
    return "part"


def bars(buckets: Iterable[TimelineBucket], width: int = WIDTH, height: int = HEIGHT,
         chosen: tuple[datetime | None, datetime | None] | None = None) -> list[Bar]:
    """Bars for timeline buckets (searchkit TimelineBucket: label "YYYY[-MM[-DD]]" and count),
    scaled to the tallest; periods with no match keep their slot so the time axis stays even.
    `chosen` is the (since, until) range the search is narrowed to, if any (since_until's)."""
    items = list(buckets)
    if not items:
        return []
    tallest = max(b.count for b in items) or 1
    slot = width / len(items)
    out = []
    for i, b in enumerate(items):
        count = b.count
        h = 0.0 if count == 0 else max(MIN_BAR, round(height * count / tallest, 1))
        w = min(MAX_WIDTH, max(1.0, slot - GAP))
        out.append(Bar(label=label(b.label), period=b.label, count=count,
                       x=round(i * slot + (slot - w) / 2, 2), y=round(height - h, 1),
                       width=round(w, 2), height=h, state=_state(b, chosen)))
    return out


def zoom(around: Sequence[TimelineBucket], narrowed: Sequence[TimelineBucket]) -> bool:
    """Whether the narrowed search's own timeline counts finer periods than the whole
    search's (months of the chosen year): then it is worth a chart of its own."""
    return bool(around and narrowed) and len(narrowed[0].label) > len(around[0].label)
