"""The Article record: one news article, as imported, stored and returned."""

from __future__ import annotations

import dataclasses
import email.utils
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .errors import ExtractError

_SPACE = re.compile(r"[ \t\r\f\v\u00a0\u200b]+")
_ODD_SPACES = ("  ", "\t", "\r", "\f", "\v", "\u00a0", "\u200b")  # what _SPACE finds but a lone space
_BLANKS = re.compile(r"\n\s*\n+")
# Tracking parameters that do not change which article a URL points to.
_TRACKING = re.compile(r"^(utm_[a-z]+|fbclid|gclid|ocid|cmpid|ref|src)$", re.I)
MAX_TITLE = 1_000
MAX_FIELD = 500


@dataclass
class Article:
    """A news article. `body` keeps paragraphs separated by one blank line."""

    id: str = ""
    title: str = ""
    body: str = ""
    url: str = ""
    source: str = ""
    author: str = ""
    published: datetime | None = None
    language: str = ""
    tags: list[str] = field(default_factory=list)
    license: str = ""
    imported: datetime | None = None
    origin: dict[str, str] = field(default_factory=dict)
    cluster: str = ""

    @property
    def display_title(self) -> str:
        """The headline, or for an article without one, its opening words (see derived_title)."""
        return self.title or derived_title(self.body)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO 8601 strings)."""
        data = dataclasses.asdict(self)
        for key in ("published", "imported"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


DERIVED_TITLE_CHARS = 200


def derived_title(body: str) -> str:
    """What to show as the title of an article without a headline: the first paragraph, cut
    at a word before DERIVED_TITLE_CHARS characters. Shown only, never indexed as a title
    (the opening words would otherwise get a headline's weight in the ranking)."""
    first = body.split("\n\n", 1)[0]
    if len(first) <= DERIVED_TITLE_CHARS:
        return first
    return first[:DERIVED_TITLE_CHARS].rsplit(" ", 1)[0]


# What normalize_text changes in a text that neither starts nor ends with whitespace: a
# character it removes or turns into a space or a newline, two spaces, three newlines, a space
# beside a paragraph break; ASCII's other spaces (\x1c-\x1f) are counted in, to keep it short.
_NOT_NORMAL = ("\r", "\x00", "\t", "\f", "\v", "\x1c", "\x1d", "\x1e", "\x1f", "  ", "\n\n\n", " \n\n", "\n\n ")


def _is_normal(text: str) -> bool:
    """Whether normalize_text(text) is text: a few substring searches (memchr speed), where
    normalize_text makes ten passes and a string per paragraph and line."""
    if not text or text[0].isspace() or text[-1].isspace() or any(odd in text for odd in _NOT_NORMAL):
        return False
    if text.count("\n") != 2 * text.count("\n\n"):  # a line break inside a paragraph
        return False
    if text.isascii():
        return True
    return ("\u00a0" not in text and "\u200b" not in text  # other spaces: none beside a paragraph break
            and not any(p[0].isspace() or p[-1].isspace() for p in text.split("\n\n")))


def normalize_text(text: str) -> str:
    """Collapse spaces inside lines and keep paragraphs apart by exactly one blank line."""
    if _is_normal(text):
        return text  # already so: a corpus written by a program, an export
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    paragraphs = (_collapse_spaces(p).strip() for p in _BLANKS.split(text))
    paragraphs = (" ".join(line.strip() for line in p.split("\n") if line.strip()) for p in paragraphs)
    return "\n\n".join(p for p in paragraphs if p)


def _collapse_spaces(text: str) -> str:
    """_SPACE runs as one space. Most paragraphs have none but single spaces, which the
    regex would replace one by one: a few substring searches find that out 7x faster."""
    if any(odd in text for odd in _ODD_SPACES):
        return _SPACE.sub(" ", text)
    return text


def canonical_url(url: str) -> str:
    """The URL that names an article: lower-case host, no fragment, no tracking parameters."""
    url = url.strip()
    if not url:
        return ""
    parts = urlsplit(url)
    query = "&".join(
        pair for pair in parts.query.split("&") if pair and not _TRACKING.match(pair.split("=", 1)[0])
    )
    path = parts.path or "/"
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, query, ""))


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def make_id(article: Article) -> str:
    """A stable id: the given one, else from the canonical URL, else from title and body."""
    if article.id:
        return article.id
    if article.url:
        return "u" + _digest(canonical_url(article.url))
    # display_title: an untitled article keeps the id it had when its derived title was stored.
    text = " ".join(article.display_title.lower().split()) + "\n" + " ".join(article.body.lower().split())
    return "h" + _digest(text)


