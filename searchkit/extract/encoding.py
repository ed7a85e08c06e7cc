"""Bytes to text: BOM first, then a declared charset, then UTF-8, then windows-1252."""

from __future__ import annotations

import codecs

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode(data: bytes, declared: str | None = None) -> str:
    """Decode `data`, trusting a BOM over a declared charset over UTF-8 over windows-1252."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data.decode(name, errors="replace")
    if declared:
        try:
            codecs.lookup(declared)
        except LookupError:
            declared = None
    if declared and declared.lower().replace("_", "-") not in ("utf-8", "utf8"):
        return data.decode(declared, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("windows-1252", errors="replace")
