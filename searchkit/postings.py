"""Whoosh W3 posting lists and term infos, written a whole term at a time.

W3's FilePostingWriter takes one posting per Python call (type checks, statistics) and
zlib-compresses every block, even the one-posting blocks that most terms of a news segment
have, where compression saves nothing. A segment built in memory (build.py) already holds each
term's postings in lists, so this writes W3's bytes from them directly. Each term's postings
are the W3 header magic and then, per block of up to 128 postings: a 4-byte signed length
(negative for the last block), the pickled info tuple (count, last id, max weight, compression
level, min length byte, max length byte) and the pickled (delta-coded ids, weights, values)
tuple, zlib-compressed only when it is at least COMPRESS[0] bytes long (compression level
0 in the info tuple otherwise, which every W3 reader honours). With W3_COMPRESS the files
are byte for byte what W3's writer makes (tested).
"""

from __future__ import annotations

import zlib
from array import array
from operator import sub
from pickle import dumps
from struct import Struct
from typing import Sequence

from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3Codec
from whoosh.filedb.filetables import OrderedHashWriter
from whoosh.system import pack_int, pack_long, pack_ushort

BLOCK = 128  # postings per block (W3Codec's blocklimit)
# How a posting block is compressed: (smallest pickled size compressed, zlib level). Queries
# read text postings from the sidecar (sidecar.py), so W3's blocks are mostly on disk for
# Whoosh's own readers: level 1 and only blocks of 1 KB or more cost a tenth of what W3's
# level 3 on every block does at import (callgrind), for a postings file ~10% larger.
# Most terms have one short block, where zlib would save a few bytes at most.
COMPRESS = (1024, 1)
W3_COMPRESS = (0, 3)  # what W3's own writer does: the files are then byte for byte W3's

_TERMINFO = Struct("!BfIBBfII")  # W3TermInfo: flags, weight, doc freq, min/max length byte,
#                                  max weight, first id, last id (then offset and length)
_LENGTHS = Struct("!ii")  # a hash table record's key and value lengths (filetables.HashWriter)


def float32(value: float) -> float:
    """`value` as a 32-bit float reads back (W3 keeps weights in array("f"))."""
    return array("f", (value,))[0]


class TermTable:
    """A segment's term table (.trm): W3's OrderedHashWriter, fed many terms per call."""

    def __init__(self, dbfile) -> None:
        self._writer = OrderedHashWriter(dbfile)
        self.is_closed = False
        self.fieldmap: dict[str, int] = {}
        self._writer.extras["fieldmap"] = self.fieldmap

    def field_prefix(self, fieldname: str) -> bytes:
        """The key prefix of a field's terms (numbered in the order fields are started)."""
        fieldid = self.fieldmap.setdefault(fieldname, len(self.fieldmap))
        return pack_ushort(fieldid)

    def add_all(self, keys: Sequence[bytes], values: Sequence[bytes]) -> None:
        """Add (key, value) rows, keys in increasing order after every key added before:
        what OrderedHashWriter.add does for each, with one write for all of them."""
        writer = self._writer
        if not keys:
            return
        if keys[0] <= writer.lastkey:
            raise ValueError(f"Keys must increase: {writer.lastkey!r}..{keys[0]!r}")
        dbfile = writer.dbfile
        position = dbfile.tell()
        hashfn = writer.hashfn
        buckets = writer.buckets
        index_append = writer.index.append
        pack = _LENGTHS.pack
        parts = []
        previous = writer.lastkey
        for key, value in zip(keys, values):
            if key <= previous:
                raise ValueError(f"Keys must increase: {previous!r}..{key!r}")
            previous = key
            index_append(position)
            h = hashfn(key)
            buckets[h & 255].append((h, position))
            parts.append(pack(len(key), len(value)))
            parts.append(key)
            parts.append(value)
            position += 8 + len(key) + len(value)
        dbfile.write(b"".join(parts))
        writer.lastkey = previous

    def close(self) -> None:
        self.is_closed = True
        self._writer.close()


