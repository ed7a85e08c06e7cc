"""Turn files into Articles: one module per input format, chosen by name or by content.

Files are read as streams (stream.py), decompressed on the fly, so any size goes. Formats with
many records in a file (JSON lines, CSV, WARC) have
`read(source: Input, origin: dict, options: ExtractOptions, known) -> Iterator[Item]`; formats
of one record per file (HTML, feeds, text) have
`extract(data: bytes, origin: dict, options: ExtractOptions) -> Iterator[Article | ExtractError]`.
Either yields articles, and an ExtractError for a record it had to skip (a bad JSON line), so
one broken record never stops the rest of the file. A file that cannot be read at all
raises ExtractError.
"""

from __future__ import annotations

import importlib
import io
from pathlib import Path
from typing import Callable, Iterator, Union

from ..article import Article
from ..errors import ExtractError
from .encoding import utf16_without_bom
from .notice import ExtractNotice
from .options import ExtractOptions
from .records import Task, Unchanged, record_key, run_task
from .stream import COMPRESSED_SUFFIXES, HEAD, Input, megabytes, open_input, read_record

Item = Union[Article, ExtractError, ExtractNotice, Task, Unchanged]
# Format name -> module in this package. Modules load on first use, so that `searchkit query`
# never pays for lxml, feedparser, warcio or trafilatura.
FORMATS: dict[str, str] = {
    "text": "text",
    "jsonl": "jsonl",
    "html": "html",
    "feed": "feed",
    "warc": "warc",
    "csv": "csvfile",
}

EXTENSIONS = {
    ".txt": "text", ".text": "text",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
    ".html": "html", ".htm": "html", ".xhtml": "html", ".shtml": "html",
    ".rss": "feed", ".atom": "feed", ".rdf": "feed", ".xml": "feed",
    ".warc": "warc", ".arc": "warc",
    ".csv": "csv", ".tsv": "csv",
}
# Formats read a record at a time (`read(source, origin, options, known)`); the others are
# one record per file, read whole up to the record limit (`extract(data, origin, options)`).
STREAMED = {"jsonl", "csv", "warc"}
_FEED_ROOTS = (b"<rss", b"<feed", b"<rdf:rdf", b"<channel")

def format_for_name(name: str) -> str | None:
    """The format a file name says it has ("a.jsonl.gz" -> "jsonl"), or None."""
    lower = name.lower()
    for suffix in COMPRESSED_SUFFIXES:
        lower = lower.removesuffix(suffix)
    return EXTENSIONS.get(Path(lower).suffix)


def sniff(data: bytes) -> str:
    """Guess a format from the first bytes of a file."""
    if data.startswith((b"WARC/", b"warc/")):
        return "warc"
    refuse_binary(data)
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"{", b"[")):
        return "jsonl"
    if head.startswith(b"<"):
        if any(root in head for root in _FEED_ROOTS) and b"<html" not in head:
            return "feed"
        if b"<html" in head or b"<!doctype html" in head or b"<body" in head or b"<head" in head:
            return "html"
    return "text"


def refuse_binary(data: bytes) -> None:
    """Raise ExtractError for bytes that are not text in any encoding we read (NULs outside UTF-16/32)."""
    head = data[:4096]
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")) and not utf16_without_bom(data):
        raise ExtractError("binary file, not text, HTML, a feed, a WARC, CSV or JSON lines")


def read_input(source: Input, fmt: str = "auto", options: ExtractOptions | None = None,
               known: Callable[[str], Unchanged | None] | None = None) -> Iterator[Item]:
    """What one input holds, in order: articles, errors for records skipped, notices, pages
    still to extract (Task: run them with records.run_task, here or in a worker) and, when
    `known` recognises a record's key, Unchanged for it. Raises ExtractError for an input that
    cannot be read at all; reading stops with one if its compressed data breaks off."""
    options = options or ExtractOptions()
    head = source.head
    if not head or (len(head) < HEAD and head.isspace()):
        raise ExtractError("empty file")
    if fmt == "auto":
        fmt = format_for_name(source.name) or sniff(head)
    if fmt not in FORMATS:
        raise ExtractError(f"unknown format {fmt!r} (known: {', '.join(sorted(FORMATS))})")
    if fmt != "warc":
        refuse_binary(head)
    origin = {"path": source.name, "format": fmt}
    if fmt in STREAMED:
        yield from importlib.import_module(f".{FORMATS[fmt]}", __name__).read(source, origin, options, known)
        return
    if not source.compression and source.size > options.max_record:
        raise ExtractError(f"over {megabytes(options.max_record)}, skipped")  # known unread: too big
    data = read_record(source.stream, options.max_record)
    key = record_key(f"{fmt}\0{options.salt}".encode(), data)
    seen = known(key) if known is not None else None
    if seen is not None:
        yield seen
        return
    task = Task(fmt, data, origin, options, source.name, key)
    if fmt == "text":
        yield from run_task(task)  # quick: not worth sending to a worker
    else:
        yield task


def read_path_bytes(path: Path, limit: int) -> bytes:
    """A whole (small) file's bytes, decompressed; ExtractError past `limit` bytes."""
    source = open_input(path)
    try:
        return read_record(source.stream, limit)
    finally:
        source.close()


def _resolved(items: Iterator[Item]) -> Iterator[Article | ExtractError | ExtractNotice]:
    for item in items:
        for found in run_task(item) if isinstance(item, Task) else [item]:
            if isinstance(found, Article):
                found.origin.pop("key", None)  # the importer's, for its ledger
            yield found


def extract_bytes(data: bytes, origin: dict, fmt: str = "auto",
                  options: ExtractOptions | None = None) -> Iterator[Article | ExtractError | ExtractNotice]:
    """Articles (and skipped-record errors) from a file's bytes in format `fmt` or sniffed."""
    source = open_input(None, io.BytesIO(data), origin.get("path", ""))
    try:
        yield from _resolved(read_input(source, fmt, options))
    finally:
        source.close()


def extract_path(path: Path, fmt: str = "auto",
                 options: ExtractOptions | None = None) -> Iterator[Article | ExtractError | ExtractNotice]:
    """Articles from one file, however big, read as a stream (see read_input)."""
    source = open_input(path)
    try:
        yield from _resolved(read_input(source, fmt, options))
    finally:
        source.close()


__all__ = ["FORMATS", "EXTENSIONS", "ExtractOptions", "extract_bytes", "extract_path", "format_for_name",
           "open_input", "read_input", "sniff"]
