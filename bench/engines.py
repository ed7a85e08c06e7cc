"""The engines `make bench` compares, each behind the same three calls.

    engine.build(corpus, directory, procs)  index every article of a corpus file
    engine.open(directory)                   get ready to answer queries
    engine.search(query)                     top 10 as [(id, snippet_html)], snippets included

Peers are written the way a user who skips searchkit would write them, with the same title
weight (2.5, searchkit's schema.TITLE_BOOST) where the engine can take one:

- SQLite FTS5: porter tokenizer, bm25() with the title weight, snippet(); plain words run
  as AND ("fts5-and") and as OR ("fts5-or"), reported separately.
- tantivy: English stemming ("en_stem"), the title boost through the query parser, its
  SnippetGenerator; plain words OR-ed (its parser's default).
- raw Whoosh: StemmingAnalyzer, MultifieldParser with OR grouping, hit.highlights().

Imports of peer libraries happen inside the classes, so `import bench.engines` needs none.
"""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from .queries import Query

TITLE_WEIGHT = 2.5
LIMIT = 10


def read_corpus(path: Path) -> Iterator[dict]:
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)


def _date(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text).astimezone(timezone.utc)


class Engine:
    name = ""

    def build(self, corpus: Path, directory: Path, procs: int = 1) -> int:
        raise NotImplementedError

    def open(self, directory: Path) -> None:
        raise NotImplementedError

    def search(self, q: Query) -> list[tuple[str, str]]:
        raise NotImplementedError

    def close(self) -> None:
        pass


class Searchkit(Engine):
    """searchkit itself: its importer (the `searchkit import` path) and search() with snippets."""

    name = "searchkit"

    def build(self, corpus: Path, directory: Path, procs: int = 1) -> int:
        """`searchkit import DIR` through the library: the same work (duplicate detection and
        the record of what was imported included) and the same files a user's index holds."""
        from searchkit import import_paths, open_index

        from .corpus import shards

        index = open_index(directory, create=True)
        report = import_paths(index, [str(shards(corpus))], procs=procs)
        if report.failed:
            raise RuntimeError(f"searchkit import failed: {report.failed[:3]}")
        return report.added + report.updated

    def open(self, directory: Path) -> None:
        from searchkit import open_index

        self.index = open_index(directory)

    def search(self, q: Query) -> list[tuple[str, str]]:
        from searchkit import search

        result = search(self.index, q.text, limit=LIMIT, sort=q.sort, since=q.since,
                        until=q.until, source=q.source)
        return [(hit.id, hit.snippet) for hit in result.hits]


class SearchkitLean(Searchkit):
    """searchkit's search() without facets and near-duplicate collapse (what a client that
    shows only the ten hits asks for): shows what those two cost on top of ranking."""

    name = "searchkit-lean"

    def search(self, q: Query) -> list[tuple[str, str]]:
        from searchkit import search

        result = search(self.index, q.text, limit=LIMIT, sort=q.sort, since=q.since, until=q.until,
                        source=q.source, facets=False, collapse=False)
        return [(hit.id, hit.snippet) for hit in result.hits]


