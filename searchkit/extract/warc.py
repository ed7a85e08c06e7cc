"""Web archives (WARC, WARC.gz; warcio): each HTML response record becomes an article, with the
record's target URI as its URL and the fetch date as its date when the page states none."""

from __future__ import annotations

import io
from typing import Iterator

from ..article import Article
from ..errors import ExtractError
from .options import ExtractOptions

_HTML_TYPES = ("text/html", "application/xhtml+xml")


def _charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'")
    return ""


def extract(data: bytes, origin: dict, options: ExtractOptions) -> Iterator[Article | ExtractError]:
    from warcio.archiveiterator import ArchiveIterator  # only when a WARC is read
    from warcio.exceptions import ArchiveLoadFailed

    from . import html

    path = origin.get("path", "")
    found = 0
    try:
        for record in ArchiveIterator(io.BytesIO(data)):
            if record.rec_type != "response" or not record.http_headers:
                continue
            content_type = record.http_headers.get_header("Content-Type") or ""
            if not content_type.lower().startswith(_HTML_TYPES):
                continue
            uri = record.rec_headers.get_header("WARC-Target-URI") or ""
            fetched = record.rec_headers.get_header("WARC-Date") or ""
            payload = record.content_stream().read()
            found += 1
            page = ExtractOptions(url=uri, charset=_charset(content_type), published=fetched)
            try:
                for article in html.extract(payload, {**origin, "record": uri}, page):
                    article.url = article.url or uri
                    article.origin["fetched"] = fetched
                    yield article
            except ExtractError as exc:
                yield ExtractError(exc.reason, f"{path}:{uri}")
    except (ArchiveLoadFailed, ValueError, OSError, EOFError) as exc:
        yield ExtractError(f"broken WARC data after {found} pages ({exc})", path)
    if not found:
        raise ExtractError("no HTML responses in this web archive")
