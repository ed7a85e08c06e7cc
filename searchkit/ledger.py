"""Which records earlier imports took in, so that running an import again skips them unread.

A record's key is a hash of its bytes and of what else shapes its articles
(extract/records.record_key). The ledger maps each key to the article id it became, or to the
failure it gave. An import looks every record's key up before extracting it: one it finds is
not extracted, deduplicated or indexed again, so re-running an interrupted import costs the
reading and hashing of the part already done and picks up where it stopped.

An article's key is added only once the commit that holds it is done (store.Index.write's
on_commit), so a killed import never marks what it lost. A failure is added when it happens:
it has nothing to lose, and a re-run reports it again from here. Deleting an article forgets
its keys (store.Index.delete), so importing it again brings it back.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Iterable

from .extract.records import Unchanged

DB_NAME = "imported.sqlite"


class Ledger:
    """The ledger of the index at `path` (in memory without one). Use as a context manager."""

    def __init__(self, path: Path | None = None) -> None:
        self.failure = ""  # a database error stops the ledger, never the import
        self._db = sqlite3.connect(str(path / DB_NAME) if path else ":memory:", timeout=600)
        try:
            # One row per article a record became (a feed holds several), or one for its failure.
            self._db.executescript("CREATE TABLE IF NOT EXISTS record (key TEXT NOT NULL, id TEXT NOT NULL, "
                                   "failure TEXT NOT NULL, PRIMARY KEY (key, id)) WITHOUT ROWID;"
                                   "CREATE INDEX IF NOT EXISTS record_id ON record (id);")
        except sqlite3.Error as exc:
            self.failure = str(exc)

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def known(self, key: str) -> Unchanged | None:
        """Unchanged for a record an earlier import took in (or failed on), else None."""
        if self.failure:
            return None
        try:
            rows = self._db.execute("SELECT id, failure FROM record WHERE key = ?", (key,)).fetchall()
        except sqlite3.Error as exc:
            self.failure = str(exc)
            return None
        if not rows:
            return None
        return Unchanged(key, rows[0][1], sum(1 for article_id, _ in rows if article_id))

    def failed(self, key: str, message: str) -> None:
        """Remember that the record `key` failed with `message` (saved with the next commit)."""
        self._run("INSERT OR REPLACE INTO record (key, id, failure) VALUES (?, '', ?)", [(key, message)])

    def committed(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Remember (key, article id) pairs whose articles are now committed to the index."""
        self._run("INSERT OR REPLACE INTO record (key, id, failure) VALUES (?, ?, '')", pairs)
        self._commit()

    def forget(self, ids: Iterable[str]) -> None:
        """Forget the records that became the articles `ids` (they were deleted)."""
        self._run("DELETE FROM record WHERE id = ?", [(i,) for i in ids])
        self._commit()

    def _run(self, statement: str, rows: Iterable[tuple]) -> None:
        if self.failure:
            return
        try:
            self._db.executemany(statement, rows)
        except sqlite3.Error as exc:
            self.failure = str(exc)

    def _commit(self) -> None:
        if self.failure:
            return
        try:
            self._db.commit()
        except sqlite3.Error as exc:
            self.failure = str(exc)

    def close(self) -> None:
        self._commit()
        self._db.close()


def forget(path: Path, ids: Iterable[str]) -> None:
    """Forget the records that became the articles `ids` in the ledger of the index at `path`,
    if it has one."""
    if (path / DB_NAME).exists():
        with Ledger(path) as ledger:
            ledger.forget(ids)
