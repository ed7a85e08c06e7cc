"""A note about a file that is worth telling the user but is not a failure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExtractNotice:
    """`where: message`, e.g. columns of a CSV file that were ignored."""

    message: str
    where: str = ""

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message
