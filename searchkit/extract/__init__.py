"""Turn files into Articles: one module per input format, chosen by name or by content.

Each format module has
`extract(data: bytes, origin: dict, options: ExtractOptions) -> Iterator[Article | ExtractError]`:
it yields articles, and an ExtractError for a record it had to skip (a bad JSON line), so
one broken record never stops the rest of the file. A file that cannot be read at all
raises ExtractError.
"""

from __future__ import annotations

import importlib
import zlib
from pathlib import Path
from typing import Callable, Iterator

from ..article import Article
from ..errors import ExtractError
from .encoding import utf16_without_bom
from .options import ExtractOptions

Extractor = Callable[[bytes, dict, ExtractOptions], Iterator[Article | ExtractError]]
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
_FEED_ROOTS = (b"<rss", b"<feed", b"<rdf:rdf", b"<channel")

MAX_BYTES = 64 * 1024 * 1024  # a larger file is refused with a message, never read into memory
MAX_GZIP_RATIO = 200  # a .gz that inflates more than this is treated as a zip bomb


def format_for_name(name: str) -> str | None:
    """The format a file name says it has ("a.jsonl.gz" -> "jsonl"), or None."""
    lower = name.lower()
    if lower.endswith(".gz"):
        lower = lower[:-3]
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


def read_bytes(path: Path | None, stream=None) -> bytes:
    """The file's bytes, gunzipped if needed, refusing files too large to hold in memory."""
    try:
        if stream is not None:
            data = stream.read(MAX_BYTES + 1)
        else:
            size = path.stat().st_size
            if size > MAX_BYTES:
                raise ExtractError(f"file is {size / 1e6:.0f} MB, over the {MAX_BYTES // 2**20} MB limit")
            data = path.read_bytes()
    except OSError as exc:
        raise ExtractError(f"cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise ExtractError(f"input is over the {MAX_BYTES // 2**20} MB limit")
    if data[:2] == b"\x1f\x8b":
        data = gunzip(data)
    return data


def gunzip(data: bytes) -> bytes:
    """Inflate gzip data (every member: WARC.gz files are one member per record) with a cap on
    the output (zip bombs) and a clear error if truncated."""
    limit = min(MAX_BYTES, max(len(data) * MAX_GZIP_RATIO, 1024 * 1024))
    out: list[bytes] = []
    size = 0
    rest = data
    while rest:
        inflater = zlib.decompressobj(wbits=31)
        try:
            chunk = inflater.decompress(rest, limit + 1 - size)
        except zlib.error as exc:
            raise ExtractError(f"broken gzip data ({exc})") from None
        size += len(chunk)
        out.append(chunk)
        if size > limit or inflater.unconsumed_tail:
            raise ExtractError(f"gzip data inflates to over {limit // 2**20} MB: refused")
        if not inflater.eof:
            raise ExtractError("truncated gzip file (it ends before the compressed data does)")
        rest = inflater.unused_data
        if rest[:2] != b"\x1f\x8b":
            break  # trailing padding after the last member
    return b"".join(out)


def extract_bytes(data: bytes, origin: dict, fmt: str = "auto",
                  options: ExtractOptions | None = None) -> Iterator[Article | ExtractError]:
    """Articles (and skipped-record errors) from a file's bytes in format `fmt` or sniffed."""
    if not data or data.isspace():  # not data.strip(): a copy of a big file
        raise ExtractError("empty file")
    if fmt == "auto":
        fmt = format_for_name(origin.get("path", "")) or sniff(data)
    if fmt not in FORMATS:
        raise ExtractError(f"unknown format {fmt!r} (known: {', '.join(sorted(FORMATS))})")
    if fmt != "warc":
        refuse_binary(data)
    origin = {**origin, "format": fmt}
    records = extractor(fmt)(data, origin, options or ExtractOptions())
    del data  # an extractor that decodes the bytes can let go of them (jsonl.extract does)
    yield from records


def extractor(fmt: str) -> Extractor:
    """The extract function of format `fmt` (its module imported now)."""
    return importlib.import_module(f".{FORMATS[fmt]}", __name__).extract


def extract_path(path: Path, fmt: str = "auto",
                 options: ExtractOptions | None = None) -> Iterator[Article | ExtractError]:
    """Articles from one file (see extract_bytes)."""
    yield from extract_bytes(read_bytes(path), {"path": str(path)}, fmt, options)


__all__ = ["FORMATS", "EXTENSIONS", "ExtractOptions", "extract_bytes", "extract_path", "format_for_name", "sniff"]
