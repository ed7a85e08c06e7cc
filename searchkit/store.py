"""The index on disk: open or create it, add/update/delete articles, rebuild atomically.

Layout of an index directory:

    CURRENT          name of the live generation (replaced atomically by `reindex`)
    gen-<n>/         a Whoosh index plus searchkit.json ({"schema": SCHEMA_VERSION})
    writer.lock      held (flock) by the one process writing; others wait their turn

Readers never take the lock: they open whatever generation CURRENT names, and Whoosh
only ever shows them fully committed segments (a commit is a new TOC file renamed into place).

Crash safety: a writer killed at any moment leaves the last committed state readable. What it
leaves behind (Whoosh's MAIN.tmp/ spill directory, segment files no TOC names, half-written TOC
files, a CURRENT.tmp, a half-built gen-<n>/ from reindex) is removed by the next writer as soon
as it holds the lock, because only a writer can have made them and none is running then.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import shutil
import threading
import time
import weakref
from collections import deque
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable, ContextManager, Iterable, Iterator

import numpy as np

from .article import Article
from .engine import container
from .engine.codec import EngineCodec
from .engine.container import FileStorage, Searcher, long_to_datetime
from .engine.format import NewFormatError, OldFormatError
from .engine.merge import MERGE_ROOM, merge_plan, merge_segments
from .engine.segment import SegmentCache, Snapshot
from .display import shown
from .snippets import STORED_SENTENCES, sentence_bounds
from .errors import (DiskFullError, IndexLockedError, IndexMissingError, SchemaMismatchError,
                     SearchkitError)
from .idset import IdSet
from .engine.schema import SCHEMA_VERSION, build_schema

if TYPE_CHECKING:
    from .engine.build import ParallelBuilder

CURRENT = "CURRENT"
META = "searchkit.json"
LOCK = "writer.lock"
BATCH = 10_000  # articles per commit and per segment: bounds memory and the work lost to a crash
LIMIT_MB = 256  # memory for Whoosh's posting pool (merges, reindex) before it spills to disk
LOCK_TIMEOUT = 600.0  # seconds a writer waits for another writer before giving up
# Gives the context a writer waits in, when another holds the lock (see take_writer_lock).
LockWait = Callable[[], ContextManager[object]]
WHOOSH_NAME = "MAIN"  # Whoosh's default index name inside a generation directory
# Debris of a killed Whoosh writer (its spill directory, TOC files written but never renamed)
# or of a killed import (the directory its workers write segments in: build.staging_name).
_WHOOSH_TEMP = re.compile(rf"^({WHOOSH_NAME}\.tmp|{WHOOSH_NAME}\.build|_{WHOOSH_NAME}_[0-9]+\.toc\..+)$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LINKABLE = re.compile(r"^https?://[^/?#]", re.I)
_OPEN_RETRIES = 5  # a reader racing a reindex swap re-reads CURRENT this many times


@dataclass
class WriteReport:
    """What a write did: new ids, ids that replaced a stored article, repeats within the run."""

    added: int = 0
    updated: int = 0
    duplicates: int = 0


def write_error(path: Path, exc: OSError) -> SearchkitError:
    """A user-facing error for a failed write; a full disk says so and that nothing was lost."""
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return DiskFullError(
            f"out of disk space writing the index at {path} ({reason}): nothing committed was lost "
            "and searches still work; free some disk space and run the same command again"
        )
    return SearchkitError(f"cannot write the index at {path} ({reason}): check its permissions "
                          "and disk, then run the same command again")


def _delete_documents(writer, held: dict[str, list[int]]) -> None:
    """Delete the documents of Index._held's answer in `writer`."""
    for docnums in held.values():
        for docnum in docnums:
            writer.delete_document(docnum)


def _cancel(writer) -> None:
    """Cancel a Whoosh writer after a failure; a writer a failed commit already closed is fine.

    An MpWriter's cancel() only flags its sub-processes in the parent's memory, so they would
    go on reading job files that _recover() is about to delete (and print tracebacks): stop them.
    """
    for task in getattr(writer, "tasks", ()):
        if task.is_alive():
            task.terminate()
        task.join(10)
    try:
        writer.cancel()
    except (OSError, container.IndexingError):
        pass  # the original failure is what the user needs to see; _recover() removes the files


def _naive_utc(moment: datetime | None) -> datetime | None:
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment else None


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=timezone.utc) if moment else None


def link_or_empty(url: str) -> str:
    """`url` if it is an absolute http(s) URL, else "": only such URLs are stored, so no page
    can ever link a javascript:, data: or relative URL, even one written without clean()."""
    url = (url or "").strip()
    return url if _LINKABLE.match(url) and not any(c in url for c in "\x00\r\n\t\"'<> ") else ""


