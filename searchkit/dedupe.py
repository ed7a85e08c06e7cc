"""Exact and near-duplicate articles (syndicated wire copy): which earlier article each one copies.

Exact: the same normalised body (with its title, for short bodies). Near: word 5-shingles of
the body compared by MinHash (one-permutation hashing, 128 bins, densified), candidates found
by LSH banding (16 bands of 8 rows) and kept when the estimated Jaccard similarity is at least `threshold` (0.9).
A duplicate's cluster is the cluster of the article it copies, so every copy of one story
points at the first one imported.

Signatures persist beside the index in `dedupe.sqlite`, so a copy imported next week still
finds the original; it is kept small (about 0.9 KB an article, see _SCHEMA), because every
user's index directory holds it. What one import remembers is committed when that import's index write
succeeded, and rolled back when it failed. The index stays the source of truth: a stale entry
(an article since deleted) can at worst name a cluster with one member fewer. If the database
cannot be written (a full disk), duplicate detection stops for the run and `failure` says why;
the import itself goes on, and meets the full disk with the store's own message.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import sys
import zlib
from array import array
from collections import Counter
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Callable

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
# A character \w matches beyond ASCII (str.isalnum(): re's rule): a text with one has words
# that bytes.split() does not find.
_NON_ASCII_WORD = re.compile(r"[^\W\x00-\x7f]")


def text_digest(body: str, words: list[str] | list[bytes] | None = None) -> str:
    """A digest of the body's words (case, spacing and punctuation ignored); `words` are the
    body's lower-cased words (as lower_words gives them) when the caller has them already."""
    if words is None:
        words = _WORD.findall(body.lower())
    if words and isinstance(words[0], bytes):
        return hashlib.blake2b(b" ".join(words), digest_size=12).hexdigest()
    return hashlib.blake2b(" ".join(words).encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


# Every ASCII byte that \w does not match, as a space: an ASCII text's words are then one
# bytes.split() away (a fifth of the time of the regex, and no str objects to encode).
_ASCII_NON_WORD = bytes(c if chr(c).isalnum() or c == 0x5F else 0x20 for c in range(128)) + b" " * 128


def lower_words(body: str) -> list[str] | list[bytes]:
    """The \\w+ words of the lower-cased body: as bytes when every word is ASCII (an ASCII
    body, or one whose other characters are all punctuation such as curly quotes: each of
    their UTF-8 bytes is then a separator), the same words found faster; else as str."""
    lowered = body.lower()
    if not lowered.isascii() and _NON_ASCII_WORD.search(lowered):
        return _WORD.findall(lowered)  # \w is str.isalnum() or "_" (re's Unicode rule)
    return lowered.encode("utf-8", "surrogatepass").translate(_ASCII_NON_WORD).split()


# Python's tuple hash (xxHash-based, Objects/tupleobject.c), for tuples of SHINGLE ints below 2**61.
_XXPRIME_1 = np.uint64(11400714785074694791)
_XXPRIME_2 = np.uint64(14029467366897019727)
_XXPRIME_5 = 2870177450012600261
_TUPLE_SEED = np.uint64(_XXPRIME_5)
_TUPLE_LENGTH = np.uint64(SHINGLE ^ (_XXPRIME_5 ^ 3527539))
_ROTATE_LEFT, _ROTATE_RIGHT = np.uint64(31), np.uint64(33)
_SLOT_BITS, _SLOT_MASK = np.uint64(7), np.uint64(BINS - 1)  # value % BINS, value // BINS


def _shingle_hashes(crcs: np.ndarray) -> np.ndarray:
    """hash(tuple(crcs[i:i + SHINGLE])) & _MASK for every i, as whole arrays (uint64 wraps as
    Py_uhash_t does)."""
    count = len(crcs) - SHINGLE + 1
    lanes = crcs * _XXPRIME_2
    acc = np.full(count, _TUPLE_SEED, dtype=np.uint64)
    high = np.empty(count, dtype=np.uint64)
    for k in range(SHINGLE):  # in place: no new arrays in the loop
        acc += lanes[k:k + count]
        np.left_shift(acc, _ROTATE_LEFT, out=high)
        acc >>= _ROTATE_RIGHT
        acc |= high
        acc *= _XXPRIME_1
    acc += _TUPLE_LENGTH
    acc[acc == np.uint64(_MASK)] = 1546275796  # tuplehash never returns -1
    return acc


class WordCrcs(dict):
    """Each word's CRC-32 (of its UTF-8), computed once: a body's words are mostly words seen
    before. Words come as str or, from an ASCII body, as bytes (lower_words)."""

    def __missing__(self, word: str | bytes) -> int:
        value = self[word] = zlib.crc32(word if isinstance(word, bytes) else word.encode("utf-8", "surrogatepass"))
        return value


_EMPTY = np.uint64(_MASK)
_DENSIFY_STEP = np.uint64(0x9E3779B97F4A7C15)
_WORD_CRCS_MAX = 500_000  # words remembered by one finder's WordCrcs (~60 MB at the most)


def _bins(words: list[str] | list[bytes], crcs: WordCrcs) -> np.ndarray | None:
    """signature() as a numpy array of 128 uint64 bins, from the lower-cased words."""
    if len(words) < MIN_WORDS:
        return None
    # A bytes word (ASCII body) is hashed straight away: faster than looking it up.
    crc_of = zlib.crc32 if isinstance(words[0], bytes) else crcs.__getitem__
    values = _shingle_hashes(np.fromiter(map(crc_of, words), dtype=np.uint64, count=len(words)))
    minima = np.full(BINS, _EMPTY, dtype=np.uint64)
    np.minimum.at(minima, (values & _SLOT_MASK).astype(np.intp), values >> _SLOT_BITS)
    # Densify: an empty bin borrows the next filled bin's value (shifted so bins stay distinct).
    empty = np.flatnonzero(minima == _EMPTY)
    if len(empty):
        filled = np.flatnonzero(minima != _EMPTY)
        after = np.searchsorted(filled, empty, side="right")
        donor = np.where(after < len(filled), filled[np.minimum(after, len(filled) - 1)], filled[0])
        minima[empty] = minima[donor] + ((donor - empty) % BINS).astype(np.uint64) * _DENSIFY_STEP
    return minima


def signature(body: str, words: list[str] | None = None) -> array | None:
    """The MinHash signature of the body's word shingles; None if the body is too short.

    A shingle's hash is Python's hash of the tuple of its words' CRC-32s: fast, and (unlike
    the hash of a str) the same in every process of the same Python version. It is computed
    with numpy for the whole body at once (the same numbers: tested against hash()).
    `words` are the body's lower-cased words when the caller has them already.
    """
    if words is None:
        words = _WORD.findall(body.lower())
    bins = _bins(words, WordCrcs())
    return None if bins is None else array("Q", bins.tobytes())


def similarity(a: array, b: array) -> float:
    """Estimated Jaccard similarity of two signatures (share of equal bins)."""
    return sum(x == y for x, y in zip(a, b)) / BINS


def stored(sig: array | bytes) -> np.ndarray:
    """The low 32 bits of each bin: what dedupe.sqlite keeps (512 bytes, not 1 KB). Two bins
    that differ agree there with chance 2**-32, so no decision changes in practice (same
    clusters on the test corpora as with whole bins)."""
    return np.frombuffer(sig, dtype=np.uint64).astype(np.uint32)


# Band keys: a multiply-add of the band's bins with odd constants (a fixed random draw), 31 bits.
# Equal bands always give equal keys; two different bands share one with chance 2**-31, which
# only adds a candidate that the comparison of whole signatures then turns down.
_BAND_MULTIPLIERS = (np.random.default_rng(1521).integers(1, 2**63, size=(BANDS, ROWS), dtype=np.uint64)
                     | np.uint64(1))


def band_keys(bins: np.ndarray) -> list[int]:
    """The LSH band keys of a signature's stored (32-bit) bins, one per band."""
    mixed = (bins.astype(np.uint64).reshape(BANDS, ROWS) * _BAND_MULTIPLIERS).sum(axis=1, dtype=np.uint64)
    return (mixed >> np.uint64(33)).tolist()


def _crc_table() -> np.ndarray:
    """zlib's CRC-32 table (reflected polynomial 0xEDB88320): the CRC of one byte after each
    of the 256 low bytes of the register."""
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(0xEDB88320), table >> 1).astype(np.uint32)
    return table