_EPOCH = re.compile(r"^\d{9,10}(\.\d+)?$|^\d{12,13}$")
_ORDINAL = re.compile(r"(?<=\d)(st|nd|rd|th)\b", re.I)
# Written-out dates as pages print them; anything vaguer ("last Tuesday") is not a date.
_FORMATS = ("%d %B %Y", "%d %b %Y", "%B %d, %Y", "%b %d, %Y", "%B %d %Y", "%b %d %Y", "%Y/%m/%d",
            "%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S", "%d.%m.%Y", "%d.%m.%Y %H:%M", "%d/%m/%Y",
            "%Y-%m-%d %H:%M:%S %z", "%Y-%m-%dT%H:%M:%S%Z", "%d %B %Y %H:%M", "%B %d, %Y %H:%M %Z")
EARLIEST_YEAR = 1800


def parse_date(value: Any) -> datetime | None:
    """A date as a timezone-aware UTC datetime; None if empty.

    Reads ISO 8601, RFC 2822 (feeds, HTTP), Unix timestamps and common written-out forms
    ("19 January 2020", "Jan 19, 2020"). A date without a zone is taken to be UTC.
    Raises ValueError for text that is not a date: never a guess, never "now".
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        moment = _from_epoch(float(value))
    else:
        moment = _parse_text(str(value).strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    if moment.year < EARLIEST_YEAR:
        raise ValueError(f"implausible date {value!r}")
    return moment


def _from_epoch(seconds: float) -> datetime:
    if seconds > 1e11:
        seconds /= 1000  # milliseconds
    if seconds < 1e8:
        raise ValueError(f"implausible timestamp {seconds:g}")  # a count or an id, not 1970
    return datetime.fromtimestamp(seconds, timezone.utc)


def _parse_text(text: str) -> datetime:
    if not text:
        raise ValueError("empty date")
    if _EPOCH.match(text):
        return _from_epoch(float(text))
    candidate = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        return datetime.fromisoformat(candidate)
    except ValueError:
        pass
    try:
        return email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        pass
    cleaned = " ".join(_ORDINAL.sub("", text.replace(",", ", ")).replace(" ,", ",").split())
    cleaned = re.sub(r"\s+(UTC|GMT)$", " +0000", cleaned)
    for pattern in _FORMATS:
        try:
            return datetime.strptime(cleaned, pattern)
        except ValueError:
            continue
    raise ValueError(f"not a date: {text[:40]!r}")


def clean(article: Article) -> Article:
    """Validate and normalise an article in place; raise ExtractError if it is unusable."""
    article.title = " ".join(article.title.split())[:MAX_TITLE]
    article.body = normalize_text(article.body)
    if not article.title and not article.body:
        raise ExtractError("no title and no text found")
    for name in ("url", "source", "author", "language", "license"):
        setattr(article, name, " ".join(str(getattr(article, name) or "").split())[:MAX_FIELD])
    if article.url and not re.match(r"^https?://", article.url, re.I):
        article.url = ""  # never keep javascript:, data: or relative links
    article.tags = sorted({" ".join(str(t).split())[:MAX_FIELD] for t in article.tags if str(t).strip()})
    try:
        article.published = parse_date(article.published)
    except (ValueError, TypeError, OverflowError):
        article.published = None  # an unreadable date stays empty, never "now"
    article.id = make_id(article)
    article.cluster = article.cluster or article.id
    return article