def printable(text: str) -> str:
    """`text` without control characters (newlines and tabs kept): no stored field can carry
    terminal escape sequences to `searchkit query`, or NULs and the like to a page."""
    text = text or ""
    return _CONTROL.sub("", text) if _CONTROL.search(text) else text  # a search is 2.5x a sub's speed


def article_to_doc(article: Article) -> dict:
    """The Whoosh document for an article (fields of schema.build_schema); add_sentences adds
    its body's sentences when it is built."""
    doc = {
        "id": article.id,
        "url": link_or_empty(article.url),
        "title": printable(article.title),
        "body": printable(article.body),
        "source": printable(article.source),
        "author": printable(article.author),
        "tags": ",".join(printable(t).replace(",", " ") for t in article.tags),
        "language": printable(article.language),
        "license": printable(article.license),
        "origin": json.dumps(article.origin, ensure_ascii=False),
        "cluster": article.cluster or article.id,
    }
    if article.source:
        doc["source_key"] = shown(doc["source"])  # what facets list and `source=` filters on
    if article.published:
        doc["published"] = _naive_utc(article.published)
    if article.imported:
        doc["imported"] = _naive_utc(article.imported)
    return doc


def add_sentences(doc: dict) -> None:
    """Add to an article_to_doc document its body's sentences (snippets.sentence_bounds of the
    text a snippet is made of, search.make_hit), kept with the stored fields, not indexed
    (build_segment). Done by the build workers when there are some (ParallelBuilder(prepare=)):
    ~55 us an article that the importing process, the import's serial part, need not spend."""
    bounds = sentence_bounds(shown(doc["body"]))
    if bounds:
        doc[STORED_SENTENCES] = bounds


def doc_to_article(fields: dict) -> Article:
    """The Article for a document's stored fields."""
    try:
        origin = json.loads(fields.get("origin") or "{}")
    except ValueError:
        origin = {}
    tags = [t for t in (fields.get("tags") or "").split(",") if t]
    return Article(
        id=fields["id"],
        url=link_or_empty(fields.get("url") or ""),
        title=fields.get("title") or "",
        body=fields.get("body") or "",
        source=fields.get("source") or "",
        author=fields.get("author") or "",
        published=_aware(fields.get("published")),
        language=fields.get("language") or "",
        tags=tags,
        license=fields.get("license") or "",
        imported=_aware(fields.get("imported")),
        origin=origin,
        cluster=fields.get("cluster") or fields["id"],
    )


