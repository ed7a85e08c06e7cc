"""Import files into an index: walk paths, extract articles, mark duplicates, write, report.

Every failure is reported as `file[:line]: reason` and the rest of the run goes on; nothing
already in the index is touched unless a newer copy of the same article replaces it.
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .article import Article, clean
from .errors import ExtractError, NotArticlesError
from .extract import ExtractOptions, extract_bytes, extract_path, format_for_name, read_bytes
from .extract.notice import ExtractNotice
from .store import Index

# Files a directory walk skips: notes that live beside a corpus, not articles in it.
_NOT_ARTICLES = re.compile(r"(?:^|[\W_])(?:readme|licen[cs]e|notice|copying|attribution)(?:[\W_]|$)", re.I)
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)
# Learning a corpus's repeated lines needs a corpus: at least this many plain-text files.
MIN_FILES_TO_LEARN = 5


@dataclass
class ImportReport:
    """The outcome of an import: counts and one `where: reason` line per failure."""

    added: int = 0
    updated: int = 0
    duplicates: int = 0
    failed: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    files: int = 0
    articles: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (f"{self.added} added, {self.updated} updated, {self.duplicates} duplicates, "
                f"{len(self.failed)} failed")

    def rate(self) -> float:
        """Articles per second over the whole run."""
        return self.articles / self.seconds if self.seconds else 0.0


@dataclass
class Progress:
    """Where an import is: files done of files found, articles read, seconds since the start."""

    files_done: int
    files_total: int
    articles: int
    seconds: float
    current: str = ""

    def rate(self) -> float:
        return self.articles / self.seconds if self.seconds > 0 else 0.0

    def eta(self) -> float | None:
        """Seconds left, estimated from files done; None until one file is done."""
        if not self.files_done or self.files_total <= 1:
            return None
        return self.seconds / self.files_done * (self.files_total - self.files_done)


def iter_files(paths: Iterable[str]) -> Iterator[str | Path]:
    """Files to import: named files as given ("-" is stdin); directories recursively,
    taking only files whose names say a known format."""
    for name in paths:
        if name == "-" or _URL.match(name):
            yield name
            continue
        path = Path(name)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if (child.is_file() and not any(part.startswith(".") for part in child.parts[len(path.parts):])
                        and not _NOT_ARTICLES.search(child.name)
                        and format_for_name(child.name)):
                    yield child
        else:
            yield path


def learn_corpus_lines(files: list[str | Path], fmt: str = "auto") -> frozenset[str]:
    """Lines repeated across the plain-text files of this run (site furniture), if there are
    enough of them to tell; an unreadable file is skipped here and reported when imported."""
    from .extract.boilerplate import learn_repeated_lines
    from .extract.text import split_text

    texts = [f for f in files if isinstance(f, Path)
             and (fmt == "text" or (fmt == "auto" and format_for_name(f.name) == "text"))]
    if len(texts) < MIN_FILES_TO_LEARN:
        return frozenset()

    def documents() -> Iterator[list[str]]:
        for path in texts:
            try:
                yield split_text(read_bytes(path))[1]
            except ExtractError:
                continue

    return learn_repeated_lines(documents())


def _records(path: str | Path, fmt: str, options: ExtractOptions):
    if path == "-":
        return extract_bytes(read_bytes(None, sys.stdin.buffer), {"path": "<stdin>"}, fmt, options)
    if isinstance(path, str) and _URL.match(path):
        raise ExtractError("is a URL: searchkit reads files only and has no network to fetch it from; "
                           "download it (e.g. with curl -o feed.xml URL) and import the file")
    return extract_path(path, fmt, options)


def extract_all(paths: Iterable[str], fmt: str = "auto", source: str | None = None,
                on_error: Callable[[str], None] = lambda message: None,
                on_file: Callable[[str], None] = lambda name: None,
                on_notice: Callable[[str], None] = lambda message: None,
                files: list[str | Path] | None = None, options: ExtractOptions | None = None) -> Iterator[Article]:
    """Clean articles from every file under `paths`; failures go to on_error as `where: reason`.

    `options` are the extraction options of a larger run this is part of (the repeated lines
    learnt over all its files: cluster.py extracts one file per worker task)."""
    paths = list(paths)
    files = list(iter_files(paths)) if files is None else files
    named = {str(p) for p in paths}
    if options is None:
        options = ExtractOptions(repeated_lines=learn_corpus_lines(files, fmt))
    for path in files:
        where = "<stdin>" if path == "-" else str(path)
        on_file(where)
        try:
            for record in _records(path, fmt, options):
                if isinstance(record, ExtractError):
                    on_error(str(record))
                    continue
                if isinstance(record, ExtractNotice):
                    on_notice(str(record))
                    continue
                if source and not record.source:
                    record.source = source
                try:
                    yield clean(record)
                except ExtractError as exc:
                    line = record.origin.get("line")
                    on_error(f"{where}:{line}: {exc}" if line else f"{where}: {exc}")
        except NotArticlesError as exc:
            if where in named:
                on_error(f"{where}: {exc.reason}")
            else:
                on_notice(f"{where}: skipped, {exc.reason}")
        except ExtractError as exc:
            on_error(f"{where}: {exc.reason}")
        except Exception as exc:  # a parser's bug on hostile bytes is this file's failure, not the run's
            on_error(f"{where}: cannot extract ({type(exc).__name__}: {exc})")


def import_paths(index: Index, paths: Iterable[str], fmt: str = "auto", source: str | None = None,
                 on_article: Callable[[Article], None] = lambda article: None,
                 on_error: Callable[[str], None] = lambda message: None,
                 on_notice: Callable[[str], None] = lambda message: None,
                 on_progress: Callable[[Progress], None] = lambda progress: None,
                 dedupe: bool = True, procs: int | None = None,
                 extract: Callable[..., Iterable[Article]] | None = None) -> ImportReport:
    """Import every file under `paths` into `index`; never stops at a bad file.

    Articles are indexed by `procs` processes (default: one per core; see store.Index.write);
    extraction and duplicate detection stay in this one, in file order.

    Each article's `cluster` is set to the first stored article it duplicates (dedupe.py).
    `extract(on_error, on_file, on_notice)` replaces extract_all as the source of the articles
    (cluster.py: extracted on a cluster's workers, in file order).
    """
    from .dedupe import DuplicateFinder

    report = ImportReport()
    started = time.monotonic()
    paths = list(paths)
    files = list(iter_files(paths))
    current = [""]

    def progress() -> None:
        on_progress(Progress(report.files, len(files), report.articles, time.monotonic() - started, current[0]))

    def failed(message: str) -> None:
        report.failed.append(message)
        on_error(message)

    def noticed(message: str) -> None:
        report.notices.append(message)
        on_notice(message)

    def next_file(name: str) -> None:
        if current[0]:
            report.files += 1
        current[0] = name
        progress()

    seen: set[str] = set()
    clustered = 0

    def articles(finder: DuplicateFinder | None) -> Iterator[Article]:
        nonlocal clustered
        source_articles = (extract(failed, next_file, noticed) if extract is not None
                           else extract_all(paths, fmt, source, failed, next_file, noticed, files))
        for article in source_articles:
            if finder:
                match = finder.check(article.id, article.body, article.title)
                article.cluster = match.cluster if match else article.id
                clustered += match is not None and article.id not in seen  # a repeat counts once
            seen.add(article.id)
            report.articles += 1
            on_article(article)
            if report.articles % 200 == 0:
                progress()
            yield article

    index.path.mkdir(parents=True, exist_ok=True)
    if dedupe:
        with DuplicateFinder(index.path) as finder:
            written = index.write(articles(finder), procs=procs)
        if finder.failure:
            noticed(f"{index.path}: duplicate detection stopped ({finder.failure}); "
                    "articles were imported without it")
    else:
        written = index.write(articles(None), procs=procs)
    if current[0]:
        report.files += 1
    report.added, report.updated = written.added, written.updated
    report.duplicates = written.duplicates + clustered
    report.seconds = time.monotonic() - started
    progress()
    return report
