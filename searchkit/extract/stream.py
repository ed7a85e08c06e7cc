"""An input file as a stream of its bytes, decompressed on the fly, however big it is.

Nothing here holds a whole file: readers take one record at a time (a line, a CSV row, a
WARC record, a page), and a record larger than `ExtractOptions.max_record` is skipped and
named, never read into memory; the rest of the file still goes in. So a zip bomb costs one
skipped record, not the run. gzip (every member), bzip2, xz and zstd are recognised by
their first bytes, whatever the file is called.
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import io
import lzma
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterator

from ..errors import ExtractError
from .encoding import BOMS, detect, utf16_without_bom

HEAD = 64 * 1024  # bytes looked at to tell a format, a compression and a charset
_MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"), (b"\x28\xb5\x2f\xfd", "zstd"))
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".zst", ".zstd")
_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError, ValueError)  # and zstandard.ZstdError


def megabytes(size: int) -> str:
    """`64 MB` (or `64 KB` under a megabyte) for a limit in bytes."""
    return f"{size / 2**20:g} MB" if size >= 2**20 else f"{size / 2**10:g} KB"


class _Guarded(io.RawIOBase):
    """A decompressing reader whose failures (truncated or corrupt data) become ExtractError
    with a reason a user can act on, raised where the reader stops: the records read before
    are kept."""

    def __init__(self, inner: BinaryIO, compression: str) -> None:
        self._inner, self._compression = inner, compression

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            return self._inner.readinto(buffer)
        except EOFError:
            raise ExtractError(f"truncated {self._compression} file (it ends before the compressed "
                               "data does)") from None
        except Exception as exc:  # each decompressor has its own error classes
            raise ExtractError(f"broken {self._compression} data ({exc})") from None


class _Prefixed(io.RawIOBase):
    """The bytes already read to look at the head of a stream, then the rest of it."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head, self._rest = memoryview(head), rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._head:
            count = min(len(buffer), len(self._head))
            buffer[:count] = self._head[:count]
            self._head = self._head[count:]
            return count
        return self._rest.readinto(buffer)


@dataclass
class Input:
    """One input being read: `stream` is its decompressed bytes from the start (buffered, so
    readline is fast), `head` their first HEAD bytes, `raw` the file as stored."""

    name: str
    raw: BinaryIO
    stream: BinaryIO
    head: bytes
    compression: str = ""
    size: int = 0  # bytes on disk; 0 for a pipe
    _opened: list = field(default_factory=list)

    def position(self) -> int:
        """Bytes of the stored file read so far (for progress)."""
        try:
            return self.raw.tell()
        except (OSError, ValueError):
            return 0

    def stored(self) -> BinaryIO | None:
        """The stored gzip file rewound to its start, for a reader that decompresses gzip
        members itself (warcio, which then reports offsets in the file as stored); None if
        the input is not a seekable gzip file of many members (a WARC.gz compressed whole)."""
        if self.compression != "gzip":
            return None
        try:
            # The decompressing stream has read ahead in raw: where it was is where it must
            # read on from when the answer is None (seek(0) there broke a cut file's stream).
            was = self.raw.tell()
            self.raw.seek(0)
            start = self.raw.read(1 << 20)
            self.raw.seek(0)
        except (OSError, ValueError):
            return None
        member = zlib.decompressobj(wbits=31)
        try:
            member.decompress(start)
            # One member per record: the first (the warcinfo record) ends early, another follows.
            many = member.eof and member.unused_data[:2] in (b"\x1f\x8b", b"")
        except zlib.error:
            many = False
        if not many:
            self.raw.seek(was)
        return self.raw if many else None

    def close(self) -> None:
        for stream in reversed(self._opened):
            try:
                stream.close()
            except Exception:
                pass  # closing after a failure: the failure is what gets reported


def compression_of(head: bytes) -> str:
    """The compression the first bytes of a file show ("gzip", "bzip2", "xz", "zstd"), or ""."""
    return next((name for magic, name in _MAGIC if head.startswith(magic)), "")


def _decompressor(raw: BinaryIO, compression: str) -> BinaryIO:
    if compression == "gzip":
        return gzip.GzipFile(fileobj=raw)  # every member, as WARC.gz files have one per record
    if compression == "bzip2":
        return bz2.BZ2File(raw)
    if compression == "xz":
        return lzma.LZMAFile(raw)
    import zstandard  # only for a .zst file

    return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)