_CRC_TABLE = _crc_table()
_SPACE_BYTE = 0x20
# Words longer than this are few; their CRCs come from zlib one by one, so that one very long
# "word" (an encoded blob) costs no more than its length, not a numpy step per character.
_VECTOR_WORD = 32


def _word_crcs(text: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """zlib.crc32 of each word text[start:start + length], for all the words at once: a table
    step per character position, over every word at least that long (longest first, so the
    words still going are always a prefix)."""
    crcs = np.empty(len(starts), dtype=np.uint64)
    long = np.flatnonzero(lengths > _VECTOR_WORD)
    raw = text.data
    for i in long.tolist():
        crcs[i] = zlib.crc32(raw[starts[i]:starts[i] + lengths[i]])
    short = np.flatnonzero(lengths <= _VECTOR_WORD)
    # Longest first: a stable sort of one byte a word (numpy sorts those by radix, in linear time).
    order = short[np.argsort((_VECTOR_WORD - lengths[short]).astype(np.uint8), kind="stable")]
    first, sizes = starts[order], lengths[order]
    register = np.full(len(order), 0xFFFFFFFF, dtype=np.uint32)
    # going[k]: how many words are longer than k characters (sizes is in descending order).
    going = np.searchsorted(-sizes, -np.arange(int(sizes[0]) if len(sizes) else 0), side="left")
    for k, count in enumerate(going.tolist()):
        part = register[:count]
        part[:] = _CRC_TABLE[(part ^ text[first[:count] + k]) & 0xFF] ^ (part >> 8)
    crcs[order] = register ^ np.uint32(0xFFFFFFFF)
    return crcs


def _densified(minima: np.ndarray) -> np.ndarray:
    """Rows of BINS minima with their empty bins filled as _bins does, all rows at once: an
    empty bin borrows the next filled bin's value (cyclically), shifted by the distance."""
    rows = len(minima)
    empty = minima == _EMPTY
    if not empty.any():
        return minima
    columns = np.arange(2 * BINS)
    # The nearest filled column at or after each one, over each row laid twice end to end.
    ahead = np.where(np.tile(~empty, 2), columns, 4 * BINS)
    nearest = np.minimum.accumulate(ahead[:, ::-1], axis=1)[:, ::-1][:, :BINS]
    row, column = np.nonzero(empty)
    donor = nearest[row, column]
    filled = minima.copy()
    filled[row, column] = minima[row, donor % BINS] + (donor - column).astype(np.uint64) * _DENSIFY_STEP
    return filled.reshape(rows, BINS)


@dataclass
class Fingerprint:
    """What duplicate detection compares of one article, worked out before any look-up: the
    digest of its words (exact copies; None for an empty body) and, for a body of at least
    MIN_WORDS words, its signature's stored 32-bit bins and their band keys (near copies)."""

    digest: bytes | None
    bins: np.ndarray | None
    keys: list[int]


def fingerprint(body: str, title: str = "", crcs: WordCrcs | None = None) -> Fingerprint:
    """One article's Fingerprint (`crcs`: a cache of word CRCs to reuse, for non-ASCII words)."""
    lowered = lower_words(body)
    # Lower-casing an ASCII body leaves its words where they were: count them once. Else the
    # body's own words are counted, up to MIN_WORDS (all the test needs).
    words = len(lowered) if body.isascii() else sum(1 for _ in islice(_WORD.finditer(body), MIN_WORDS))
    if not body.strip():
        digest = None
    elif words >= MIN_WORDS:
        digest = text_digest(body, lowered)
    else:
        digest = text_digest(f"{title}\n{body}")
    sig = _bins(lowered, WordCrcs() if crcs is None else crcs)
    bins = None if sig is None else sig.astype(np.uint32)
    return Fingerprint(bytes.fromhex(digest) if digest else None, bins, [] if bins is None else band_keys(bins))


def fingerprints(articles: list[tuple[str, str]]) -> list[Fingerprint]:
    """fingerprint(body, title) of each (body, title), the same values, the work done with
    numpy over all the bodies at once: their words are found, CRC'd, shingled and MinHashed
    in whole arrays, not one word at a time (most of an import's duplicate check)."""
    texts: list[bytes] = []
    for body, _title in articles:
        lowered = body.lower()
        if not lowered.isascii() and _NON_ASCII_WORD.search(lowered):
            # Words beyond ASCII: found by the regex, each then one space apart in UTF-8 (the
            # bytes whose CRC-32 _bins takes).
            texts.append(" ".join(_WORD.findall(lowered)).encode("utf-8", "surrogatepass"))
        else:
            texts.append(lowered.encode("utf-8", "surrogatepass").translate(_ASCII_NON_WORD))
    return _fingerprints(articles, texts) if articles else []


def _fingerprints(articles: list[tuple[str, str]], texts: list[bytes]) -> list[Fingerprint]:
    """fingerprints(articles), given each body's lower-cased words in UTF-8 with spaces (and
    nothing else) between them."""
    joined = b" ".join(texts)  # a space between two bodies: no word runs across
    text = np.frombuffer(joined, dtype=np.uint8)
    inside = (text != _SPACE_BYTE).view(np.int8)
    edges = np.diff(inside, prepend=np.int8(0), append=np.int8(0))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    offsets = np.cumsum([0] + [len(t) + 1 for t in texts[:-1]])
    owner = np.searchsorted(offsets, starts, side="right") - 1  # the article of each word
    counts = np.bincount(owner, minlength=len(texts))
    firsts = np.concatenate(([0], np.cumsum(counts)))  # each article's first word
    crcs = _word_crcs(text, starts, ends - starts)

    # The words' digest: each article's words joined by one space, as text_digest joins them.
    kept = inside.view(bool).copy()
    between = np.ones(len(starts), dtype=bool)
    between[(firsts[1:] - 1)[counts > 0]] = False  # no space after an article's last word
    kept[ends[between]] = True
    squeezed = memoryview(text[kept].tobytes())
    lengths = np.bincount(owner, weights=ends - starts, minlength=len(texts)).astype(np.int64)
    sizes = lengths + np.maximum(counts - 1, 0)
    at = np.concatenate(([0], np.cumsum(sizes))).tolist()  # each article's joined words in squeezed

    # Shingles that lie inside one article of at least MIN_WORDS words, MinHashed per article.
    signed = counts >= MIN_WORDS
    rows = np.cumsum(signed) - 1  # each signed article's row of minima
    minima = np.full((int(signed.sum()), BINS), _EMPTY, dtype=np.uint64)
    if len(minima):
        values = _shingle_hashes(crcs)
        head = owner[:len(values)]
        inner = (head == owner[SHINGLE - 1:]) & signed[head]
        values, head = values[inner], head[inner]
        slots = rows[head] * BINS + (values & _SLOT_MASK).astype(np.intp)
        np.minimum.at(minima.reshape(-1), slots, values >> _SLOT_BITS)
        minima = _densified(minima)
    stored_bins = minima.astype(np.uint32)
    keys = ((stored_bins.astype(np.uint64).reshape(-1, BANDS, ROWS) * _BAND_MULTIPLIERS)
            .sum(axis=2, dtype=np.uint64) >> np.uint64(33)).tolist()

    found = []
    rows_of, signed_of = rows.tolist(), signed.tolist()
    for n, (count, (body, title)) in enumerate(zip(counts.tolist(), articles)):
        # As fingerprint(): an ASCII body's words are counted; another body's own words.
        words = count if body.isascii() else sum(1 for _ in islice(_WORD.finditer(body), MIN_WORDS))
        if words >= MIN_WORDS:
            digest = hashlib.blake2b(squeezed[at[n]:at[n + 1]], digest_size=12).digest()
        elif not body.strip():
            digest = None
        else:
            digest = bytes.fromhex(text_digest(f"{title}\n{body}"))
        if signed_of[n]:
            row = rows_of[n]
            found.append(Fingerprint(digest, stored_bins[row], keys[row]))
        else:
            found.append(Fingerprint(digest, None, []))
    return found


@dataclass
class Match:
    """An earlier article this one duplicates: its id, cluster, and how ("exact" or "near")."""

    id: str
    cluster: str
    kind: str


# dedupe.sqlite, compact layout: articles numbered once, band rows two integers in a
# clustered (WITHOUT ROWID) B-tree, a cluster stored only when it is not the article itself,
# the digest as 12 raw bytes and the signature as 128 x 32 bits.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS article (num INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,
                                    cluster TEXT, digest BLOB, sig BLOB);
