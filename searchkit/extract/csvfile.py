"""CSV/TSV with a header row: columns map to Article fields by common names (columns.py).

Columns nothing claims are ignored, with one notice per file naming them.
"""

from __future__ import annotations

import csv
import io
import sys
from typing import Iterator

from ..errors import ExtractError, NotArticlesError
from .columns import ColumnMap
from .encoding import decode
from .notice import ExtractNotice
from .options import ExtractOptions


def _dialect(text: str, path: str) -> type[csv.Dialect] | csv.Dialect:
    if path.lower().removesuffix(".gz").endswith(".tsv"):
        return csv.excel_tab
    try:
        return csv.Sniffer().sniff(text[:20_000].split("\n", 1)[0], delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def extract(data: bytes, origin: dict, options: ExtractOptions) -> Iterator:
    text = decode(data)
    path = origin.get("path", "")
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    reader = csv.reader(io.StringIO(text, newline=""), _dialect(text, path))
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise ExtractError(f"no CSV header row ({exc or 'empty'})") from None
    mapping = ColumnMap.from_names(header)
    if "title" not in mapping.fields and "body" not in mapping.fields:
        raise NotArticlesError(f"no title or body column in the header ({', '.join(header[:8])}): "
                           "name one title/headline or body/text/content")
    if mapping.unknown:
        yield ExtractNotice(f"ignored columns: {', '.join(mapping.unknown)}", path)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            yield ExtractError(f"bad CSV row ({exc})", f"{path}:{reader.line_num}")
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            yield ExtractError(f"{len(row)} cells, the header has {len(header)}", f"{path}:{reader.line_num}")
            continue
        record = dict(zip(header, row))
        yield mapping.article(record, {**origin, "line": str(reader.line_num), "extractor": "searchkit.csv"})
