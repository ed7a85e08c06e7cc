"""Web archives (WARC, WARC.gz; warcio): each HTML response record becomes an article, with the
record's target URI as its URL and the fetch date as its date when the page states none."""

from __future__ import annotations

import contextlib
import io
from typing import Callable, Iterator

from ..errors import ExtractError
from .notice import ExtractNotice
from .options import ExtractOptions
from .records import Task, Unchanged, record_key
from .stream import Input, megabytes

_HTML_TYPES = ("text/html", "application/xhtml+xml")


def _charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'")
    return ""


def read(source: Input, origin: dict, options: ExtractOptions,
         known: Callable[[str], Unchanged | None] | None = None) -> Iterator:
    """A Task (a page to extract) for each HTML response record, read one record at a time;
    a record over the record limit is skipped unread, named by its byte offset in the file
    (or its number, counting every record from 1, in a WARC compressed whole)."""
    from warcio.archiveiterator import ArchiveIterator  # only when a WARC is read

    path = origin.get("path", "")
    limit = options.max_record
    salt = f"warc\0{options.salt}\0".encode()
    stored = source.stored()  # a .warc.gz: warcio inflates each member, offsets are the file's own
    records = ArchiveIterator(stored if stored is not None else source.stream)
    # A WARC compressed whole (.warc.xz, .warc.zst, a .warc.gz of one member) has no byte offset
    # a user could seek to: its records are named by their number in the file instead.
    numbered = bool(source.compression) and stored is None
    pages, problem, number = 0, "", 0
    chatter = io.StringIO()  # what warcio prints about malformed records, reported once

    def quietly(step: Callable):
        with contextlib.redirect_stderr(chatter):  # never while a record is yielded
            return step()

    iterator = iter(records)
    while True:
        try:
            record = quietly(lambda: next(iterator, None))
            if record is None:
                break
            number += 1
            if record.rec_type != "response" or not record.http_headers:
                continue
            content_type = record.http_headers.get_header("Content-Type") or ""
            if not content_type.lower().startswith(_HTML_TYPES):
                continue
            uri = record.rec_headers.get_header("WARC-Target-URI") or ""
            pages += 1
            payload = b"" if (record.length or 0) > limit else quietly(
                lambda: record.content_stream().read(limit + 1))
            # Only once the payload is read: asking warcio earlier loses it.
            where = (f"{path}:record {number} ({uri})" if numbered
                     else f"{path}:record at byte {records.get_record_offset()} ({uri})")
        except ExtractError:
            raise  # the compressed stream is broken or cut: stream.py says how
        except Exception as exc:  # warcio fails in many ways on damaged archives; each is reported
            problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            break
        if (record.length or 0) > limit or len(payload) > limit:
            yield ExtractError(f"over {megabytes(limit)}, skipped", where)
            continue
        key = record_key(salt, uri.encode("utf-8", "surrogatepass"), payload)
        seen = known(key) if known is not None else None
        if seen is not None:
            yield seen
            continue
        fetched = record.rec_headers.get_header("WARC-Date") or ""
        page = ExtractOptions(url=uri, charset=_charset(content_type), published=fetched,
                              max_record=limit, salt=options.salt)
        yield Task("html", payload, {**origin, "record": uri}, page, where, key)
    if chatter.getvalue().strip():
        yield ExtractNotice("malformed WARC records (bad Content-Length or headers); read what could be read", path)
    if problem:
        yield ExtractError(f"broken WARC data after {pages} pages ({problem})", path)
    elif not pages:
        raise ExtractError("no HTML responses in this web archive")