class Fts5(Engine):
    """SQLite FTS5 with porter stemming, bm25() title-weighted, snippet()."""

    def __init__(self, mode: str = "or") -> None:
        self.mode = mode
        self.name = f"fts5-{mode}"

    def build(self, corpus: Path, directory: Path, procs: int = 1) -> int:
        directory.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(directory / "fts.db")
        try:
            db.execute("PRAGMA journal_mode=OFF")
            db.execute("PRAGMA synchronous=OFF")
            db.execute("CREATE VIRTUAL TABLE articles USING fts5(id UNINDEXED, title, body, "
                       "source UNINDEXED, published UNINDEXED, tokenize='porter unicode61')")
            count = 0
            batch = []
            for r in read_corpus(corpus):
                published = _date(r.get("published"))
                batch.append((r["id"], r["title"], r["body"], r.get("source") or "",
                               published.isoformat() if published else None))
                if len(batch) >= 5_000:
                    db.executemany("INSERT INTO articles VALUES (?, ?, ?, ?, ?)", batch)
                    count += len(batch)
                    batch.clear()
            db.executemany("INSERT INTO articles VALUES (?, ?, ?, ?, ?)", batch)
            count += len(batch)
            db.commit()
        finally:
            db.close()
        return count

    def open(self, directory: Path) -> None:
        self.db = sqlite3.connect(directory / "fts.db")

    def match(self, q: Query) -> str:
        quoted = [f'"{w}"' for w in q.words]
        if q.phrase:
            return '"' + " ".join(q.words) + '"'
        return (" OR " if self.mode == "or" else " ").join(quoted)

    def search(self, q: Query) -> list[tuple[str, str]]:
        where, args = ["articles MATCH ?"], [self.match(q)]
        if q.source:
            where.append("source = ?")
            args.append(q.source)
        if q.since:
            where.append("published >= ?")
            args.append(q.since)
        if q.until:
            where.append("published <= ?")
            args.append(q.until + "T23:59:59")
        order = "published DESC" if q.sort == "newest" else f"bm25(articles, 0, {TITLE_WEIGHT}, 1, 0, 0)"
        sql = (f"SELECT id, snippet(articles, 2, '<mark>', '</mark>', '…', 40) FROM articles "
               f"WHERE {' AND '.join(where)} ORDER BY {order} LIMIT {LIMIT}")
        return self.db.execute(sql, args).fetchall()

    def close(self) -> None:
        self.db.close()


class Tantivy(Engine):
    """tantivy (Rust) through its Python bindings: en_stem, title boost, SnippetGenerator."""

    name = "tantivy"

    def _schema(self):
        import tantivy

        builder = tantivy.SchemaBuilder()
        builder.add_text_field("id", stored=True, tokenizer_name="raw")
        builder.add_text_field("title", stored=True, tokenizer_name="en_stem")
        builder.add_text_field("body", stored=True, tokenizer_name="en_stem")
        builder.add_text_field("source", stored=True, tokenizer_name="raw")
        builder.add_date_field("published", stored=True, indexed=True, fast=True)
        return builder.build()

    def build(self, corpus: Path, directory: Path, procs: int = 1) -> int:
        import tantivy

        directory.mkdir(parents=True, exist_ok=True)
        index = tantivy.Index(self._schema(), path=str(directory))
        writer = index.writer(heap_size=128_000_000 * procs, num_threads=procs)
        count = 0
        for r in read_corpus(corpus):
            doc = tantivy.Document(id=r["id"], title=r["title"], body=r["body"],
                                   source=r.get("source") or "")
            published = _date(r.get("published"))
            if published:
                doc.add_date("published", published)
            writer.add_document(doc)
            count += 1
        writer.commit()
        writer.wait_merging_threads()
        return count

    def open(self, directory: Path) -> None:
        import tantivy

        self.tantivy = tantivy
        self.schema = self._schema()
        self.index = tantivy.Index.open(str(directory))
        self.index.reload()
        self.searcher = self.index.searcher()

    def search(self, q: Query) -> list[tuple[str, str]]:
        t = self.tantivy
        text = '"' + " ".join(q.words) + '"' if q.phrase else " ".join(q.words)
        query = self.index.parse_query(text, ["title", "body"], field_boosts={"title": TITLE_WEIGHT})
        parts = [(t.Occur.Must, query)]
        if q.source:
            parts.append((t.Occur.Must, t.Query.term_query(self.schema, "source", q.source)))
        if q.since or q.until:
            low = datetime.fromisoformat(q.since).replace(tzinfo=timezone.utc) if q.since else None
            high = (datetime.fromisoformat(q.until + "T23:59:59").replace(tzinfo=timezone.utc)
                    if q.until else None)
            parts.append((t.Occur.Must, t.Query.range_query(self.schema, "published", t.FieldType.Date,
                                                             low, high)))
        full = query if len(parts) == 1 else t.Query.boolean_query(parts)
        if q.sort == "newest":
            result = self.searcher.search(full, LIMIT, order_by_field="published", order=t.Order.Desc)
        else:
            result = self.searcher.search(full, LIMIT)
        generator = t.SnippetGenerator.create(self.searcher, query, self.schema, "body")
        hits = []
        for _, address in result.hits:
            doc = self.searcher.doc(address)
            hits.append((doc["id"][0], generator.snippet_from_doc(doc).to_html()))
        return hits