CREATE INDEX IF NOT EXISTS article_digest ON article (digest) WHERE digest IS NOT NULL;
CREATE TABLE IF NOT EXISTS band (key INTEGER NOT NULL, num INTEGER NOT NULL,
                                 PRIMARY KEY (key, num)) WITHOUT ROWID;
"""
# Rows converted per chunk when an older dedupe.sqlite (text ids in every band row) is read.
_CONVERT_CHUNK = 10_000
# Above this many articles, converting an older database is announced (measured under load:
# 6.8 CPU-s at 100k, 120 CPU-s and 5 minutes at 1M, 3.19 GB -> 0.88 GB).
CONVERT_NOTICE = 50_000


class DuplicateFinder:
    """Finds the earlier article a new one duplicates, remembering every article it is shown.

    With `path` (an index directory) what it remembers persists across imports; without, it
    lives for one run. Use as a context manager so the database is closed. `on_notice` hears
    of slow one-off work: converting a database of an older version that holds at least
    `notice_over` articles.
    """

    def __init__(self, path: Path | None = None, threshold: float = THRESHOLD,
                 on_notice: Callable[[str], None] = lambda message: None,
                 notice_over: int = CONVERT_NOTICE) -> None:
        self.threshold = threshold
        self.failure = ""
        self._path = path / DB_NAME if path else None
        self._on_notice = on_notice
        self._notice_over = notice_over
        self._connection: sqlite3.Connection | None = None
        self._crcs = WordCrcs()

    @property
    def _db(self) -> sqlite3.Connection:
        """The database, opened on first use: an import first checks an article once it holds
        the index's writer lock, so two imports never race to create or upgrade it."""
        if self._connection is None:
            if self._path is not None and _is_old_layout(self._path):
                _convert(self._path, self._on_notice, self._notice_over)
            self._connection = _connect(str(self._path) if self._path else ":memory:")
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

    def fingerprints(self, articles: list[tuple[str, str]]) -> list[Fingerprint]:
        """fingerprint(body, title) of each (body, title), worked out together (fingerprints):
        for check() to be given, article by article."""
        return fingerprints(articles)

    def check(self, article_id: str, body: str, title: str = "", known: Fingerprint | None = None) -> Match | None:
        """See _check; `known` is the article's fingerprint when the caller has it already
        (fingerprints()). After a database failure every article is taken as new."""
        if self.failure:
            return None
        try:
            if known is None:
                if len(self._crcs) > _WORD_CRCS_MAX:
                    self._crcs.clear()
                known = fingerprint(body, title, self._crcs)
            return self._check(article_id, known)
        except (sqlite3.Error, OSError) as exc:
            self.failure = str(exc)
            try:
                if self._connection is not None:
                    self._connection.rollback()
            except sqlite3.Error:
                pass  # the failure above is the one to report
            return None

    def check_all(self, articles: list[tuple[str, Fingerprint]]) -> list[Match | None]:
        """check() of each (id, fingerprint) in turn, the same answers, with a few statements
        for the whole batch instead of five an article (see _check_all). After a database
        failure every article is taken as new."""
        if self.failure:
            return [None] * len(articles)
        try:
            return self._check_all(articles)
        except (sqlite3.Error, OSError) as exc:
            self.failure = str(exc)
            try:
                if self._connection is not None:
                    self._connection.rollback()
            except sqlite3.Error:
                pass  # the failure above is the one to report
            return [None] * len(articles)

    def _check_all(self, articles: list[tuple[str, Fingerprint]]) -> list[Match | None]:
        """_check of each article in turn. Articles new to the database go in runs
        (_check_new); one imported before, or twice in the batch, keeps its number and drops
        its old bands (_check), between them."""
        seen = {row[0] for row in _select(self._db, "SELECT id FROM article WHERE id IN ({})",
                                          [article_id for article_id, _ in articles])}
        matches: list[Match | None] = []
        run: list[tuple[str, Fingerprint]] = []
        for article_id, known in articles:
            if article_id in seen:
                matches += self._check_new(run)
                run = []
                matches.append(self._check(article_id, known))
            else:
                run.append((article_id, known))
                seen.add(article_id)
        return matches + self._check_new(run)

    def _check_new(self, articles: list[tuple[str, Fingerprint]]) -> list[Match | None]:
        """_check of each article in turn, for articles whose ids are new and distinct: one
        look-up of every digest and band key of the run and one insert of its articles and
        band rows; what an article would find among the run's earlier ones is found in memory."""
        if not articles:
            return []
        db = self._db
        ids = [article_id for article_id, _ in articles]
        first = db.execute("SELECT coalesce(max(num), 0) + 1 FROM article").fetchone()[0]  # as INSERT numbers
        earlier: dict[bytes, tuple[str, str | None]] = {}  # digest -> the first stored article's id, cluster
        for digest, other_id, cluster in _select(
                db, "SELECT digest, id, cluster FROM article WHERE digest IN ({}) ORDER BY num",
                list({known.digest for _, known in articles if known.digest})):
            earlier.setdefault(digest, (other_id, cluster))
        banded: dict[int, list[int]] = {}  # band key -> stored articles' numbers
        stored_sigs: dict[int, tuple[str, str | None, bytes | None]] = {}
        for key, num, other_id, cluster, blob in _select(
                db, "SELECT b.key, a.num, a.id, a.cluster, a.sig FROM band b JOIN article a ON a.num = b.num "
                    "WHERE b.key IN ({})", list({key for _, known in articles for key in known.keys})):
            banded.setdefault(key, []).append(num)
            stored_sigs[num] = (other_id, cluster, blob)

        # Band keys that two of the run's articles have: only these can link one to another.
        counted = Counter(key for _, known in articles for key in set(known.keys))
        shared = {key for key, count in counted.items() if count > 1}
        matches: list[Match | None] = []
        clusters: list[str | None] = []  # what each article's row stores (None: its own id)
        first_with: dict[bytes, int] = {}  # digest -> the first article of the run with it
        run_banded: dict[int, list[int]] = {}  # shared band key -> the run's articles with it
        need = self.threshold * BINS
        for place, (article_id, known) in enumerate(articles):
            match = None
            if known.digest:
                if known.digest in earlier:
                    other_id, cluster = earlier[known.digest]
                    match = Match(other_id, cluster or other_id, "exact")
                elif known.digest in first_with:
                    other = first_with[known.digest]
                    match = Match(ids[other], clusters[other] or ids[other], "exact")
                first_with.setdefault(known.digest, place)
            if known.bins is not None:
                mine = shared.intersection(known.keys)
                stored_keys = banded.keys() & known.keys
                if match is None and (stored_keys or mine):  # candidates in number order: stored, then the run's
                    best: tuple[int, str, str] | None = None
                    for num in sorted({num for key in stored_keys for num in banded[key]}):
                        other_id, cluster, blob = stored_sigs[num]
                        if not blob:
                            continue
                        equal = int(np.count_nonzero(np.frombuffer(blob, dtype=np.uint32) == known.bins))
                        if equal >= need and (best is None or equal > best[0]):
                            best = (equal, other_id, cluster or other_id)
                    for other in sorted({other for key in mine for other in run_banded.get(key, ())}):
                        equal = int(np.count_nonzero(articles[other][1].bins == known.bins))
                        if equal >= need and (best is None or equal > best[0]):
                            best = (equal, ids[other], clusters[other] or ids[other])
                    match = Match(best[1], best[2], "near") if best else None
                for key in mine:
                    run_banded.setdefault(key, []).append(place)
            matches.append(match)
            clusters.append(match.cluster if match and match.cluster != article_id else None)
        db.executemany("INSERT INTO article (num, id, cluster, digest, sig) VALUES (?, ?, ?, ?, ?)",
                       [(first + place, article_id, cluster, known.digest,
                         None if known.bins is None else known.bins.tobytes())
                        for place, ((article_id, known), cluster) in enumerate(zip(articles, clusters))])
        signed = [place for place, (_, known) in enumerate(articles) if known.keys]
        if signed:  # band rows (key, num), distinct, in key order: key and number in one int64
            keys = np.array([articles[place][1].keys for place in signed], dtype=np.int64)
            rows = np.unique((keys << 32) | (first + np.array(signed, dtype=np.int64))[:, None])
            db.executemany("INSERT OR IGNORE INTO band (key, num) VALUES (?, ?)",
                           zip((rows >> 32).tolist(), (rows & 0xFFFFFFFF).tolist()))
        return matches

    def _check(self, article_id: str, known: Fingerprint) -> Match | None:
        """The earlier article `known` (article_id's fingerprint) duplicates (never
        `article_id` itself), then remember it.

        A short body ("Photo gallery", a one-line brief) is only the same text together with
        its title; a long one is the same story whatever its headline. Of several equally
        similar earlier articles, the first imported is the match."""
        raw_digest, bins, keys = known.digest, known.bins, known.keys
        db = self._db
        blob = None if bins is None else bins.tobytes()
        # A new article (the usual case) is numbered and remembered in one statement; its
        # cluster is set below only if it turns out to copy another.
        row = db.execute("INSERT INTO article (id, digest, sig) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING "
                         "RETURNING num", (article_id, raw_digest, blob)).fetchone()
        if row:
            num = row[0]
        else:  # imported before: forget its old bands, keep its number
            num, old = db.execute("SELECT num, sig FROM article WHERE id = ?", (article_id,)).fetchone()
            if old:
                db.executemany("DELETE FROM band WHERE key = ? AND num = ?",
                               [(key, num) for key in band_keys(np.frombuffer(old, dtype=np.uint32))])
        match = self._find(num, raw_digest, bins, keys)
        cluster = match.cluster if match and match.cluster != article_id else None
        if not row:
            db.execute("UPDATE article SET cluster = ?, digest = ?, sig = ? WHERE num = ?",
                       (cluster, raw_digest, blob, num))
        elif cluster:
            db.execute("UPDATE article SET cluster = ? WHERE num = ?", (cluster, num))
        if bins is not None:
            db.executemany("INSERT OR IGNORE INTO band (key, num) VALUES (?, ?)", [(key, num) for key in keys])
        return match

    def _find(self, num: int, digest: bytes | None, bins: np.ndarray | None, keys: list[int]) -> Match | None:
        if digest:
            row = self._db.execute("SELECT id, cluster FROM article WHERE digest = ? AND num != ? "
                                   "ORDER BY num LIMIT 1", (digest, num)).fetchone()
            if row:
                return Match(row[0], row[1] or row[0], "exact")
        if bins is None:
            return None
        marks = ",".join("?" * len(keys))
        rows = self._db.execute(
            f"SELECT num, id, cluster, sig FROM article WHERE num IN "
            f"(SELECT num FROM band WHERE key IN ({marks}) AND num != ?) ORDER BY num", (*keys, num)).fetchall()
        best: tuple[int, str, str] | None = None
        need = self.threshold * BINS
        for _, other_id, cluster, blob in rows:
            if not blob:
                continue
            equal = int(np.count_nonzero(np.frombuffer(blob, dtype=np.uint32) == bins))
            if equal >= need and (best is None or equal > best[0]):
                best = (equal, other_id, cluster or other_id)
        return Match(best[1], best[2], "near") if best else None


