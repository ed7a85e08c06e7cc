"""The index on disk: open or create it, add/update/delete articles, rebuild atomically.

Layout of an index directory:

    CURRENT          name of the live generation (replaced atomically by `reindex`)
    gen-<n>/         a Whoosh index plus searchkit.json ({"schema": SCHEMA_VERSION})
    writer.lock      held (flock) by the one process writing; others wait their turn

Readers never take the lock: they open whatever generation CURRENT names, and Whoosh
only ever shows them fully committed segments.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

import whoosh.index
from whoosh.searching import Searcher

from .article import Article
from .errors import IndexLockedError, IndexMissingError, SchemaMismatchError, SearchkitError
from .schema import SCHEMA_VERSION, build_schema

CURRENT = "CURRENT"
META = "searchkit.json"
LOCK = "writer.lock"
BATCH = 5_000  # articles per commit: bounds memory and the work lost to a crash
PARALLEL_MIN = 1_000  # a commit this big is indexed by one process per core
LIMIT_MB = 256  # memory for each indexing process's posting pool before it spills to disk


@dataclass
class WriteReport:
    """What a write did: new ids, ids that replaced a stored article, repeats within the run."""

    added: int = 0
    updated: int = 0
    duplicates: int = 0


def _naive_utc(moment: datetime | None) -> datetime | None:
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment else None


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=timezone.utc) if moment else None


def article_to_doc(article: Article) -> dict:
    """The Whoosh document for an article (fields of schema.build_schema)."""
    doc = {
        "id": article.id,
        "url": article.url,
        "title": article.title,
        "body": article.body,
        "source": article.source,
        "author": article.author,
        "tags": ",".join(t.replace(",", " ") for t in article.tags),
        "language": article.language,
        "license": article.license,
        "origin": json.dumps(article.origin, ensure_ascii=False),
        "cluster": article.cluster or article.id,
    }
    if article.source:
        doc["source_key"] = article.source
    if article.published:
        doc["published"] = _naive_utc(article.published)
    if article.imported:
        doc["imported"] = _naive_utc(article.imported)
    return doc


def doc_to_article(fields: dict) -> Article:
    """The Article for a document's stored fields."""
    try:
        origin = json.loads(fields.get("origin") or "{}")
    except ValueError:
        origin = {}
    tags = [t for t in (fields.get("tags") or "").split(",") if t]
    return Article(
        id=fields["id"],
        url=fields.get("url") or "",
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

    def __init__(self, path: Path, lock_timeout: float = 600.0) -> None:
        self.path = path
        self.lock_timeout = lock_timeout
        self._generation = ""
        self._ix: whoosh.index.Index | None = None

    # -- reading -------------------------------------------------------------------------

    def _current(self) -> str:
        try:
            return (self.path / CURRENT).read_text("utf-8").strip()
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
            raise SchemaMismatchError(
                f"the index at {self.path} was built with schema version {found}, this searchkit "
                f"uses {SCHEMA_VERSION}: run `searchkit reindex` to rebuild it"
            )

    def whoosh_index(self) -> whoosh.index.Index:
        """The Whoosh index of the live generation (reopened after a reindex swaps it)."""
        generation = self._current()
        if self._ix is None or generation != self._generation:
            try:
                self._ix = whoosh.index.open_dir(str(self.path / generation))
            except (OSError, whoosh.index.EmptyIndexError) as exc:
                raise SearchkitError(
                    f"cannot open the index at {self.path} ({exc}): run `searchkit reindex` "
                    "or restore it from a backup"
                ) from None
            self._generation = generation
        return self._ix

    @contextmanager
    def searcher(self) -> Iterator[Searcher]:
        """A Whoosh searcher over the latest committed state (BM25F scoring)."""
        from .search import weighting

        with self.whoosh_index().searcher(weighting=weighting()) as searcher:
            yield searcher

    def get(self, article_id: str) -> Article | None:
        """The stored article with this id, or None."""
        with self.searcher() as searcher:
            fields = searcher.document(id=article_id)
        return doc_to_article(fields) if fields else None

    def articles(self) -> Iterator[Article]:
        """Every stored article, in index order."""
        with self.whoosh_index().reader() as reader:
            for _, fields in reader.iter_docs():
                yield doc_to_article(fields)

    def __len__(self) -> int:
        with self.whoosh_index().reader() as reader:
            return reader.doc_count()

    def stats(self) -> dict:
        """Article count, per-source counts, date range, bytes on disk, schema version."""
        sources: dict[str, int] = {}
        first = last = None
        with self.searcher() as searcher:
            count = searcher.doc_count()
            reader = searcher.reader()
            for _, fields in reader.iter_docs():
                source = fields.get("source") or ""
                sources[source] = sources.get(source, 0) + 1
                moment = fields.get("published")
                if moment:
                    first = moment if first is None or moment < first else first
                    last = moment if last is None or moment > last else last
        size = sum(f.stat().st_size for f in (self.path / self._generation).iterdir() if f.is_file())
        return {
            "articles": count,
            "sources": dict(sorted(sources.items(), key=lambda kv: (-kv[1], kv[0]))),
            "first": _aware(first).isoformat() if first else None,
            "last": _aware(last).isoformat() if last else None,
            "bytes": size,
            "schema": self.schema_version(),
            "path": str(self.path),
        }

    # -- writing -------------------------------------------------------------------------

    @contextmanager
    def _writer_lock(self) -> Iterator[None]:
        """Hold the index's writer lock; wait up to lock_timeout seconds for another writer."""
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / LOCK, "a+") as handle:
            deadline = time.monotonic() + self.lock_timeout
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise IndexLockedError(
                            f"another searchkit process is writing to {self.path} and did not "
                            f"finish within {self.lock_timeout:g} s: try again when it is done"
                        ) from None
                    time.sleep(0.1)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _new_generation(self) -> str:
        name = f"gen-{time.time_ns()}"
        directory = self.path / name
        directory.mkdir(parents=True)
        whoosh.index.create_in(str(directory), build_schema())
        (directory / META).write_text(json.dumps({"schema": SCHEMA_VERSION}), "utf-8")
        return name

    def _swap(self, generation: str) -> None:
        """Point CURRENT at `generation` atomically (write, fsync, rename)."""
        tmp = self.path / (CURRENT + ".tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(generation + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path / CURRENT)
        dir_fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def _remove_stale_generations(self) -> None:
        """Delete generations that are not live (left by a finished or failed reindex)."""
        live = self._current()
        for entry in self.path.glob("gen-*"):
            if entry.name != live and entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)

    def _ensure_created(self) -> None:
        if not (self.path / CURRENT).exists():
            self._swap(self._new_generation())

    def write(self, articles: Iterable[Article], batch: int = BATCH, procs: int | None = None) -> WriteReport:
        """Add or update articles (same id = update in place), committing every `batch`.

        Big batches are indexed by `procs` processes (default: one per core), each building
        its own segment, so an import uses every core.
        """
        procs = max(1, procs or os.cpu_count() or 1)
        report = WriteReport()
        with self._writer_lock():
            self._ensure_created()
            self.check_schema()
            self._remove_stale_generations()
            seen: set[str] = set()
            pending: dict[str, Article] = {}
            for article in articles:
                if article.id in seen or article.id in pending:
                    report.duplicates += 1
                pending[article.id] = article
                if len(pending) >= batch:
                    self._commit(pending, seen, report, procs)
            self._commit(pending, seen, report, procs)
        return report

    def _commit(self, pending: dict[str, Article], seen: set[str], report: WriteReport,
                procs: int = 1) -> None:
        if not pending:
            return
        ix = self.whoosh_index()
        with ix.searcher() as searcher:
            existing = {i for i in pending if searcher.document_number(id=i) is not None}
        now = datetime.now(timezone.utc)
        if procs > 1 and len(pending) >= PARALLEL_MIN:
            # Whoosh's MpWriter: each sub-process writes a segment of its own (no merge at
            # the end of every batch: multisegment); Whoosh's merge policy joins small ones.
            writer = ix.writer(procs=procs, multisegment=True, batchsize=250, limitmb=LIMIT_MB)
        else:
            writer = ix.writer(limitmb=LIMIT_MB)
        try:
            for article in pending.values():
                article.imported = article.imported or now
                doc = article_to_doc(article)
                if article.id in existing:
                    writer.update_document(**doc)
                else:
                    writer.add_document(**doc)
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
        for article_id in pending:
            if article_id in existing:
                report.updated += article_id not in seen
            else:
                report.added += 1
        seen.update(pending)
        pending.clear()

    def delete(self, ids: Iterable[str]) -> list[str]:
        """Remove articles by id; returns the ids that were not in the index."""
        ids = list(ids)
        missing = []
        with self._writer_lock():
            self.check_schema()
            ix = self.whoosh_index()
            writer = ix.writer()
            try:
                for article_id in ids:
                    if not writer.delete_by_term("id", article_id):
                        missing.append(article_id)
            except BaseException:
                writer.cancel()
                raise
            writer.commit()
        return missing

    def reindex(self) -> int:
        """Rebuild every stored article into a new generation and swap it in atomically.

        Searches keep using the old generation until the swap; a failed rebuild leaves it live.
        """
        with self._writer_lock():
            old = self.whoosh_index()
            generation = self._new_generation()
            count = 0
            try:
                new = whoosh.index.open_dir(str(self.path / generation))
                writer = new.writer(limitmb=256)
                with old.reader() as reader:
                    for _, fields in reader.iter_docs():
                        writer.add_document(**article_to_doc(doc_to_article(fields)))
                        count += 1
                writer.commit(optimize=True)
            except BaseException:
                shutil.rmtree(self.path / generation, ignore_errors=True)
                raise
            self._swap(generation)
            self._remove_stale_generations()
        return count


def open_index(path: str | os.PathLike, *, create: bool = False, check: bool = True) -> Index:
    """Open the index at `path`; with create=True make it if it does not exist yet.

    Raises IndexMissingError if there is none, SchemaMismatchError if it needs a reindex
    (pass check=False to open it anyway, as reindex does).
    """
    index = Index(Path(path))
    if create:
        with index._writer_lock():
            index._ensure_created()
    if check:
        index.check_schema()
    return index
