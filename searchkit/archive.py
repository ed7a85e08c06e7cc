"""Facts about the archive as a whole that the search page builds on: its newest article.

Date presets ("past week") count back from now, or from the newest article when the archive
ends before today, so "past year" of a 2012 archive is its last year rather than nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np

from .engine.container import long_to_datetime
from .store import Index

PRESETS = (("day", "Past 24 hours", timedelta(hours=24)), ("week", "Past week", timedelta(days=7)),
           ("month", "Past month", timedelta(days=30)), ("year", "Past year", timedelta(days=365)))


def newest_published(index: Index) -> datetime | None:
    """The latest publication date of any live article (None when no article has one), read
    from the arrays the ranker keeps (no stored field is opened). Worked out once per state
    of the index (its segments and how many articles each has deleted: deletions only grow)
    and kept: the search page asks on every request."""
    with index.searcher() as searcher:
        segments = index.arrays.segments(searcher)
        key = tuple((cache.key, cache.segment.deleted_count()) for _, _, cache in segments)
        newest = index.arrays.index_wide("newest published", key, lambda: _newest(segments))
    return long_to_datetime(newest).replace(tzinfo=timezone.utc) if newest is not None else None


def _newest(segments) -> int | None:
    """The largest `published` value of a live article in the segments (Whoosh's long)."""
    newest: int | None = None
    for reader, _, cache in segments:
        values, has = cache.numbers(reader, "published")
        keep = has & ~cache.deleted(reader)
        if keep.any():
            top = int(values[keep].max())
            newest = top if newest is None else max(newest, top)
    return newest


@dataclass(frozen=True)
class Preset:
    """A date preset: its name ("week"), label ("Past week") and the `since` it sets."""

    name: str
    label: str
    since: str


def date_presets(newest: datetime | None, now: datetime | None = None) -> tuple[list[Preset], datetime | None]:
    """The presets and the moment they count back from: now, or the newest article when the
    archive ends more than a day before now (that moment is returned so the page can say so;
    None when it is now)."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    anchor = newest if newest is not None and newest < now - timedelta(days=1) else None
    start = anchor or now
    presets = []
    for name, label, span in PRESETS:
        moment = start - span
        since = moment.strftime("%Y-%m-%dT%H:%M") if span < timedelta(days=2) else moment.strftime("%Y-%m-%d")
        presets.append(Preset(name, label, since))
    return presets, anchor


__all__ = ["newest_published", "date_presets", "Preset", "PRESETS"]
