"""The credit line an article page owes its publisher, read from the article's `license`.

A license string reads "NAME URL - how to credit; what was changed", e.g. "CC BY 3.0
https://creativecommons.org/licenses/by/3.0/ - by the author in `author`, originally
published by Global Voices at `url`; converted from HTML to plain text". The page writes the
credit from the article's own fields (author, source, date, link to the original), links the
license, and says what was changed, as CC BY asks; public-domain works get the same courtesy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LICENSE = re.compile(r"^(?P<name>.*?)\s*(?P<url>https?://[^\s<>\"']+)?\s*(?:\s-\s+(?P<note>.*))?$", re.S)


@dataclass(frozen=True)
class Credit:
    """A license's name and link, what was changed, and whether the work is public domain."""

    name: str
    url: str
    changes: str
    public_domain: bool


def credit(license_text: str) -> Credit | None:
    """The Credit a license string asks for; None when there is no license."""
    text = " ".join((license_text or "").split())
    if not text:
        return None
    found = _LICENSE.match(text)
    name, url, note = found.group("name"), found.group("url") or "", found.group("note") or ""
    changes = note.split(";", 1)[1].strip() if ";" in note else ""
    return Credit(name=name.strip(" -") or url, url=url, changes=changes,
                  public_domain="public domain" in name.lower())