class Index:
    """A searchkit index directory. Use open_index() to get one."""

    def __init__(self, path: Path, lock_timeout: float = LOCK_TIMEOUT,
                 on_lock_wait: LockWait | None = None) -> None:
        self.path = path
        self.lock_timeout = lock_timeout
        self.on_lock_wait = on_lock_wait  # entered while a writer waits for another (take_writer_lock)
        # (generation name, its open Whoosh index): one tuple, so threads sharing this Index
        # (the web server's) never pair one generation's name with another's index.
        self._open: tuple[str, container.Index] | None = None
        self._lock_fds: tuple[int, ...] = ()  # the writer lock's descriptor while it is held
        self._arrays = None
        self._segments = SegmentCache()  # each live segment's files, opened once
        # thread id -> (generation, the searcher it keeps open): see searcher()
        self._searchers: dict[int, tuple[str, Searcher]] = {}
        # Closes them when this Index is collected. A weakref callback, not __del__: when the
        # Index dies in a reference cycle (a Flask app's), the garbage collector may finalize
        # the searchers' open files before __del__ would close them, and each would warn.
        self._closer = weakref.finalize(self, _close_searchers, self._searchers)

    @property
    def arrays(self):
        """Numpy arrays read from this index's segments (arrays.ArrayCache), made on first use."""
        if self._arrays is None:
            from .arrays import ArrayCache

            self._arrays = ArrayCache()
        return self._arrays

    def snapshot(self) -> Snapshot:
        """The live segments of the latest committed state (engine.segment.Snapshot): the
        arrays the evaluator reads."""
        def read(ix: container.Index) -> Snapshot:
            try:
                return self._segments.snapshot(ix)
            except OldFormatError:
                raise self._old_format() from None

        return self._with_live(read)

    # -- reading -------------------------------------------------------------------------

    def _current(self) -> str:
        """The live generation's name, read from CURRENT at every call (a reindex replaces it).
        Read with os.open/os.read: every search asks, and a pathlib text read costs 3-4x more."""
        try:
            fd = os.open(os.path.join(self.path, CURRENT), os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            try:
                return os.read(fd, 4096).decode("utf-8").strip()  # (a generation's name: a few bytes)
            finally:
                os.close(fd)
        except FileNotFoundError:
            raise IndexMissingError(
                f"no index at {self.path}: create one with `searchkit import PATH` "
                "(or point --index / SEARCHKIT_INDEX at an existing one)"
            ) from None

    def schema_version(self) -> int:
        """The schema version the live generation was built with."""
        meta = self.path / self._current() / META
        try:
            return int(json.loads(meta.read_text("utf-8"))["schema"])
        except (OSError, ValueError, KeyError):
            return 0

    def check_schema(self) -> None:
        """Raise SchemaMismatchError unless the index matches this searchkit's schema."""
        found = self.schema_version()
        if found != SCHEMA_VERSION:
            raise self._old_format(found)

    def _old_format(self, found: int | None = None) -> SchemaMismatchError:
        """The one-line error for an index written by another version of searchkit: another
        schema version, or segment files in an older layout (format.OldFormatError)."""
        found = self.schema_version() if found is None else found
        if found == SCHEMA_VERSION:
            return SchemaMismatchError(f"the index at {self.path} holds segments in an older format: "
                                       "run `searchkit reindex` to convert it")
        return SchemaMismatchError(
            f"the index at {self.path} was built with schema version {found}, this searchkit "
            f"uses {SCHEMA_VERSION}: run `searchkit reindex` to convert it"
        )

    def whoosh_index(self) -> container.Index:
        """The Whoosh index of the live generation (reopened after a reindex swaps it)."""
        generation = self._current()
        opened = self._open
        if opened is not None and opened[0] == generation:
            return opened[1]
        try:
            ix = container.open_dir(str(self.path / generation))
        except (OSError, container.EmptyIndexError) as exc:
            raise SearchkitError(
                f"cannot open the index at {self.path} ({exc}): run `searchkit reindex` "
                "or restore it from a backup"
            ) from None
        self._open = (generation, ix)
        return ix

    def _with_live(self, use: Callable[[container.Index], object]):
        """use(live Whoosh index), retried if a reindex swapped and removed it meanwhile.

        A reader that read CURRENT just before a swap may find the old generation deleted by
        the time it opens its files; CURRENT then names the new one, so it tries again there.
        Likewise a reader that read a commit's TOC just before a merge committed may find the
        merged segments' files gone: the next commit names the merged segment.
        """
        for attempt in range(_OPEN_RETRIES):
            generation = self._current()
            try:
                return use(self.whoosh_index())
            except Exception as exc:  # noqa: BLE001 - Whoosh raises struct/pickle/value errors on damaged files
                if attempt < _OPEN_RETRIES - 1 and self._current() != generation:
                    self._open = None
                    continue
                if attempt < _OPEN_RETRIES - 1 and isinstance(exc, FileNotFoundError):
                    continue  # (a file missing for good fails the same way each time)
                if isinstance(exc, SearchkitError):
                    raise
                if isinstance(exc, OldFormatError):
                    raise self._old_format() from None
                if isinstance(exc, NewFormatError):
                    raise SearchkitError(f"the index at {self.path} was written by a newer searchkit ({exc}): "
                                         "upgrade searchkit to read it") from None
                raise SearchkitError(
                    f"cannot read the index at {self.path} ({exc}): it may be damaged; restore it "
                    "from a backup or import your articles into a new index (see docs/operations.md)"
                ) from None

    @contextmanager
    def searcher(self) -> Iterator[Searcher]:
        """A Whoosh searcher over the latest committed state (stored fields, parsing, lexicon).

        Each thread keeps its searcher open between calls and reopens it when a commit or a
        reindex changed the index: opening every segment's files again costs more than most
        queries (a searcher is not shared between threads: its files have one read position).
        """
        yield self._thread_searcher()

    def _thread_searcher(self) -> Searcher:
        me = threading.get_ident()
        cached = self._searchers.get(me)
        generation = self._current()
        if cached is not None and cached[0] == generation:
            # Not Whoosh's refresh(): it reuses a segment's reader by segment id, with the
            # deletions it had then, so articles an import replaced came back as matches.
            try:
                if cached[1].up_to_date():
                    return cached[1]
            except (OSError, container.EmptyIndexError):
                pass  # its files are gone (a reindex finished meanwhile): open the new ones
        # Not Searcher.refresh(): it reuses the reader of every segment it already had, with that
        # segment's deletions as they were, so a deleted or updated article would still be found.
        if cached is not None:
            del self._searchers[me]
            cached[1].close()
        opened = self._with_live(lambda ix: (self._current(), ix.searcher()))
        self._searchers[me] = opened
        return opened[1]

    def close(self) -> None:
        """Close the searchers this Index keeps open (one per thread that searched)."""
        _close_searchers(self._searchers)

    def get(self, article_id: str) -> Article | None:
        """The stored article with this id, or None."""
        with self.searcher() as searcher:
            fields = searcher.document(id=article_id)
        return doc_to_article(fields) if fields else None

    def articles(self) -> Iterator[Article]:
        """Every stored article, in index order."""
        with self._with_live(lambda ix: ix.reader()) as reader:
            for _, fields in reader.iter_docs():
                yield doc_to_article(fields)

    def __len__(self) -> int:
        with self._with_live(lambda ix: ix.reader()) as reader:
            return reader.doc_count()

    def stats(self) -> dict:
        """Article count, per-source counts, date range, bytes on disk (in all and per part of
        the index: postings, positions, term dictionary, stored fields, ..., and the duplicate
        signatures and import ledger beside it), schema version.
        Counted from the columns of the live segments, without reading any article."""
        sources: dict[str, int] = {}
        first = last = None
        count = 0
        parts: dict[str, int] = {}
        for reader, _ in self.snapshot().segments:
            live = ~reader.deleted()
            count += int(live.sum())
            codes, names = reader.categories("source_key")
            for code, n in enumerate(np.bincount(codes[live], minlength=len(names)).tolist()):
                if n:
                    sources[names[code]] = sources.get(names[code], 0) + n
            values, has = reader.numbers("published")
            dated = values[live & has]
            if len(dated):
                low, high = int(dated.min()), int(dated.max())
                first = low if first is None else min(first, low)
                last = high if last is None else max(last, high)
            for part, size in reader.nbytes().items():
                parts[part] = parts.get(part, 0) + size
        size, beside = self._disk_bytes(self.path / self._current())
        parts["other files"] = size - sum(parts.values())  # the TOC, searchkit.json, locks
        parts.update(beside)
        size += sum(beside.values())
        return {
            "articles": count,
            "sources": dict(sorted(sources.items(), key=lambda kv: (-kv[1], kv[0]))),
            "first": _aware(long_to_datetime(first)).isoformat() if first is not None else None,
            "last": _aware(long_to_datetime(last)).isoformat() if last is not None else None,
            "bytes": size,
            "bytes_by_part": dict(sorted(parts.items(), key=lambda kv: (-kv[1], kv[0]))),
            "schema": self.schema_version(),
            "path": str(self.path),
        }

    def _disk_bytes(self, generation: Path) -> tuple[int, dict[str, int]]:
        """What the index takes on disk: the bytes of the files of its `generation` folder,
        and by part the bytes of what an import leaves beside them (importer.py)."""
        size = sum(f.stat().st_size for f in generation.iterdir() if f.is_file())
        beside = {}
        for part, name in (("duplicate signatures", "dedupe.sqlite"), ("import ledger", "imported.sqlite")):
            try:
                beside[part] = (self.path / name).stat().st_size
            except OSError:
                continue
        return size, beside

    # -- writing -------------------------------------------------------------------------

    @contextmanager
    def _writer_lock(self) -> Iterator[None]:
        """Hold the index's writer lock; wait up to lock_timeout seconds for another writer.

        flock is released by the kernel when its holder dies, so a killed writer never leaves
        the index locked; the next holder then clears what the dead one left (_recover).
        """
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            handle = open(self.path / LOCK, "a+")
        except OSError as exc:
            raise write_error(self.path, exc) from None
        with handle:
            self._lock_fds = (handle.fileno(),)
            take_writer_lock(handle.fileno(), self.path, self.lock_timeout, self.on_lock_wait)
            try:
                self._recover()
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
                self._lock_fds = ()

    def _recover(self) -> None:
        """Remove what a killed writer left behind (call only while holding the writer lock)."""
        (self.path / (CURRENT + ".tmp")).unlink(missing_ok=True)
        if not (self.path / CURRENT).exists():
            return
        self._remove_stale_generations()
        live = self.path / self._current()
        if not live.is_dir():
            return
        for entry in live.iterdir():
            if _WHOOSH_TEMP.match(entry.name):
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
        storage = FileStorage(str(live))
        try:
            toc = container.TOC.read(storage, WHOOSH_NAME)
        except (OSError, container.EmptyIndexError):
            return  # nothing committed yet: opening it will say so
        # Segment files no TOC names were being written when the writer died.
        container.clean_files(storage, WHOOSH_NAME, toc.generation, toc.segments)

    @contextmanager
    def _whoosh_writer(self, ix: container.Index, options: dict | None = None,
                       **commit) -> Iterator[container.IndexWriter]:
        """A Whoosh writer (ix.writer(**options)), committed when the block ends; on any failure
        it is cancelled and its files removed, so the last commit stays live (a full disk
        becomes DiskFullError)."""
        try:
            # compound=False: Whoosh reads a compound segment by copying each of its files into
            # memory whenever a reader opens it (BufferFile over a BytesIO); plain files are read
            # in place, so a searcher opens in milliseconds and holds no copy of the index.
            writer = ix.writer(**{"limitmb": LIMIT_MB, "compound": False, "codec": EngineCodec(),
                                  **(options or {})})
        except OSError as exc:
            self._recover()
            raise write_error(self.path, exc) from None
        try:
            yield writer
            writer.commit(**commit)
            # The commit is the new TOC renamed into place: on disk before the caller says so.
            sync_to_disk(ix.storage.folder, [f"_{ix.indexname}_{ix.latest_generation()}.toc"])
        except BaseException as exc:
            _cancel(writer)
            self._recover()
            if isinstance(exc, OSError):
                raise write_error(self.path, exc) from None
            raise

    def _new_generation(self) -> str:
        name = f"gen-{time.time_ns()}"
        directory = self.path / name
        try:
            directory.mkdir(parents=True)
            container.create_in(str(directory), build_schema())
            (directory / META).write_text(json.dumps({"schema": SCHEMA_VERSION}), "utf-8")
            sync_to_disk(directory, os.listdir(directory))  # on disk before CURRENT may name it
        except OSError as exc:
            shutil.rmtree(directory, ignore_errors=True)
            raise write_error(self.path, exc) from None
        return name

    def _swap(self, generation: str) -> None:
        """Point CURRENT at `generation` atomically (write, fsync, rename)."""
        tmp = self.path / (CURRENT + ".tmp")
        try:
            with open(tmp, "w", encoding="utf-8") as handle:
                handle.write(generation + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise write_error(self.path, exc) from None
        os.replace(tmp, self.path / CURRENT)
        sync_to_disk(self.path)

    def _remove_stale_generations(self) -> None:
        """Delete generations that are not live (left by a finished or failed reindex)."""
        live = self._current()
        for entry in self.path.glob("gen-*"):
            if entry.name != live and entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)

    def _ensure_created(self) -> None:
        if not (self.path / CURRENT).exists():
            self._swap(self._new_generation())

    def write(self, articles: Iterable[Article], batch: int = BATCH, procs: int | None = None,
              on_commit: Callable[[dict[str, None]], None] | None = None,
              seconds: float | None = None, on_built: Callable[[], None] | None = None,
              merge: bool = True) -> WriteReport:
        """Add or update articles (same id = update in place), committing every `batch`.

        Each batch becomes one Whoosh segment (engine/build.py), built in this process (procs=1) or
        by one of `procs` worker processes (default: one per core) while this one reads the
        next batches; batches are committed in order, each after the older copies of its
        updated articles are deleted. A failed or killed worker fails the write with one line
        (build.BuildError as SearchkitError); what earlier batches committed stays.
        `on_commit` is given the ids of each batch once it is committed. With `seconds`, a
        slow input still commits about that often (a batch open that long is closed early, and
        one sent to a worker that long ago is committed), so a kill loses little. `on_built`
        is called, from another thread, each time a worker's batch (its segment or its
        failure) has come back to this process, before that batch is committed. The write
        ends with merge() (engine.merge.merge_plan's merges), unless merge=False: an import
        merges after its side files are committed, so that the merges' room (a share of the
        bytes on disk) counts them at their full size.
        """
        from .engine.build import default_procs  # writing only: `searchkit query` does not load it

        procs = default_procs() if procs is None else max(1, procs)
        report = WriteReport()
        with self._writer_lock():
            self._ensure_created()
            self.check_schema()
            ix = self.whoosh_index()
            run = _BatchRun(self, ix, report, procs, on_commit, on_built)
            run.max_age = seconds
            try:
                run.start()
                for article in articles:
                    if article.id in run.pending:
                        report.duplicates += 1
                        run.close_batch()  # the later copy replaces the committed one
                    elif article.id in run.seen or article.id in run.building:
                        report.duplicates += 1
                    run.add(article)
                    if len(run.pending) >= batch or run.too_old():
                        run.close_batch()
                run.finish()
            except BaseException:
                run.close(cancel=True)
                self._recover()  # segments built but never committed
                raise
            run.close()
            # The merge holds slices of up to 100k articles: let go first of what the write
            # kept (the ids it wrote, by hash: ~16 MB at 1M) and of the heap it freed.
            del run
            from .engine.build import give_back_memory

            give_back_memory()
            if merge:
                self._merge(ix)
        return report

    def merge(self, everything: bool = False) -> int:
        """Merge the index's segments as engine.merge.merge_plan says (an import does this
        when it ends), or all of them into one (`everything`: deleted articles are gone for
        good, and the disk holds the index twice while it runs); returns how many merges
        were committed."""
        with self._writer_lock():
            self.check_schema()
            return self._merge(self.whoosh_index(), everything)

    def _merge(self, ix: container.Index, everything: bool = False) -> int:
        """Commit merge_plan's merges one by one (call only while holding the writer lock).
        Each is a new segment written beside the old ones and one commit that puts it in
        their place; readers that opened the old ones keep reading them (they stay mapped)."""
        merges = 0
        while True:
            try:
                snap = self._segments.snapshot(ix)
            except OldFormatError:
                return merges  # reindex converts it; nothing to merge in an old format
            sizes = [r.doc_count - r.deleted_count() for r, _ in snap.segments]
            whole = everything and merges == 0 and (len(sizes) > 1 or snap.doc_count > snap.live_count)
            size, beside = self._disk_bytes(Path(ix.storage.folder))
            plan = merge_plan(sizes, whole, [r.file_bytes() for r, _ in snap.segments],
                              int((size + sum(beside.values())) * MERGE_ROOM))
            if plan is None:
                return merges
            chosen = [r for r, _ in snap.segments[plan[0]:plan[1]]]
            expected = {r.segment_id: r.deleted_count() for r in chosen}
            try:
                merged = merge_segments(ix.storage, ix.indexname, chosen)
            except OSError as exc:
                self._recover()
                raise write_error(self.path, exc) from None

            def policy(writer, current, merged=merged, expected=expected):
                if {s.segment_id(): s.deleted_count() for s in current
                        if s.segment_id() in expected} != expected:
                    return list(current)  # changed meanwhile (it cannot under the lock): no merge
                out = [s for s in current if s.segment_id() not in expected]
                at = next(i for i, s in enumerate(current) if s.segment_id() in expected)
                return out[:at] + [merged] + out[at:]

            prefix = merged.segment_id() + "."
            sync_to_disk(ix.storage.folder, [n for n in os.listdir(ix.storage.folder) if n.startswith(prefix)])
            with self._whoosh_writer(ix, mergetype=policy):
                pass
            merges += 1

    def _commit_segments(self, ix: container.Index, segments: list, ids: Iterable[str],
                         only: IdSet | None = None) -> set[str]:
        """Add new segments to the index in one commit, deleting the older copies of `ids`
        first; returns the ids that were already in the index (updated in place). `only`: the
        ids the index can hold, when the caller knows them all (it filled an empty index):
        only those are looked up."""
        # `only` (an idset.IdSet) may say yes wrongly, never no: its yeses are looked up
        # (_held). The new segments go after the current ones, so the numbers hold.
        held = self._held(ix, list(ids) if only is None else [i for i in ids if i in only])

        def policy(writer, current):
            # Not Whoosh's merging (one posting at a time in this process: at 50k articles a
            # merge took longer than building the segments did): the import merges with
            # engine.merge when it ends (_merge).
            return current + segments

        folder = ix.storage.folder
        named = {segment.segment_id() for segment in segments}
        sync_to_disk(folder, [name for name in os.listdir(folder) if name.split(".")[0] in named])
        with self._whoosh_writer(ix, mergetype=policy) as writer:
            _delete_documents(writer, held)
        return set(held)

    def delete(self, ids: Iterable[str]) -> list[str]:
        """Remove articles by id; returns the ids that were not in the index."""
        ids = list(ids)
        with self._writer_lock():
            self.check_schema()
            held = self._delete_held(ids)
            from .ledger import forget  # an import of them again must not skip them as imported

            forget(self.path, ids)
        return [i for i in ids if i not in held]

    def remove_held(self, ids: Iterable[str]) -> set[str]:
        """Remove the articles of `ids` this index holds (a sharded write moving them to another
        shard), in one commit, none when it holds none; returns their ids."""
        with self._writer_lock():
            self.check_schema()
            return self._delete_held(list(ids))

    def _delete_held(self, ids: list[str]) -> set[str]:
        """Delete every live copy of the articles `ids` in one commit (_held); no commit when
        none is held. Returns the ids held. Call holding the writer lock."""
        ix = self.whoosh_index()
        held = self._held(ix, ids)
        if held:
            with self._whoosh_writer(ix) as writer:
                _delete_documents(writer, held)
        return set(held)

    def _held(self, ix: container.Index, ids: list[str]) -> dict[str, list[int]]:
        """{id: the document numbers of its live copies} for the ids the index holds, looked up
        together in the term dictionaries (a Whoosh query an id, and a searcher an id in
        delete_by_term, cost ~200 us an article). Call holding the writer lock: no commit can
        come between the look-up and the writer that deletes them, so both number alike."""
        if not ids:
            return {}
        with ix.searcher() as searcher:
            return self.arrays.holders(searcher, "id", ids)

    def reindex(self, procs: int | None = None) -> int:
        """Rebuild every stored article into a new generation and swap it in atomically.

        Searches keep using the old generation until the swap; a failed rebuild leaves it live.
        The articles are built as an import builds them (segments of BATCH articles, by
        `procs` processes, with their postings sidecars), not by Whoosh's writer.
        """
        from .engine.build import default_procs

        procs = default_procs() if procs is None else max(1, procs)
        with self._writer_lock():
            old = self.whoosh_index()
            generation = self._new_generation()
            count = 0
            try:
                new = container.open_dir(str(self.path / generation))
                run = _BatchRun(self, new, WriteReport(), procs)
                try:
                    with old.reader() as reader:
                        for _, fields in reader.iter_docs():
                            run.add(doc_to_article(fields))
                            count += 1
                            if len(run.pending) >= BATCH:
                                run.close_batch()
                    run.finish()
                except OldFormatError as exc:  # a layout older than any this searchkit converts
                    run.close(cancel=True)
                    raise SearchkitError(
                        f"cannot convert the index at {self.path}: {exc}, in a layout this searchkit "
                        "cannot read; import your articles again into a new index"
                    ) from None
                except BaseException:
                    run.close(cancel=True)
                    raise
                run.close()
                self._merge(new)
                self._swap(generation)  # raises only before CURRENT is replaced
            except BaseException:
                shutil.rmtree(self.path / generation, ignore_errors=True)
                raise
            self._remove_stale_generations()
        return count


def sync_to_disk(folder: str | os.PathLike, names: Iterable[str] = ()) -> None:
    """fsync the files `names` in `folder`, then `folder` itself (so their names are on disk too).

    Committed must mean on disk: a commit syncs the segment files it is about to name before
    Whoosh writes the TOC that names them, then that TOC, as SQLite's synchronous=FULL syncs
    its journal before the database. Without it a power cut could lose, or half-write, an
    import the user was told had succeeded; a killed process never could (the OS has the data).
    """
    for name in names:
        fd = os.open(os.path.join(folder, name), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def raise_open_file_limit(wanted: int = 65536) -> int:
    """Raise this process's soft limit on open files towards `wanted` (never above the hard
    limit); returns the limit now in force. A searcher keeps every segment's files open, and
    a server keeps one searcher per thread: 100 segments x 10 files x 8 threads is past the
    usual soft limit of 1024, which the hard limit is usually far above."""
    try:
        import resource
    except ImportError:  # not on Unix
        return wanted
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            return target
        except (ValueError, OSError):
            pass
    return soft


def _close_searchers(searchers: dict) -> None:
    while searchers:
        _, (_, searcher) = searchers.popitem()
        searcher.close()


class _BatchRun:
    """One write's batches: articles -> documents -> one segment each (here or in a worker) ->
    commits in order. Up to procs + 1 batches are being built while this process reads on, so
    neither the workers nor the reading wait for each other at a batch's end."""

    def __init__(self, index: Index, ix: container.Index, report: WriteReport, procs: int,
                 on_commit: Callable[[dict[str, None]], None] | None = None,
                 on_built: Callable[[], None] | None = None) -> None:
        self.index, self.ix, self.report, self.procs = index, ix, report, procs
        self.on_commit, self.on_built = on_commit, on_built
        self.pending: dict[str, None] = {}  # ids of the batch being filled, in order
        self.docs: list[dict] = []  # its documents
        self.seen = IdSet()  # ids committed by this write (by hash: 8 bytes an id)
        self.building: dict[str, int] = {}  # ids of batches in the workers -> how many batches
        self.queue: deque[dict[str, None]] = deque()  # those batches' ids, oldest first
        self.builder: ParallelBuilder | None = None
        self.parallel = False  # a batch went to the workers: every later one goes there too
        self.max_age: float | None = None  # seconds a batch may wait to be committed (write's `seconds`)
        self.opened = 0.0  # when the batch being filled got its first article
        self.sent: deque[float] = deque()  # when each batch in `queue` went to the workers
        self.now = datetime.now(timezone.utc)
        # An index empty at the start holds only what this write committed (`seen`): a commit
        # need not look each id up in every segment (at 1M articles, 10k ids x 100 segments).
        self.fresh = ix.is_empty()

    def start(self) -> None:
        """Start the worker processes before the first article is read, while this process is
        small (ParallelBuilder.start); they stay idle if the write is one batch."""
        if self.procs > 1:
            from .engine.build import ParallelBuilder

            self.builder = ParallelBuilder(str(self.ix.storage.folder), self.ix.indexname, self.procs,
                                           close_fds=self.index._lock_fds, on_result=self.on_built,
                                           prepare=add_sentences)
            self.builder.start()

    def too_old(self) -> bool:
        """The batch being filled has waited max_age seconds."""
        return self.max_age is not None and bool(self.pending) and time.monotonic() - self.opened >= self.max_age

    def add(self, article: Article) -> None:
        if not self.pending:
            self.opened = time.monotonic()
        article.imported = article.imported or self.now
        self.pending[article.id] = None
        self.docs.append(article_to_doc(article))

    def close_batch(self, final: bool = False) -> None:
        """Hand the batch being filled to a worker (or build and commit it here)."""
        ids, docs = self.pending, self.docs
        if not ids:
            return
        self.pending, self.docs = {}, []
        # The workers build only once there is more than one batch: a small import stays here.
        if self.builder is not None and (self.parallel or not final):
            self.parallel = True
            self.builder.submit(docs)
            self.queue.append(ids)
            self.sent.append(time.monotonic())
            for article_id in ids:
                self.building[article_id] = self.building.get(article_id, 0) + 1
            while len(self.queue) > self.procs or (
                    self.queue and self.max_age is not None and time.monotonic() - self.sent[0] >= self.max_age):
                self._commit_oldest()
        else:
            from .engine.build import build_segment

            for doc in docs:
                add_sentences(doc)
            try:
                segment = build_segment(self.ix.storage, self.ix.indexname, self.ix.schema, docs)
            except OSError as exc:
                raise write_error(self.index.path, exc) from None
            self._commit([segment], ids)

    def finish(self) -> None:
        self.close_batch(final=True)
        while self.queue:
            self._commit_oldest()

    def _commit_oldest(self) -> None:
        from .engine.build import BuildError

        ids = self.queue.popleft()
        self.sent.popleft()
        try:
            segments = self.builder.wait(1)
        except OSError as exc:
            raise write_error(self.index.path, exc) from None
        except BuildError as exc:
            raise SearchkitError(f"indexing failed in a worker process ({exc}): nothing of this "
                                 "batch was committed; run the same import again") from None
        for article_id in ids:
            left = self.building.pop(article_id) - 1
            if left:
                self.building[article_id] = left
        self._commit(segments, ids)

    def _commit(self, segments: list, ids: dict[str, None]) -> None:
        existing = self.index._commit_segments(self.ix, segments, ids, self.seen if self.fresh else None)
        for article_id in ids:
            if article_id in existing:
                # Not committed earlier in this write (a wrong yes of `seen` miscounts one).
                self.report.updated += article_id not in self.seen
            else:  # not in the index, so not committed earlier in this write either
                self.report.added += 1
        self.seen.update(ids)
        if self.on_commit is not None:
            self.on_commit(ids)
        if self.builder is not None:  # an import's batches freed here (their documents, pickles)
            from .engine.build import trim_heap

            trim_heap()

    def close(self, cancel: bool = False) -> None:
        if self.builder is not None:
            self.builder.close(cancel=cancel)
            self.builder = None


def take_writer_lock(fd: int, path: Path, timeout: float,
                     on_wait: LockWait | None = None) -> None:
    """Take the exclusive flock on `fd` (the writer lock file of the index at `path`), waiting
    up to `timeout` seconds for another writer to finish; IndexLockedError, naming `path`, after
    that. (An index and a sharded one share it.) If it has to wait, the rest of the wait runs
    inside the context manager `on_wait()` gives: the command line says there that it waits, and
    ends a Ctrl-C or SIGTERM there with "nothing was written" (nothing is, before the lock)."""
    deadline = time.monotonic() + timeout
    with ExitStack() as waiting:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IndexLockedError(
                        f"another searchkit process is writing to {path} and did not finish within {timeout:g} s: "
                        "try again when it is done (or wait longer with --lock-timeout SECONDS)") from None
                if on_wait is not None:
                    waiting.enter_context(on_wait())
                    on_wait = None  # entered once, for the whole wait
                time.sleep(0.05)


def open_index(path: str | os.PathLike, *, create: bool = False, check: bool = True,
               lock_timeout: float = LOCK_TIMEOUT,
               on_lock_wait: LockWait | None = None) -> Index:
    """Open the index at `path`; with create=True make it if it does not exist yet.

    Raises IndexMissingError if there is none, SchemaMismatchError if it needs a reindex
    (pass check=False to open it anyway, as reindex does). A writer waits up to lock_timeout
    seconds for another writer, inside the context on_lock_wait() gives (take_writer_lock).
    """
    index = Index(Path(path), lock_timeout=lock_timeout, on_lock_wait=on_lock_wait)
    if create:
        with index._writer_lock():
            index._ensure_created()
    if check:
        index.check_schema()
    return index


SHARD_MANIFEST = "shards.json"  # what makes a directory a sharded index (shards.Manifest)


def open_any(path: str | os.PathLike, *, create: bool = False, check: bool = True,
             lock_timeout: float = LOCK_TIMEOUT, on_lock_wait: LockWait | None = None):
    """The index at `path`: a shards.ShardedIndex when it holds a shard manifest, else an Index
    (open_index, with the same arguments). shards.py is loaded only for a sharded index: a
    plain index's `searchkit query` does not pay for importing it."""
    if (Path(path) / SHARD_MANIFEST).is_file():
        from .shards import open_sharded

        return open_sharded(path, lock_timeout, on_lock_wait)
    return open_index(path, create=create, check=check, lock_timeout=lock_timeout, on_lock_wait=on_lock_wait)
