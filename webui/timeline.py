"""The timeline of matches as inline SVG bars: geometry only, the template draws it.

Each bar links to the same search filtered to its period, so clicking a bar works
without JavaScript (SVG <a> elements are ordinary links).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable

WIDTH = 320
HEIGHT = 80
GAP = 2
MIN_BAR = 2  # a period with one match stays visible next to one with hundreds


@dataclass(frozen=True)
class Bar:
    """One period: its label, the dates it covers (YYYY-MM-DD) and its rectangle."""

    label: str
    since: str
    until: str
    count: int
    x: float
    y: float
    width: float
    height: float


def _day(value: date | datetime | str) -> str:
    if isinstance(value, (date, datetime)):
        return value.strftime("%Y-%m-%d")
    return str(value)[:10]


def bars(buckets: Iterable[object], width: int = WIDTH, height: int = HEIGHT) -> list[Bar]:
    """Bars for timeline buckets (objects or dicts with label, start, end, count), scaled to
    the tallest; periods with no match keep their slot so the time axis stays even."""
    items = [b if isinstance(b, dict) else vars(b) for b in buckets]
    if not items:
        return []
    tallest = max(int(b["count"]) for b in items) or 1
    slot = width / len(items)
    out = []
    for i, b in enumerate(items):
        count = int(b["count"])
        h = 0.0 if count == 0 else max(MIN_BAR, round(height * count / tallest, 1))
        out.append(Bar(label=str(b["label"]), since=_day(b["start"]), until=_day(b["end"]), count=count,
                       x=round(i * slot + GAP / 2, 2), y=round(height - h, 1),
                       width=round(max(1.0, slot - GAP), 2), height=h))
    return out
