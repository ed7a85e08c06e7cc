"""Exact and near-duplicate articles (syndicated wire copy): which earlier article each one copies.

Exact: the same normalised body (with its title, for short bodies). Near: word 5-shingles of
the body compared by MinHash (one-permutation hashing, 128 bins, densified), candidates found
by LSH banding (16 bands of 8 rows) and kept when the estimated Jaccard similarity is at least `threshold` (0.9).
A duplicate's cluster is the cluster of the article it copies, so every copy of one story
points at the first one imported.

Signatures persist beside the index in `dedupe.sqlite`, so a copy imported next week still
finds the original. What one import remembers is committed when that import's index write
succeeded, and rolled back when it failed. The index stays the source of truth: a stale entry
(an article since deleted) can at worst name a cluster with one member fewer. If the database
cannot be written (a full disk), duplicate detection stops for the run and `failure` says why;
the import itself goes on, and meets the full disk with the store's own message.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import sys
import zlib
from array import array
from dataclasses import dataclass
from operator import methodcaller
from pathlib import Path

import numpy as np

BINS = 128
BANDS = 16
ROWS = BINS // BANDS
SHINGLE = 5
MIN_WORDS = 30  # shorter bodies (headline-only records) are compared exactly, not by shingles
THRESHOLD = 0.9
DB_NAME = "dedupe.sqlite"
# Stored signatures are comparable only with the same scheme and Python's tuple hash.
SIGNATURE_VERSION = 1000 * sys.version_info[0] + 10 * sys.version_info[1] + 1
_WORD = re.compile(r"\w+")
_MASK = (1 << 64) - 1


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")


def text_digest(body: str, words: list[str] | None = None) -> str:
    """A digest of the body's words (case, spacing and punctuation ignored); `words` are the
    body's lower-cased words when the caller has them already."""
    if words is None:
        words = _WORD.findall(body.lower())
    return hashlib.blake2b(" ".join(words).encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


# Python's tuple hash (xxHash-based, Objects/tupleobject.c), for tuples of SHINGLE ints below 2**61.
_XXPRIME_1 = np.uint64(11400714785074694791)
_XXPRIME_2 = np.uint64(14029467366897019727)
_XXPRIME_5 = 2870177450012600261
_TUPLE_SEED = np.uint64(_XXPRIME_5)
_TUPLE_LENGTH = np.uint64(SHINGLE ^ (_XXPRIME_5 ^ 3527539))
_ROTATE_LEFT, _ROTATE_RIGHT = np.uint64(31), np.uint64(33)
_utf8 = methodcaller("encode", "utf-8", "surrogatepass")
_SLOT_BITS, _SLOT_MASK = np.uint64(7), np.uint64(BINS - 1)  # value % BINS, value // BINS


def _shingle_hashes(crcs: np.ndarray) -> np.ndarray:
    """hash(tuple(crcs[i:i + SHINGLE])) & _MASK for every i, as whole arrays (uint64 wraps as
    Py_uhash_t does)."""
    count = len(crcs) - SHINGLE + 1
    acc = np.full(count, _TUPLE_SEED, dtype=np.uint64)
    for k in range(SHINGLE):
        acc += crcs[k:k + count] * _XXPRIME_2
        acc = (acc << _ROTATE_LEFT) | (acc >> _ROTATE_RIGHT)
        acc *= _XXPRIME_1
    acc += _TUPLE_LENGTH
    acc[acc == np.uint64(_MASK)] = 1546275796  # tuplehash never returns -1
    return acc


def signature(body: str, words: list[str] | None = None) -> array | None:
    """The MinHash signature of the body's word shingles; None if the body is too short.

    A shingle's hash is Python's hash of the tuple of its words' CRC-32s: fast, and (unlike
    the hash of a str) the same in every process of the same Python version. It is computed
    with numpy for the whole body at once (the same numbers: tested against hash()).
    `words` are the body's lower-cased words when the caller has them already.
    """
    if words is None:
        words = _WORD.findall(body.lower())
    if len(words) < MIN_WORDS:
        return None
    crcs = np.fromiter(map(zlib.crc32, map(_utf8, words)), dtype=np.uint64, count=len(words))
    values = _shingle_hashes(crcs)
    minima = np.full(BINS, _MASK, dtype=np.uint64)
    np.minimum.at(minima, (values & _SLOT_MASK).astype(np.intp), values >> _SLOT_BITS)
    bins = minima.tolist()
    # Densify: an empty bin borrows the next filled bin's value (shifted so bins stay distinct).
    filled = [i for i in range(BINS) if bins[i] != _MASK]
    if len(filled) < BINS:
        for i in range(BINS):
            if bins[i] == _MASK:
                donor = next((j for j in filled if j > i), filled[0])
                bins[i] = (bins[donor] + (donor - i) % BINS * 0x9E3779B97F4A7C15) & _MASK
    return array("Q", bins)


def similarity(a: array, b: array) -> float:
    """Estimated Jaccard similarity of two signatures (share of equal bins)."""
    return sum(x == y for x, y in zip(a, b)) / BINS


def _band_keys(sig: array) -> list[int]:
    return [_hash(f"{band}:" + ",".join(map(str, sig[band * ROWS:(band + 1) * ROWS])))
            & 0x7FFF_FFFF_FFFF_FFFF for band in range(BANDS)]


@dataclass
class Match:
    """An earlier article this one duplicates: its id, cluster, and how ("exact" or "near")."""

    id: str
    cluster: str
    kind: str


class DuplicateFinder:
    """Finds the earlier article a new one duplicates, remembering every article it is shown.

    With `path` (an index directory) what it remembers persists across imports; without, it
    lives for one run. Use as a context manager so the database is closed.
    """

    def __init__(self, path: Path | None = None, threshold: float = THRESHOLD) -> None:
        self.threshold = threshold
        self.failure = ""
        self._target = str(path / DB_NAME) if path else ":memory:"
        self._connection: sqlite3.Connection | None = None

    @property
    def _db(self) -> sqlite3.Connection:
        """The database, opened on first use: an import first checks an article once it holds
        the index's writer lock, so two imports never race to create or upgrade it."""
        if self._connection is None:
            self._connection = sqlite3.connect(self._target, timeout=600)
            # A run's changes stay in memory until its commit (up to 64 MB; beyond, SQLite spills
            # them to the file under its rollback journal), so a failed import leaves the file as
            # it was. 64 MB, not more: at 100,000 articles the database is 300 MB, and a bigger
            # cache was most of the importer's memory (issue 16: an import in 1 GiB).
            self._connection.executescript(
                """
                PRAGMA cache_size = -65536;
                PRAGMA temp_store = MEMORY;
                CREATE TABLE IF NOT EXISTS article (id TEXT PRIMARY KEY, cluster TEXT NOT NULL,
                                                    digest TEXT, sig BLOB);
                CREATE INDEX IF NOT EXISTS article_digest ON article (digest);
                CREATE TABLE IF NOT EXISTS band (key INTEGER NOT NULL, id TEXT NOT NULL);
                CREATE INDEX IF NOT EXISTS band_key ON band (key);
                CREATE INDEX IF NOT EXISTS band_id ON band (id);
                """
            )
            if self._connection.execute("PRAGMA user_version").fetchone()[0] != SIGNATURE_VERSION:
                # Signatures from another hashing scheme cannot be compared with ours: start afresh.
                self._connection.executescript("DELETE FROM band; UPDATE article SET sig = NULL;")
                self._connection.execute(f"PRAGMA user_version = {SIGNATURE_VERSION}")
                self._connection.commit()
        return self._connection

    def __enter__(self) -> "DuplicateFinder":
        return self

    def __exit__(self, kind: type | None, *exc: object) -> None:
        self.close(keep=kind is None)

    def close(self, keep: bool = True) -> None:
        """Commit what was remembered (or with keep=False forget it) and close the database."""
        if self._connection is None:
            return
        try:
            if keep and not self.failure:
                self._db.commit()
            else:
                self._db.rollback()
        except sqlite3.Error as exc:
            self.failure = self.failure or str(exc)
        finally:
            self._connection.close()
            self._connection = None

    def check(self, article_id: str, body: str, title: str = "") -> Match | None:
        """See _check; after a database failure every article is taken as new."""
        if self.failure:
            return None
        try:
            return self._check(article_id, body, title)
        except sqlite3.Error as exc:
            self.failure = str(exc)
            try:
                self._db.rollback()
            except sqlite3.Error:
                pass  # the failure above is the one to report
            return None

    def _check(self, article_id: str, body: str, title: str = "") -> Match | None:
        """The earlier article `body` duplicates (never `article_id` itself), then remember it.

        A short body ("Photo gallery", a one-line brief) is only the same text together with
        its title; a long one is the same story whatever its headline."""
        lowered = _WORD.findall(body.lower())
        # Lower-casing an ASCII body leaves its words where they were: count them once.
        words = len(lowered) if body.isascii() else len(_WORD.findall(body))
        if not body.strip():
            digest = None
        elif words >= MIN_WORDS:
            digest = text_digest(body, lowered)
        else:
            digest = text_digest(f"{title}\n{body}")
        sig = signature(body, lowered)
        match = self._find(article_id, digest, sig)
        cluster = match.cluster if match else article_id
        self._db.execute("DELETE FROM band WHERE id = ?", (article_id,))
        self._db.execute("INSERT OR REPLACE INTO article (id, cluster, digest, sig) VALUES (?, ?, ?, ?)",
                         (article_id, cluster, digest, sig.tobytes() if sig else None))
        if sig:
            self._db.executemany("INSERT INTO band (key, id) VALUES (?, ?)",
                                 [(key, article_id) for key in _band_keys(sig)])
        return match

    def _find(self, article_id: str, digest: str | None, sig: array | None) -> Match | None:
        if digest:
            row = self._db.execute("SELECT id, cluster FROM article WHERE digest = ? AND id != ? LIMIT 1",
                                   (digest, article_id)).fetchone()
            if row:
                return Match(row[0], row[1], "exact")
        if not sig:
            return None
        keys = _band_keys(sig)
        marks = ",".join("?" * len(keys))
        rows = self._db.execute(
            f"SELECT DISTINCT a.id, a.cluster, a.sig FROM band b JOIN article a ON a.id = b.id "
            f"WHERE b.key IN ({marks}) AND b.id != ?", (*keys, article_id)).fetchall()
        best: tuple[float, str, str] | None = None
        for other_id, cluster, blob in rows:
            score = similarity(sig, array("Q", blob))
            if score >= self.threshold and (best is None or score > best[0]):
                best = (score, other_id, cluster)
        return Match(best[1], best[2], "near") if best else None