# Values bound to one statement of _select (SQLite allows 32,766 since 3.32; some builds 999).
_SELECT_CHUNK = 900


def _select(db: sqlite3.Connection, sql: str, values: list) -> list[tuple]:
    """The rows of `sql` (a query with one `IN ({})`) for all of `values`, a chunk at a time."""
    rows: list[tuple] = []
    for start in range(0, len(values), _SELECT_CHUNK):
        chunk = values[start:start + _SELECT_CHUNK]
        rows += db.execute(sql.format(",".join("?" * len(chunk))), chunk).fetchall()
    return rows


def _connect(target: str) -> sqlite3.Connection:
    connection = sqlite3.connect(target, timeout=600)
    # A run's changes stay in memory until its commit (up to 64 MB; beyond, SQLite spills them to
    # the file under its rollback journal), so a failed import leaves the file as it was. 64 MB,
    # not more: a bigger cache was most of the importer's memory (issue 16: an import in 1 GiB).
    connection.executescript("PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;" + _SCHEMA)
    return connection


def _is_old_layout(path: Path) -> bool:
    """Whether `path` is a dedupe.sqlite of the first layout (band rows holding text ids)."""
    if not path.exists():
        return False
    probe = sqlite3.connect(str(path), timeout=600)
    try:
        return "id" in {row[1] for row in probe.execute("PRAGMA table_info(band)")}
    finally:
        probe.close()


