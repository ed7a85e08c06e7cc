"""CSV/TSV with a header row: columns map to Article fields by common names (columns.py).

Rows are read one at a time from the stream (stream.py): a row with a cell or a line over the
record limit is skipped and named with its line, and the rows after it still go in. Columns
nothing claims are ignored, with one notice per file naming them.
"""

from __future__ import annotations

import csv
from typing import Callable, Iterator

from ..errors import ExtractError, NotArticlesError
from .columns import ColumnMap, some_of
from .encoding import repair_mojibake
from .notice import ExtractNotice
from .options import ExtractOptions
from .records import Unchanged, record_key
from .stream import Input, megabytes, text



class _TooLong(Exception):
    """A line over the record limit (raised through csv.reader, which then reads on)."""


class _Lines:
    """The lines of a text stream for csv.reader, counted; a line over `limit` characters is
    skipped unread and raised as _TooLong, after which reading goes on at the next line."""

    def __init__(self, stream, limit: int) -> None:
        self.stream, self.limit, self.number = stream, limit, 0

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        line = self.stream.readline(self.limit + 1)
        if not line:
            raise StopIteration
        self.number += 1
        if len(line) > self.limit and not line.endswith(("\n", "\r")):
            while line and not line.endswith(("\n", "\r")):
                line = self.stream.readline(1 << 20)
            raise _TooLong()
        return line


def _dialect(head: str, path: str) -> type[csv.Dialect] | csv.Dialect:
    if path.lower().endswith(".tsv") or ".tsv." in path.lower():
        return csv.excel_tab
    try:
        return csv.Sniffer().sniff(head.split("\n", 1)[0], delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def read(source: Input, origin: dict, options: ExtractOptions,
         known: Callable[[str], Unchanged | None] | None = None) -> Iterator:
    path = origin.get("path", "")
    stream = text(source.stream, source.head)
    lines = _Lines(stream, options.max_record)
    csv.field_size_limit(options.max_record)
    too_big = f"over {megabytes(options.max_record)}, skipped"
    head = source.head[:20_000].decode(stream.encoding, "ignore").lstrip("\ufeff")
    reader = csv.reader(lines, _dialect(head, path))
    try:
        header = next(reader)
    except (StopIteration, csv.Error, _TooLong) as exc:
        raise ExtractError(f"no CSV header row ({exc or 'empty'})") from None
    if header:
        header[0] = header[0].lstrip("\ufeff")
    mapping = ColumnMap.from_names(header)
    if "title" not in mapping.fields and "body" not in mapping.fields:
        raise NotArticlesError(f"no title or body column in the header ({', '.join(header[:8])}): "
                               "name one title/headline or body/text/content")
    if mapping.unknown:
        yield ExtractNotice(f"ignored columns: {some_of(mapping.unknown)}", path)
    salt = f"csv\0{options.salt}\0".encode() + "\x1f".join(header).encode("utf-8", "surrogatepass")
    while True:
        start = lines.number + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except _TooLong:
            yield ExtractError(too_big, f"{path}:{lines.number}")
            continue
        except csv.Error as exc:
            reason = too_big if "field larger than field limit" in str(exc) else f"bad CSV row ({exc})"
            yield ExtractError(reason, f"{path}:{start}")
            continue
        if not any(cell.strip() for cell in row):
            continue
        where = f"{path}:{start}"
        key = record_key(salt, "\x1f".join(row).encode("utf-8", "surrogatepass"))
        if known is not None:
            seen = known(key)
            if seen is not None:
                yield seen
                continue
        if len(row) != len(header):
            yield ExtractError(f"{len(row)} cells, the header has {len(header)}", where, key)
            continue
        record = {name: repair_mojibake(cell) for name, cell in zip(header, row)}
        yield mapping.article(record, {**origin, "line": str(start), "extractor": "searchkit.csv", "key": key})
