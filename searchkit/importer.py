"""Import files into an index: walk paths, extract articles, mark duplicates, write, report.

Files of any size are read as streams, a record at a time (extract/stream.py); pages are
extracted in worker processes (extract/parallel.py); records an earlier import took in are
skipped unread (ledger.py), so an interrupted import resumes where it stopped.

Every failure is reported as `file[:line]: reason` and the rest of the run goes on; nothing
already in the index is touched unless a newer copy of the same article replaces it.
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

from .article import Article, clean
from .engine.build import default_procs
from .errors import ExtractError, NotArticlesError
from .extract import ExtractOptions, format_for_name, open_input, read_input, read_path_bytes
from .extract.notice import ExtractNotice
from .extract.options import MAX_RECORD
from .extract.parallel import TaskPool
from .extract.records import Task, Unchanged, run_task
from .extract.stream import Input
from .idset import IdSet
from .store import Index
from .wording import plural

if TYPE_CHECKING:  # loaded by import_paths: `searchkit query` does not need SQLite's module
    from .dedupe import DuplicateFinder, Match

# Files a directory walk skips: notes that live beside a corpus, not articles in it.
_NOT_ARTICLES = re.compile(r"(?:^|[\W_])(?:readme|licen[cs]e|notice|copying|attribution)(?:[\W_]|$)", re.I)
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)
# Learning a corpus's repeated lines needs a corpus: at least this many plain-text files.
MIN_FILES_TO_LEARN = 5
# An import commits at least this often (store.Index.write's `seconds`), however slowly its
# pages extract: a kill or a power cut loses about this much work, not three batches of it.
COMMIT_SECONDS = 60.0
# Articles checked for duplicates together (_checked), and how long (seconds) the first of them
# may wait for the others.
CHECK_BATCH = 256
CHECK_WAIT = 1.0


@dataclass
class ImportReport:
    """The outcome of an import: counts and one `where: reason` line per failure.

    `unchanged`: records an earlier import already took in (ledger.py), skipped unread;
    `skipped`: files a directory walk passed over, by reason; `interrupted`: the import was
    asked to stop (import_paths' `stop`) and committed what it had read."""

    added: int = 0
    updated: int = 0
    duplicates: int = 0
    failed: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    files: int = 0
    articles: int = 0
    seconds: float = 0.0
    unchanged: int = 0
    skipped: dict[str, list[str]] = field(default_factory=dict)
    interrupted: bool = False
    bytes_read: int = 0

    def summary(self) -> str:
        unchanged = f", {self.unchanged:,} unchanged" if self.unchanged else ""
        return (f"{self.added:,} added, {self.updated:,} updated, {plural(self.duplicates, 'duplicate')}, "
                f"{len(self.failed):,} failed{unchanged}")

    def skipped_lines(self) -> list[str]:
        """`skipped 2 files: unknown format (report.pdf, data.bin)`, one line per reason."""
        return [f"skipped {plural(len(names), 'file')}: {reason} ({', '.join(names)})"
                for reason, names in self.skipped.items()]

    def rate(self) -> float:
        """Records per second over the whole run (articles, and records found unchanged)."""
        return (self.articles + self.unchanged) / self.seconds if self.seconds else 0.0


@dataclass
class Progress:
    """Where an import is: files done of files found, articles read, bytes of the input files
    read of their total size (0 when unknown, e.g. stdin), seconds since the start."""

    files_done: int
    files_total: int
    articles: int
    seconds: float
    current: str = ""
    bytes_done: int = 0
    bytes_total: int = 0

    def rate(self) -> float:
        return self.articles / self.seconds if self.seconds > 0 else 0.0

    def eta(self) -> float | None:
        """Seconds left, estimated from the bytes read (or else the files done); None until
        there is something to go on."""
        if self.bytes_total and self.bytes_done:
            return self.seconds / self.bytes_done * max(0, self.bytes_total - self.bytes_done)
        if not self.files_done or self.files_total <= 1:
            return None
        return self.seconds / self.files_done * (self.files_total - self.files_done)


def iter_files(paths: Iterable[str], on_skip: Callable[[str, str], None] = lambda name, reason: None
               ) -> Iterator[str | Path]:
    """Files to import: named files as given ("-" is stdin); directories recursively, taking
    only files whose names say a known format (the others go to on_skip with a reason; hidden
    files and notes such as READMEs are passed over quietly)."""
    for name in paths:
        if name == "-" or _URL.match(name):
            yield name
            continue
        path = Path(name)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if (not child.is_file() or any(part.startswith(".") for part in child.parts[len(path.parts):])
                        or _NOT_ARTICLES.search(child.name)):
                    continue
                if format_for_name(child.name):
                    yield child
                else:
                    on_skip(child.name, "unknown format")
        else:
            yield path


def learn_corpus_lines(files: list[str | Path], fmt: str = "auto",
                       limit: int = MAX_RECORD) -> frozenset[str]:
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
                yield split_text(read_path_bytes(path, limit))[1]
            except ExtractError:
                continue

    return learn_repeated_lines(documents())


def _open(path: str | Path) -> Input:
    if path == "-":
        return open_input(None, sys.stdin.buffer, "<stdin>")
    if isinstance(path, str) and _URL.match(path):
        raise ExtractError("is a URL: searchkit reads files only and has no network to fetch it from; "
                           "download it (e.g. with curl -o feed.xml URL) and import the file")
    return open_input(Path(path))


@dataclass
class Reading:
    """How extract_all reads: `known` recognises records already imported (Ledger.known),
    `stop` says when to stop reading (after the record in hand), `procs` processes extract
    pages (extract/parallel.py), `on_input` is told of each input opened (for progress)."""

    known: Callable[[str], Unchanged | None] | None = None
    stop: Callable[[], bool] = lambda: False
    procs: int = 1
    on_input: Callable[[Input], None] = lambda source: None
    on_unchanged: Callable[[Unchanged], None] = lambda item: None
    on_failed_record: Callable[[str, str], None] = lambda key, message: None
    on_key: Callable[[str, str], None] = lambda article_id, key: None
    # Files read and extracted elsewhere (cluster.DaskRunner.extract_files): given the files,
    # format and options, yields for each file, in order, what extract_file gave for it
    # (None: read it here). `ledger` is the index directory whose ledger they consult.
    remote: Callable[..., Iterator[list | None]] | None = None
    ledger: Path | None = None


def extract_all(paths: Iterable[str], fmt: str = "auto", source: str | None = None,
                on_error: Callable[[str], None] = lambda message: None,
                on_file: Callable[[str], None] = lambda name: None,
                on_notice: Callable[[str], None] = lambda message: None,
                files: list[str | Path] | None = None, max_record: int = MAX_RECORD,
                reading: Reading | None = None) -> Iterator[Article]:
    """Clean articles from every file under `paths`; failures go to on_error as `where: reason`."""
    reading = reading or Reading()
    paths = list(paths)
    files = list(iter_files(paths)) if files is None else files
    named = {str(p) for p in paths}
    options = ExtractOptions(repeated_lines=learn_corpus_lines(files, fmt, max_record), max_record=max_record,
                             salt=source or "")

    def failed(error: ExtractError) -> None:
        on_error(str(error))
        if error.key:
            reading.on_failed_record(error.key, str(error))

    done_elsewhere = reading.remote(files, fmt, options, reading.ledger) if reading.remote else None
    with TaskPool(reading.procs) as pool:
        for path in files:
            if reading.stop():
                return
            where = "<stdin>" if path == "-" else str(path)
            on_file(where)
            extracted = next(done_elsewhere) if done_elsewhere is not None else None
            opened = None
            if extracted is None:
                try:
                    opened = _open(path)
                except ExtractError as exc:
                    on_error(f"{where}: {exc.reason}")
                    continue
                reading.on_input(opened)
            try:
                records = (_until(iter(extracted), reading.stop) if opened is None else
                           pool.resolve(_until(read_input(opened, fmt, options, reading.known), reading.stop)))
                for record in records:
                    if isinstance(record, Unchanged):
                        reading.on_unchanged(record)
                        continue
                    if isinstance(record, _Broken):
                        raise record.error
                    if isinstance(record, ExtractError):
                        failed(record)
                        continue
                    if isinstance(record, ExtractNotice):
                        on_notice(str(record))
                        continue
                    if source and not record.source:
                        record.source = source
                    key = record.origin.pop("key", "")
                    try:
                        article = clean(record)
                    except ExtractError as exc:
                        line = record.origin.get("line") or record.origin.get("record")
                        key = key if record.origin.get("format") != "feed" else ""  # a feed's other entries
                        failed(ExtractError(exc.reason, f"{where}:{line}" if line else where, key))
                        continue
                    if key:
                        reading.on_key(article.id, key)
                    yield article
            except NotArticlesError as exc:
                if where in named:
                    on_error(f"{where}: {exc.reason}")
                else:
                    on_notice(f"{where}: skipped, {exc.reason}")
            except ExtractError as exc:
                on_error(f"{where}: {exc.reason}")
            except Exception as exc:  # a parser's bug on hostile bytes is this file's failure, not the run's
                on_error(f"{where}: cannot extract ({type(exc).__name__}: {exc})")
            finally:
                if opened is not None:
                    opened.close()
        if done_elsewhere is not None:
            done_elsewhere.close()  # reading stopped: the files still out are not waited for


def extract_file(path: str | Path, fmt: str, options: ExtractOptions, ledger: Path | None = None) -> list | None:
    """What one file holds, read and extracted in this process (a cluster's worker): its
    articles, errors, notices and, for the records the ledger of the index at `ledger` knows,
    Unchanged, in order. A failure to open or read it ends the list (as _Broken), for
    extract_all to report as it reports its own. None when this machine does not see the
    file: the importing process reads it itself."""
    from .ledger import DB_NAME, Ledger

    if path == "-" or not Path(path).exists():
        return None
    items: list = []
    book = Ledger(ledger) if ledger is not None and (Path(ledger) / DB_NAME).exists() else None
    try:
        opened = _open(path)
        try:
            for item in read_input(opened, fmt, options, book.known if book else None):
                items.extend(run_task(item) if isinstance(item, Task) else [item])
        finally:
            opened.close()
    except Exception as exc:  # reported by extract_all, as if read there
        items.append(_Broken(exc))
    finally:
        if book is not None:
            book.close()
    return items


@dataclass
class _Broken:
    """An input's reading failed here (its compressed data breaks off, say): raised again once
    the records before it, still being extracted in workers, are taken in."""

    error: Exception


def _until(items: Iterator, stop: Callable[[], bool]) -> Iterator:
    """`items` until `stop()` says to stop (checked before each one is taken), then _Broken
    if reading them failed."""
    while not stop():
        try:
            item = next(items)
        except StopIteration:
            return
        except Exception as exc:
            yield _Broken(exc)
            return
        yield item


def import_paths(index: Index, paths: Iterable[str], fmt: str = "auto", source: str | None = None,
                 on_article: Callable[[Article], None] = lambda article: None,
                 on_error: Callable[[str], None] = lambda message: None,
                 on_notice: Callable[[str], None] = lambda message: None,
                 on_progress: Callable[[Progress], None] = lambda progress: None,
                 dedupe: bool = True, procs: int | None = None, max_record: int = MAX_RECORD,
                 stop: Callable[[], bool] = lambda: False, resume: bool = True,
                 commit_seconds: float | None = COMMIT_SECONDS) -> ImportReport:
    """Import every file under `paths` into `index`; never stops at a bad file.

    Pages (HTML, WARC records, feeds) are extracted by `procs` worker processes and articles
    indexed by as many more (default: one per core; see extract/parallel.py and
    store.Index.write); reading, duplicate detection and commits stay in this one, in file
    order. On a sharded index with a cluster runner (cluster.DaskRunner), each file is read
    and extracted on a worker instead (extract_file) and each shard's batches are written
    there too; duplicate detection and the ledger stay here. A record over `max_record`
    bytes is skipped and named.

    Each article's `cluster` is set to the first stored article it duplicates (dedupe.py).
    With `resume`, records an earlier import took in are skipped unread (ledger.py). When
    `stop()` turns true (Ctrl-C in the CLI) reading stops, the articles taken so far are
    committed (not those still waiting for their batch's duplicate check, _checked) and the
    report says `interrupted`: running the same import again picks up where it stopped.
    Whatever the pace, what is read is committed about every `commit_seconds`.
    """
    from .dedupe import DuplicateFinder
    from .ledger import Ledger

    procs = default_procs() if procs is None else max(1, procs)
    report = ImportReport()
    started = time.monotonic()
    paths = list(paths)
    files = list(iter_files(paths, lambda name, reason: report.skipped.setdefault(reason, []).append(name)))
    sizes = [_size(f) for f in files]
    current = [""]
    inputs: list[Input] = []
    shown = [0.0]

    def position() -> int:
        return sum(sizes[:report.files]) + (inputs[-1].position() if inputs and current[0] else 0)

    def progress() -> None:
        shown[0] = time.monotonic()
        on_progress(Progress(report.files, len(files), report.articles, shown[0] - started, current[0],
                             position(), sum(sizes)))

    def failed(message: str) -> None:
        report.failed.append(message)
        on_error(message)

    def noticed(message: str) -> None:
        report.notices.append(message)
        on_notice(message)

    def next_file(name: str) -> None:
        if current[0]:
            report.files += 1
            inputs.clear()
        current[0] = name
        progress()

    def unchanged(item: Unchanged) -> None:
        report.unchanged += item.articles
        if item.failure:
            failed(item.failure)
        if time.monotonic() - shown[0] > 0.25:
            progress()

    seen = IdSet()  # every id read (by hash: a 1M-article import's ids as str were ~90 MB)
    clustered = 0
    waiting: dict[str, list[str]] = {}  # article id -> keys of its records, until committed
    parts: dict[str, list] = {}  # key -> [its articles not yet committed, their ids] (a feed has several)

    def committed(ids) -> None:
        done = []
        for article_id in ids:
            for key in waiting.pop(article_id, ()):
                part = parts[key]
                part[0] -= 1
                if not part[0]:
                    del parts[key]
                    done.extend((key, i) for i in part[1])
        ledger.committed(done)

    def keyed(article_id: str, key: str) -> None:
        waiting.setdefault(article_id, []).append(key)
        part = parts.setdefault(key, [0, []])
        part[0] += 1
        part[1].append(article_id)

    def articles(finder: DuplicateFinder | None) -> Iterator[Article]:
        nonlocal clustered
        reading = Reading(ledger.known if resume else None, stop, procs, inputs.append, unchanged,
                          ledger.failed, keyed, remote, index.path if resume else None)
        read = extract_all(paths, fmt, source, failed, next_file, noticed, files, max_record, reading)
        for article, match in _checked(read, finder, stop) if finder else ((a, None) for a in read):
            if finder:
                article.cluster = match.cluster if match else article.id
                # A repeat counts once; so does a pair imported again: the first of the two then
                # finds the second, whose cluster is the first's own id (not a duplicate of it).
                clustered += match is not None and article.cluster != article.id and article.id not in seen
            seen.add(article.id)
            report.articles += 1
            on_article(article)
            if time.monotonic() - shown[0] > 0.25:
                progress()
            yield article
        report.interrupted = stop()
        seen.clear()  # every id read: not needed by the merge that ends the write

    # A sharded index on a cluster has its files read and extracted on the workers.
    remote = getattr(getattr(index, "runner", None), "extract_files", None)
    index.path.mkdir(parents=True, exist_ok=True)
    # A plain index merges its segments once the duplicate signatures and the ledger are
    # committed (Index.write's merge=False, then Index.merge): the merges' room is a share
    # of the index's bytes on disk, and the signatures' last commit about doubles their file.
    # (A sharded index merges each shard as it writes it.)
    later = {"merge": False} if isinstance(index, Index) else {}
    with Ledger(index.path) as ledger:
        if dedupe:
            with DuplicateFinder(index.path, on_notice=noticed) as finder:
                written = index.write(articles(finder), procs=procs, on_commit=committed, seconds=commit_seconds,
                                      **later)
            if finder.failure:
                noticed(f"{index.path}: duplicate detection stopped ({finder.failure}); "
                        "articles were imported without it")
        else:
            written = index.write(articles(None), procs=procs, on_commit=committed, seconds=commit_seconds,
                                  **later)
    if later:
        index.merge()
    if ledger.failure:
        noticed(f"{index.path}: the record of what was imported stopped ({ledger.failure}); "
                "a re-run will read every record again")
    report.bytes_read = position()
    if current[0]:
        report.files += 1
    report.added, report.updated = written.added, written.updated
    report.duplicates = written.duplicates + clustered
    report.seconds = time.monotonic() - started
    progress()
    return report


def _checked(articles: Iterator[Article], finder: DuplicateFinder, stop: Callable[[], bool],
             size: int = CHECK_BATCH, seconds: float = CHECK_WAIT) -> Iterator[tuple[Article, Match | None]]:
    """Each article with the earlier one it duplicates (DuplicateFinder.check), `size`
    articles at a time: their fingerprints worked out with numpy over the whole batch and
    looked up together (several times less CPU than one article at a time, the same
    answers). A batch is also closed when an article arrives more than `seconds` after its
    first, so a slow input's articles are not held back long.

    Once `stop()` is true no more articles are given: those of the batch in hand are not
    imported (the ledger does not know them, so a rerun reads them again; the finder
    remembers them, and finds each the same earlier article when it comes again)."""
    batch: list[Article] = []
    opened = 0.0
    for article in articles:
        if not batch:
            opened = time.monotonic()
        batch.append(article)
        if len(batch) >= size or time.monotonic() - opened > seconds:
            yield from _check_batch(batch, finder, stop)
            batch = []
    yield from _check_batch(batch, finder, stop)


def _check_batch(batch: list[Article], finder: DuplicateFinder,
                 stop: Callable[[], bool]) -> Iterator[tuple[Article, Match | None]]:
    if not batch or stop():
        return
    prints = finder.fingerprints([(article.body, article.title) for article in batch])
    for pair in zip(batch, finder.check_all([(article.id, known) for article, known in zip(batch, prints)])):
        if stop():
            return
        yield pair


def _size(path: str | Path) -> int:
    try:
        return Path(path).stat().st_size if isinstance(path, Path) else 0
    except OSError:
        return 0