def _convert(path: Path, on_notice: Callable[[str], None], notice_over: int) -> None:
    """Rewrite a first-layout dedupe.sqlite in the compact layout, keeping every article,
    cluster, digest and signature (band keys are worked out again from the signatures). The
    old file stays as it was until the new one is complete, so a failure loses nothing."""
    old = sqlite3.connect(str(path), timeout=600)
    fresh_path = path.with_name(path.name + ".converting")
    fresh_path.unlink(missing_ok=True)
    try:
        count = old.execute("SELECT count(*) FROM article").fetchone()[0]
        if count >= notice_over:
            on_notice(f"{path}: converting the near-duplicate signatures of {count:,} articles to the "
                      f"compact layout (once; about {max(1, round(count * 120e-6))} s)")
        version = old.execute("PRAGMA user_version").fetchone()[0]
        fresh = _connect(str(fresh_path))
        try:
            rows = old.execute("SELECT id, cluster, digest, sig FROM article ORDER BY rowid")
            while chunk := rows.fetchmany(_CONVERT_CHUNK):
                for article_id, cluster, digest, blob in chunk:
                    bins = stored(blob) if blob and version == SIGNATURE_VERSION else None
                    num = fresh.execute(
                        "INSERT INTO article (id, cluster, digest, sig) VALUES (?, ?, ?, ?)",
                        (article_id, None if cluster == article_id else cluster,
                         bytes.fromhex(digest) if digest else None,
                         None if bins is None else bins.tobytes())).lastrowid
                    if bins is not None:
                        fresh.executemany("INSERT OR IGNORE INTO band (key, num) VALUES (?, ?)",
                                          [(key, num) for key in band_keys(bins)])
            fresh.execute(f"PRAGMA user_version = {version}")
            fresh.commit()
        finally:
            fresh.close()
    except BaseException:
        fresh_path.unlink(missing_ok=True)
        raise
    finally:
        old.close()
    os.replace(fresh_path, path)