def open_input(path: Path | None, stream: BinaryIO | None = None, name: str = "") -> Input:
    """Open a file (or read `stream`, e.g. stdin) as an Input; ExtractError if it cannot be."""
    opened: list = []
    raw = None
    try:
        if stream is None:
            raw = open(path, "rb")
            opened.append(raw)
            size = Path(path).stat().st_size
        else:
            raw, size = stream, 0
        raw = raw if hasattr(raw, "peek") else io.BufferedReader(raw)
        magic = raw.peek(8)[:8]
    except OSError as exc:
        Input(name, raw, raw, b"", _opened=opened).close()
        raise ExtractError(f"cannot read: {exc.strerror or exc}") from None
    compression = compression_of(magic)
    inner: BinaryIO = raw
    try:
        if compression:
            decompressing = _decompressor(raw, compression)
            opened.append(decompressing)
            inner = _Guarded(decompressing, compression)
        head = _read_head(inner)
    except BaseException:
        Input(name, raw, raw, b"", _opened=opened).close()
        raise
    buffered = io.BufferedReader(_Prefixed(head, inner), 1 << 20)
    opened.append(buffered)
    return Input(name or str(path), raw, buffered, head, compression, size, opened)


def _read_head(stream: BinaryIO) -> bytes:
    chunks, size = [], 0
    while size < HEAD:
        buffer = bytearray(HEAD - size)
        count = stream.readinto(buffer)
        if not count:
            break
        chunks.append(bytes(buffer[:count]))
        size += count
    return b"".join(chunks)


def read_record(stream: BinaryIO, limit: int) -> bytes:
    """The rest of `stream` as one record; ExtractError (`over N MB, skipped`) past `limit`.
    Read a megabyte at a time: a small page costs its size, not a buffer of the limit, and a
    compressed one that inflates past the limit is dropped once it gets there."""
    parts, size = [], 0
    while size <= limit:
        part = stream.read(min(1 << 20, limit + 1 - size))
        if not part:
            return b"".join(parts)
        parts.append(part)
        size += len(part)
    del parts
    raise ExtractError(f"over {megabytes(limit)}, skipped")


def lines(stream: BinaryIO, limit: int) -> Iterator[tuple[int, bytes | None]]:
    """(line number, line) for each line of `stream`; a line over `limit` bytes is skipped
    unread and given as None, so the line numbers of the lines after it stay exact. A long line
    is read a megabyte at a time, so it costs its own size once (not a readline buffer that
    doubles as it grows, then a copy) and a line over the limit costs a megabyte."""
    number = 0
    readline = stream.readline
    piece = min(1 << 20, limit + 1)  # a first piece with its newline is never over the limit
    while True:
        line = readline(piece)
        if not line:
            return
        number += 1
        if line.endswith(b"\n"):
            yield number, line
            continue
        parts, size, ended = [line], len(line), False
        while size <= limit:
            more = readline(piece)
            if not more:
                ended = True
                break
            parts.append(more)
            ended = more.endswith(b"\n")
            size += len(more) - ended
            if ended:
                break
        if size > limit:
            del parts
            while not ended:  # the rest of the line, read and dropped
                more = readline(piece)
                ended = not more or more.endswith(b"\n")
            yield number, None
            continue
        yield number, b"".join(parts)


# Text of a stream: ----------------------------------------------------------------------------

FALLBACK = "searchkit-cp1252"  # a codecs error handler: bytes that are not UTF-8 read as windows-1252


def _cp1252(error: UnicodeDecodeError) -> tuple[str, int]:
    return error.object[error.start:error.end].decode("cp1252", errors="replace"), error.end


def text_encoding(head: bytes) -> tuple[str, str]:
    """(encoding, error handler) to read a whole stream as text from its first bytes: its BOM;
    UTF-16 without one; UTF-8 if the head is UTF-8 (a stray byte further on is read as
    windows-1252, as decode() would read the whole file); else the detected charset."""
    try:
        codecs.lookup_error(FALLBACK)
    except LookupError:
        codecs.register_error(FALLBACK, _cp1252)
    for bom, name in BOMS:
        if head.startswith(bom):
            return name, "replace"
    utf16 = utf16_without_bom(head)
    if utf16:
        return utf16, "replace"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not a character cut at the end of the head
            return detect(head), "replace"
    return "utf-8", FALLBACK


def text(stream: BinaryIO, head: bytes) -> io.TextIOWrapper:
    """`stream` as text (newlines kept as they are, for csv), in text_encoding(head)."""
    encoding, errors = text_encoding(head)
    return io.TextIOWrapper(stream, encoding=encoding, errors=errors, newline="")
