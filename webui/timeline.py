"""The timeline of matches as inline SVG bars: geometry only, the template draws it.

Each bar links to the same search filtered to its period, so clicking a bar works
without JavaScript (SVG <a> elements are ordinary links).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from searchkit.search import TimelineBucket

WIDTH = 320
HEIGHT = 80
GAP = 2
MIN_BAR = 2  # a period with one match stays visible next to one with hundreds
MAX_WIDTH = 40  # a few periods make bars, not slabs: each is centred in its slot


@dataclass(frozen=True)
class Bar:
    """One period: its label ("3 May 2012", "May 2012", "2012"), the period as the since/until
    filters read it ("2012-05-03", "2012-05", "2012"), its match count and its rectangle."""

    label: str
    period: str
    count: int
    x: float
    y: float
    width: float
    height: float


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


def bars(buckets: Iterable[TimelineBucket], width: int = WIDTH, height: int = HEIGHT) -> list[Bar]:
    """Bars for timeline buckets (searchkit TimelineBucket: label "YYYY[-MM[-DD]]" and count),
    scaled to the tallest; periods with no match keep their slot so the time axis stays even."""
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
                       width=round(w, 2), height=h))
    return out
