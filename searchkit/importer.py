"""Import files into an index: walk paths, extract articles, write them, report failures."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .article import Article, clean
from .errors import ExtractError
from .extract import extract_bytes, extract_path, format_for_name, read_bytes
from .store import Index

# Files a directory walk skips: notes that live beside a corpus, not articles in it.
_NOT_ARTICLES = ("readme", "license", "licence", "notice", "copying", "attribution")


@dataclass
class ImportReport:
    """The outcome of an import: counts and one `where: reason` line per failure."""

    added: int = 0
    updated: int = 0
    duplicates: int = 0
    failed: list[str] = field(default_factory=list)
    files: int = 0

    def summary(self) -> str:
        return (f"{self.added} added, {self.updated} updated, {self.duplicates} duplicates, "
                f"{len(self.failed)} failed")


def iter_files(paths: Iterable[str]) -> Iterator[str | Path]:
    """Files to import: named files as given ("-" is stdin); directories recursively,
    taking only files whose names say a known format."""
    for name in paths:
        if name == "-":
            yield "-"
            continue
        path = Path(name)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if (child.is_file() and not any(part.startswith(".") for part in child.parts[len(path.parts):])
                        and not child.name.lower().startswith(_NOT_ARTICLES)
                        and format_for_name(child.name)):
                    yield child
        else:
            yield path


def extract_all(paths: Iterable[str], fmt: str = "auto", source: str | None = None,
                on_error: Callable[[str], None] = lambda message: None,
                on_file: Callable[[str], None] = lambda name: None) -> Iterator[Article]:
    """Clean articles from every file under `paths`; failures go to on_error as `where: reason`."""
    for path in iter_files(paths):
        where = "<stdin>" if path == "-" else str(path)
        on_file(where)
        try:
            if path == "-":
                records = extract_bytes(read_bytes(None, sys.stdin.buffer), {"path": "<stdin>"}, fmt)
            else:
                records = extract_path(path, fmt)
            for record in records:
                if isinstance(record, ExtractError):
                    on_error(str(record))
                    continue
                if source and not record.source:
                    record.source = source
                try:
                    yield clean(record)
                except ExtractError as exc:
                    line = record.origin.get("line")
                    on_error(f"{where}:{line}: {exc}" if line else f"{where}: {exc}")
        except ExtractError as exc:
            on_error(f"{where}: {exc.reason}")
        except (UnicodeError, ValueError, RecursionError, MemoryError) as exc:
            on_error(f"{where}: cannot extract ({type(exc).__name__}: {exc})")


def import_paths(index: Index, paths: Iterable[str], fmt: str = "auto", source: str | None = None,
                 on_article: Callable[[Article], None] = lambda article: None,
                 on_error: Callable[[str], None] = lambda message: None) -> ImportReport:
    """Import every file under `paths` into `index`; never stops at a bad file."""
    report = ImportReport()

    def failed(message: str) -> None:
        report.failed.append(message)
        on_error(message)

    def counted(name: str) -> None:
        report.files += 1

    def articles() -> Iterator[Article]:
        for article in extract_all(paths, fmt, source, failed, counted):
            on_article(article)
            yield article

    written = index.write(articles())
    report.added, report.updated, report.duplicates = written.added, written.updated, written.duplicates
    return report
