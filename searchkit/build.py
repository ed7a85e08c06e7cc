"""Build new Whoosh segments from documents, in this process or in one process per core.

Whoosh's SegmentWriter pushes every posting through a pool that pickles it to a spill file,
sorts the runs and merges them back (heapq + unpickling), then asks the segment on disk for
each posting's document length again: about two thirds of an import's CPU time. A segment
built here keeps its postings in memory, grouped by term as they are made (a batch is a few
thousand articles, so there is nothing to spill), and hands them to Whoosh's own field and
per-document writers sorted once. The files are exactly what W3Codec writes and any Whoosh
reader reads them; only the spelling words differ: Whoosh adds each one to document 0 once
per article that contains it, this adds it once per segment.

Segments are independent, so a batch can be split between processes that each write one
(build_parallel); the caller adds them all to the index in one commit (store.Index.write).
"""

from __future__ import annotations

import multiprocessing
import os
from array import array
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Sequence

from whoosh.codec.base import Segment
from whoosh.codec.whoosh3 import W3Codec
from whoosh.system import emptybytes, pack_uint
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.util.text import utf8encode

from .codec import NewsCodec


class BuildError(Exception):
    """A segment could not be built (the worker's reason in the message)."""


class _Postings:
    """One term's postings in a new segment: document numbers, weights and encoded values."""

    __slots__ = ("docs", "weights", "values")

    def __init__(self) -> None:
        self.docs = array("I")
        self.weights = array("d")
        self.values: list[bytes] = []


def _quantized(length: int) -> int:
    """A field length as Whoosh stores it (one byte, lossy) and reads it back for a posting."""
    return byte_to_length(length_to_byte(length)) if length else 0


def build_segment(storage, indexname: str, schema, docs: Sequence[dict],
                  codec: W3Codec | None = None) -> Segment:
    """Write `docs` (Whoosh field dicts) as one new segment in `storage`; returns it.

    The segment is not in any TOC yet: the caller commits it. Its files are removed by the
    next writer's clean-up if that never happens (store.Index._recover).
    """
    codec = codec or NewsCodec()
    segment = codec.new_segment(storage, indexname)
    perdoc = codec.per_document_writer(storage, segment)
    fieldwriter = codec.field_writer(storage, segment)
    postings: dict[str, dict[bytes, _Postings]] = {}
    lengths: dict[str, dict[int, int]] = {}
    spelling: dict[str, set[bytes]] = {}
    try:
        for docnum, fields in enumerate(docs):
            perdoc.start_doc(docnum)
            for fieldname in sorted(name for name in fields if not name.startswith("_")):
                value = fields[fieldname]
                if value is None:
                    continue
                field = schema[fieldname]
                length = 0
                words = None
                if field.indexed:
                    terms = postings.get(fieldname)
                    if terms is None:
                        terms = postings[fieldname] = {}
                    scorable = field.scorable
                    both = getattr(field, "index_with_words", None)
                    if both is not None and isinstance(value, str):
                        items, words = both(value)
                    else:
                        items = field.index(value)
                    for tbytes, freq, weight, vbytes in items:
                        found = terms.get(tbytes)
                        if found is None:
                            found = terms[tbytes] = _Postings()
                        found.docs.append(docnum)
                        found.weights.append(weight)
                        found.values.append(vbytes if vbytes is not None else emptybytes)
                        if scorable:
                            length += freq
                    if length:
                        lengths.setdefault(fieldname, {})[docnum] = _quantized(length)
                if field.separate_spelling():
                    known = spelling.setdefault(field.spelling_fieldname(fieldname), set())
                    if words is None:
                        words = [utf8encode(word)[0] for word in field.spellable_words(value)]
                    known.update(words)
                perdoc.add_field(fieldname, field, value if field.stored else None, length)
                column = field.column_type
                if column:
                    perdoc.add_column_value(fieldname, column, field.to_column_value(value))
            perdoc.finish_doc()
        perdoc.close()

        for fieldname, words in spelling.items():
            # A spelling word is a posting in document 0 (as Whoosh has it) with a real
            # value: a merge reads every posting's value back.
            value = pack_uint(1)  # Frequency (SpellField) of 1
            terms = postings.setdefault(fieldname, {})
            for word in words:
                if word not in terms:
                    found = terms[word] = _Postings()
                    found.docs.append(0)
                    found.weights.append(1.0)
                    found.values.append(value)
        for fieldname in sorted(postings):
            terms = postings.pop(fieldname)
            field_lengths = lengths.get(fieldname, {})
            fieldwriter.start_field(fieldname, schema[fieldname])
            for tbytes in sorted(terms):
                found = terms[tbytes]
                fieldwriter.start_term(tbytes)
                add = fieldwriter.add
                for docnum, weight, vbytes in zip(found.docs, found.weights, found.values):
                    add(docnum, weight, vbytes, field_lengths.get(docnum, 0))
                fieldwriter.finish_term()
            fieldwriter.finish_field()
        fieldwriter.close()
        segment.set_doc_count(len(docs))  # not assembled into a compound file: see store._whoosh_writer
    except BaseException:
        for writer in (perdoc, fieldwriter):
            if not writer.is_closed:
                try:
                    writer.close()
                except Exception:
                    pass  # the original failure is the one to report
        raise
    return segment