class PostingsFile:
    """A segment's postings file (.pst); write_term() returns the term info bytes for the table."""

    def __init__(self, dbfile, compress: tuple[int, int] = COMPRESS) -> None:
        self._file = dbfile
        self._offset = dbfile.tell()
        self._parts: list[bytes] = []
        self._buffered = 0
        self.compress = compress
        self.is_closed = False

    def write_term(self, ids: Sequence[int], weights: Sequence[float], values: Sequence[bytes] | None,
                   lengths: Sequence[int], fixedsize: int | None) -> bytes:
        """One term's postings: document numbers (increasing), weights, encoded values (None when
        the format has none) and each document's field length byte (0 = none); returns its
        W3TermInfo bytes."""
        count = len(ids)
        if count <= BLOCK:
            blocks = [(ids, weights, values, lengths)]
        else:
            blocks = [(ids[i:i + BLOCK], weights[i:i + BLOCK], values[i:i + BLOCK] if values else values,
                       lengths[i:i + BLOCK]) for i in range(0, count, BLOCK)]
        parts = [WHOOSH3_HEADER_MAGIC]
        total = 0.0
        maxweight = 0
        minlength = 0
        maxlength = 0
        last = len(blocks) - 1
        for n, (bids, bweights, bvalues, blengths) in enumerate(blocks):
            weights32 = array("f", bweights)
            total += sum(weights32)
            bmax = max(bweights)
            if bmax < 0:
                bmax = 0
            lows = [b for b in blengths if b]
            bmin = min(lows) if lows else 0
            bhigh = max(blengths)
            if not minlength:
                minlength = bmin
            elif bmin:
                minlength = min(minlength, bmin)
            maxlength = max(maxlength, bhigh)
            maxweight = max(maxweight, bmax)
            data = _block_data(bids, weights32, bvalues, fixedsize)
            parts.extend(_block(len(bids), bids[-1], bmax, bmin, bhigh, data, n == last, self.compress))
        record = b"".join(parts)
        offset = self._offset
        self._append(record)
        return (_TERMINFO.pack(0, total, count, minlength, maxlength, maxweight, ids[0], ids[-1])
                + pack_long(offset) + pack_int(len(record)))

    def write_single(self, docnum: int, weight: float, weight32: float, value: bytes,
                     length: int) -> bytes:
        """write_term() for a term with one posting (most terms), with less work."""
        data = dumps(((docnum,), None if weight32 == 1.0 else weight32, (value,)), 2)
        record = WHOOSH3_HEADER_MAGIC + b"".join(_block(1, docnum, weight, length, length, data, True,
                                                        self.compress))
        offset = self._offset
        self._append(record)
        return (_TERMINFO.pack(0, weight32, 1, length, length, weight, docnum, docnum)
                + pack_long(offset) + pack_int(len(record)))

    def write_repeated(self, record: bytes, count: int) -> int:
        """Write the same term record `count` times (spelling words all have the same one);
        returns the offset of the first."""
        offset = self._offset
        self._append(record * count)
        return offset

    def _append(self, record: bytes) -> None:
        self._parts.append(record)
        self._offset += len(record)
        self._buffered += len(record)
        if self._buffered >= 1 << 20:
            self.flush()

    def flush(self) -> None:
        self._file.write(b"".join(self._parts))
        self._parts = []
        self._buffered = 0

    def close(self) -> None:
        self.is_closed = True
        try:
            self.flush()
        finally:
            self._file.close()


def _block(count: int, last_id: int, maxweight: float, minlength: int, maxlength: int, data: bytes,
           final: bool, compress: tuple[int, int]) -> tuple[bytes, bytes, bytes]:
    """One block's length, info tuple and (maybe compressed) data."""
    level = compress[1] if len(data) >= compress[0] else 0
    if level:
        data = zlib.compress(data, level)
    info = dumps((count, last_id, maxweight, level, minlength, maxlength), 2)
    size = len(info) + len(data)
    return pack_int(-size if final else size), info, data


def _block_data(ids: Sequence[int], weights32: array, values: Sequence[bytes] | None,
                fixedsize: int | None) -> bytes:
    """The pickled (ids, weights, values) tuple of one block, as W3's _write_block makes it."""
    deltas = tuple(map(sub, ids, (0, *ids)))
    count = len(weights32)
    first = weights32[0]
    if weights32.count(1.0) == count:
        mini_weights = None
    elif weights32.count(first) == count:
        mini_weights = first
    else:
        mini_weights = tuple(weights32)
    if fixedsize is None or fixedsize < 0:
        mini_values = tuple(v for v in values if v) if values else ()
    elif fixedsize == 0:
        mini_values = None
    else:
        mini_values = b"".join(values) if values else b""
    return dumps((deltas, mini_weights, mini_values), 2)


def single_record(docnum: int, weight: float, value: bytes, length: int, compress: tuple[int, int],
                  fixedsize: int | None = None) -> bytes:
    """The postings record of a term with one posting (used for the spelling words' shared one)."""
    data = _block_data((docnum,), array("f", (weight,)), (value,), fixedsize)
    return WHOOSH3_HEADER_MAGIC + b"".join(_block(1, docnum, weight, length, length, data, True, compress))


def single_terminfo(docnum: int, weight: float, length: int, offset: int, size: int) -> bytes:
    """The W3TermInfo bytes of a term with one posting."""
    return (_TERMINFO.pack(0, float32(weight), 1, length, length, weight, docnum, docnum)
            + pack_long(offset) + pack_int(size))


def open_files(storage, segment, compress: tuple[int, int] = COMPRESS) -> tuple[TermTable, PostingsFile]:
    """A new segment's term table and postings file (the files W3FieldWriter would make)."""
    table = TermTable(segment.create_file(storage, W3Codec.TERMS_EXT))
    try:
        postings = PostingsFile(segment.create_file(storage, W3Codec.POSTS_EXT), compress)
    except BaseException:
        table.close()
        raise
    return table, postings