class RawWhoosh(Engine):
    """Whoosh as its documentation shows it: StemmingAnalyzer, OR parser, highlights()."""

    name = "whoosh"

    def _schema(self):
        from whoosh.analysis import StemmingAnalyzer
        from whoosh.fields import DATETIME, ID, TEXT, Schema

        return Schema(id=ID(stored=True, unique=True),
                      title=TEXT(analyzer=StemmingAnalyzer(), stored=True, field_boost=TITLE_WEIGHT),
                      body=TEXT(analyzer=StemmingAnalyzer(), stored=True),
                      source=ID(stored=True), published=DATETIME(stored=True, sortable=True))

    def build(self, corpus: Path, directory: Path, procs: int = 1) -> int:
        import whoosh.index

        directory.mkdir(parents=True, exist_ok=True)
        ix = whoosh.index.create_in(str(directory), self._schema())
        writer = ix.writer(procs=procs, limitmb=256) if procs > 1 else ix.writer(limitmb=256)
        count = 0
        for r in read_corpus(corpus):
            doc = {"id": r["id"], "title": r["title"], "body": r["body"], "source": r.get("source") or ""}
            published = _date(r.get("published"))
            if published:
                doc["published"] = published.replace(tzinfo=None)
            writer.add_document(**doc)
            count += 1
        writer.commit()
        return count

    def open(self, directory: Path) -> None:
        import whoosh.index
        from whoosh import qparser

        self.ix = whoosh.index.open_dir(str(directory))
        self.searcher = self.ix.searcher()
        self.parser = qparser.MultifieldParser(["title", "body"], self.ix.schema, group=qparser.OrGroup)

    def search(self, q: Query) -> list[tuple[str, str]]:
        from whoosh import query as wq
        from whoosh.highlight import HtmlFormatter

        text = '"' + " ".join(q.words) + '"' if q.phrase else " ".join(q.words)
        query = self.parser.parse(text)
        filters = []
        if q.source:
            filters.append(wq.Term("source", q.source))
        if q.since or q.until:
            filters.append(wq.DateRange("published", datetime.fromisoformat(q.since) if q.since else None,
                                        datetime.fromisoformat(q.until + "T23:59:59") if q.until else None))
        flt = (filters[0] if len(filters) == 1 else wq.And(filters)) if filters else None
        if q.sort == "newest":
            results = self.searcher.search(query, limit=LIMIT, filter=flt, sortedby="published", reverse=True)
        else:
            results = self.searcher.search(query, limit=LIMIT, filter=flt)
        results.formatter = HtmlFormatter(tagname="mark")
        return [(hit["id"], hit.highlights("body")) for hit in results]

    def close(self) -> None:
        self.searcher.close()


ENGINES = {
    "searchkit": Searchkit, "searchkit-lean": SearchkitLean, "fts5-and": lambda: Fts5("and"), "fts5-or": lambda: Fts5("or"),
    "tantivy": Tantivy, "whoosh": RawWhoosh,
}
# Engines that share an index on disk (the two FTS5 modes are one database).
BUILD_AS = {"fts5-and": "fts5", "fts5-or": "fts5", "searchkit-lean": "searchkit"}


def make(name: str) -> Engine:
    return ENGINES[name]()


def dir_bytes(directory: Path) -> int:
    """Bytes of every file under `directory`."""
    total = 0
    for root, _, files in os.walk(directory):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total


__all__ = ["ENGINES", "BUILD_AS", "Engine", "make", "dir_bytes", "read_corpus"]