# -- one process per core ------------------------------------------------------------------

_WORKER: dict = {}  # set once in each worker process by _init_worker


def _die_with_parent() -> None:
    """Linux: have the kernel kill this worker when the importing process dies (kill -9
    included), so no orphan keeps the index's inherited writer lock or writes files."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the pool's own shutdown still stops the workers
    if os.getppid() == 1:  # the parent died before the call above
        os._exit(1)


def _init_worker(path: str, indexname: str, close_fds: tuple[int, ...]) -> None:
    import whoosh.index

    for fd in close_fds:  # the parent's writer lock: only the parent may hold it
        try:
            os.close(fd)
        except OSError:
            pass
    _die_with_parent()

    ix = whoosh.index.open_dir(path, indexname=indexname)
    _WORKER.update(storage=ix.storage, indexname=indexname, schema=ix.schema)


def _build_in_worker(docs: list[dict]) -> Segment:
    try:
        return build_segment(_WORKER["storage"], _WORKER["indexname"], _WORKER["schema"], docs)
    except OSError as exc:  # a full disk and the like: the parent says so as for its own writes
        raise OSError(exc.errno, exc.strerror or str(exc)) from None
    except BaseException as exc:
        # Only a plain message crosses back: the parent turns it into one line for the user.
        raise BuildError(f"{type(exc).__name__}: {exc}") from None


class ParallelBuilder:
    """Builds segments in `procs` worker processes; wait() returns them in submission order.

    Nothing is dropped or timed out: wait() blocks until every submitted batch has become a
    segment, and raises BuildError if any worker failed or died.
    """

    def __init__(self, path: str, indexname: str, procs: int, close_fds: tuple[int, ...] = ()) -> None:
        context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods()
                                              else "spawn")
        self._pool = ProcessPoolExecutor(procs, mp_context=context, initializer=_init_worker,
                                         initargs=(path, indexname, close_fds))
        self._pending: list[Future] = []

    def submit(self, docs: list[dict]) -> None:
        self._pending.append(self._pool.submit(_build_in_worker, docs))

    def wait(self) -> list[Segment]:
        pending, self._pending = self._pending, []
        segments, failure = [], None
        for future in pending:
            try:
                segments.append(future.result())
            except (BuildError, OSError) as exc:
                failure = failure or exc
            except Exception as exc:  # a worker killed (BrokenProcessPool) or unpicklable data
                failure = failure or BuildError(f"an indexing process failed ({type(exc).__name__}: {exc})")
        if failure:
            raise failure
        return segments

    def close(self, cancel: bool = False) -> None:
        if cancel:
            for future in self._pending:
                future.cancel()
            for process in list(getattr(self._pool, "_processes", {}).values()):
                if process.is_alive():
                    process.terminate()
        self._pool.shutdown(wait=True, cancel_futures=cancel)
        self._pending = []


def default_procs() -> int:
    """Worker processes for an import: one per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
