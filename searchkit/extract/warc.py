"""Web archives (WARC, WARC.gz; warcio): each HTML response record becomes an article, with the
record's target URI as its URL and the fetch date as its date when the page states none."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from typing import Iterator

from ..article import Article
from ..errors import ExtractError
from .notice import ExtractNotice
from .options import ExtractOptions

_HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass
class Response:
    """One HTML response record: what was fetched, when, and its bytes."""

    uri: str
    fetched: str
    charset: str
    payload: bytes


def _charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'")
    return ""


def read_responses(data: bytes) -> tuple[list[Response], str, str]:
    """The HTML responses of an archive, the reason it stopped early ("" if it did not), and
    what warcio had to say about malformed records (it prints to stderr; we report it once)."""
    from warcio.archiveiterator import ArchiveIterator  # only when a WARC is read

    responses: list[Response] = []
    problem = ""
    chatter = io.StringIO()
    with contextlib.redirect_stderr(chatter):
        try:
            for record in ArchiveIterator(io.BytesIO(data)):
                if record.rec_type != "response" or not record.http_headers:
                    continue
                content_type = record.http_headers.get_header("Content-Type") or ""
                if not content_type.lower().startswith(_HTML_TYPES):
                    continue
                responses.append(Response(record.rec_headers.get_header("WARC-Target-URI") or "",
                                          record.rec_headers.get_header("WARC-Date") or "",
                                          _charset(content_type), record.content_stream().read()))
        except Exception as exc:  # warcio fails in many ways on damaged archives; each is reported
            problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return responses, problem, chatter.getvalue()


def extract(data: bytes, origin: dict, options: ExtractOptions) -> Iterator[Article | ExtractError | ExtractNotice]:
    from . import html

    path = origin.get("path", "")
    responses, problem, chatter = read_responses(data)
    if chatter.strip():
        yield ExtractNotice("malformed WARC records (bad Content-Length or headers); read what could be read", path)
    for response in responses:
        page = ExtractOptions(url=response.uri, charset=response.charset, published=response.fetched)
        try:
            for article in html.extract(response.payload, {**origin, "record": response.uri}, page):
                article.url = article.url or response.uri
                article.origin["fetched"] = response.fetched
                yield article
        except ExtractError as exc:
            yield ExtractError(exc.reason, f"{path}:{response.uri}")
    if problem:
        yield ExtractError(f"broken WARC data after {len(responses)} pages ({problem})", path)
    elif not responses:
        raise ExtractError("no HTML responses in this web archive")
