"""Build new segments from documents, in this process or in one process per core.

Whoosh's SegmentWriter pushes every posting through a pool that pickles it to a spill file,
sorts the runs and merges them back (heapq + unpickling): about two thirds of an import's
CPU time. A segment built here keeps its words in memory (a batch is a few thousand
articles, so there is nothing to spill): each text field's words as term numbers in flat
arrays (engine.writer.WordRuns), sorted into postings by numpy once at the end and handed
to searchkit's codec (engine.codec) a field at a time, so the files are exactly those the
codec writes for Whoosh's own writer.

Segments are independent, so a batch can be split between processes that each write one
(build_parallel); the caller adds them all to the index in one commit (store.Index.write).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import shutil
from datetime import datetime
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Callable

import numpy as np
from whoosh.fields import DATETIME, NUMERIC
from whoosh.util.numeric import to_sortable
from whoosh.codec.base import Segment
from whoosh.util.text import utf8encode

from ..analysis import Analyzer, analyzer as default_analyzer
from .codec import EngineCodec
from .schema import NewsText
from .writer import FieldPostings, WordRuns, postings_from_lists


class BuildError(Exception):
    """A segment could not be built (the worker's reason in the message)."""


def build_segment(storage, indexname: str, schema, docs: list[dict],
                  analyzer: Analyzer | None = None) -> Segment:
    """Write `docs` (Whoosh field dicts) as one new segment in `storage`; returns it. Each
    item of `docs` is set to None once written. Text fields are analysed by `analyzer`
    (default: the process's one, analysis.analyzer()).
    A value whose name starts with "_" is no field: it is kept as it is with the document's
    stored fields (what the application works out once per document, e.g. its sentences).

    The segment is not in any TOC yet: the caller commits it. Its files are removed by the
    next writer's clean-up if that never happens (store.Index._recover).
    """
    # Hundreds of thousands of small lists live until the segment is written: the cyclic
    # garbage collector would walk them again and again (a fifth of the time) for no cycles.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _build_segment(storage, indexname, schema, docs, analyzer or default_analyzer())
    finally:
        if collecting:
            gc.enable()


def _build_segment(storage, indexname: str, schema, docs: list[dict], analyzer: Analyzer) -> Segment:
    codec = EngineCodec()
    segment = codec.new_segment(storage, indexname)
    perdoc = codec.per_document_writer(storage, segment)
    fields = codec.field_writer(storage, segment)
    try:
        # Text fields (NewsText): their raw tokens go to `side`, which numbers them and sorts
        # them into postings in one go at the end; lengths and spelling words come from it too.
        texts: set[str] = set()
        # Any other indexed field: term -> [(docnum, frequency, positions or None), ...]
        others: dict[str, dict[bytes, list]] = {}
        spelling: dict[str, set[bytes]] = {}  # spelling field -> words (fields other than NewsText)
        repeats: dict[str, dict] = {}  # field -> value -> its postings and length (_indexed_repeat)
        count = len(docs)
        side = WordRuns(count, analyzer.vocabulary)
        tokens_of = analyzer.tokens
        for docnum in range(count):
            # Each document is let go of once written: a batch's text (~40 MB) would otherwise
            # stay through the postings sort after this loop, a build's peak of memory.
            values, docs[docnum] = docs[docnum], None
            perdoc.start_doc(docnum)
            for fieldname in sorted(name for name in values if not name.startswith("_")):
                value = values[fieldname]
                if value is None:
                    continue
                field = schema[fieldname]
                length = 0
                if field.indexed and isinstance(field, NewsText) and isinstance(value, str):
                    side.add_tokens(fieldname, docnum, tokens_of(value))
                    texts.add(fieldname)  # its length is set below, for every document at once
                else:
                    if field.indexed:
                        terms = others.get(fieldname)
                        if terms is None:
                            terms = others[fieldname] = {}
                        found, length = _indexed_repeat(field, value, repeats.setdefault(fieldname, {}))
                        for tbytes, freq, positions in found:
                            terms.setdefault(tbytes, []).append((docnum, freq, positions))
                    if field.separate_spelling():
                        spelling.setdefault(field.spelling_fieldname(fieldname), set()).update(
                            utf8encode(word)[0] for word in field.spellable_words(value))
                perdoc.add_field(fieldname, field, value if field.stored else None, length)
                column = field.column_type
                if column:
                    perdoc.add_column_value(fieldname, column, field.to_column_value(value))
            for name in sorted(name for name in values if name.startswith("_")):
                if values[name] is not None:
                    perdoc.add_kept(name, values[name])
            perdoc.finish_doc()
        for fieldname in texts:
            field = schema[fieldname]
            if field.scorable:
                perdoc.set_lengths(fieldname, side.lengths(fieldname))
            if field.separate_spelling():
                # A segment's words, not each document's: the distinct tokens looked up once.
                spelling.setdefault(field.spelling_fieldname(fieldname), set()).update(
                    word.encode("utf-8") for word in side.words(fieldname))
        perdoc.close()

        terms = side.terms()
        for fieldname in sorted(texts | set(others) | set(spelling)):
            if fieldname in spelling:
                # A spelling word is a posting in document 0 (as Whoosh has it), frequency 1.
                words = sorted(spelling.pop(fieldname))
                ones = np.ones(len(words), dtype=np.int64)
                fields.add_field(fieldname, FieldPostings(words, np.arange(len(words) + 1), ones - 1, ones, None))
            elif fieldname in texts:
                fields.add_field(fieldname, _text_postings(side.runs(fieldname), terms,
                                                           schema[fieldname].format.field_boost))
            else:
                fmt = schema[fieldname].format
                fields.add_field(fieldname, postings_from_lists(others.pop(fieldname), fmt.field_boost,
                                                                fmt.supports("positions")))
        fields.close()
        segment.set_doc_count(count)
    except BaseException:
        for writer in (perdoc, fields):
            writer.is_closed = True  # nothing more is written; the files go with the segment
        raise
    return segment


def _text_postings(runs: dict[str, np.ndarray], terms: list[bytes], boost: float) -> FieldPostings:
    """A NewsText field's postings from WordRuns.runs (terms numbered over the segment)."""
    starts = runs["starts"]
    present = np.flatnonzero(np.diff(starts))  # term numbers with postings, in term order
    return FieldPostings([terms[n] for n in present.tolist()], np.append(starts[present], starts[-1]),
                         runs["ids"], runs["freqs"], runs["positions"], boost)


# Values remembered per field: sources, languages, the import time repeat from one article to
# the next; ids and publication times do not, and stop being remembered at this many.
REPEATS = 64


def _indexed(field, value) -> tuple[list[tuple[bytes, int, list[int] | None]], int]:
    """field.index(value) as (term, frequency, positions or None) postings, and the field
    length."""
    postings, length = [], 0
    scorable = field.scorable
    fmt = field.format
    positional = fmt.supports("positions")
    terms = _numeric_terms(field, value)
    if terms is not None:
        return [(term, 1, None) for term in terms], len(terms) if scorable else 0
    for tbytes, freq, _weight, vbytes in field.index(value):
        postings.append((tbytes, freq, fmt.decode_positions(vbytes) if positional else None))
        if scorable:
            length += freq
    return postings, length


def _numeric_terms(field, value) -> list[bytes] | None:
    """The terms field.index(value) gives for one number or date of a NUMERIC/DATETIME field
    with shift steps (None for anything else): Whoosh converts the value again for each of its
    eight shifts, a tenth of an import's time for the publication dates alone."""
    if not (isinstance(field, NUMERIC) and field.shift_step and isinstance(value, (int, float, datetime))):
        return None
    number = field.prepare_datetime(value) if isinstance(field, DATETIME) else value
    sortable = to_sortable(field.numtype, field.bits, field.signed, field.prepare_number(number))
    return [field.sortable_to_bytes(sortable, shift) for shift in range(0, field.bits, field.shift_step)]


def _indexed_repeat(field, value, known: dict) -> tuple[list[tuple[bytes, int, list[int] | None]], int]:
    """_indexed(field, value), from `known` when the value was indexed before: Whoosh runs an
    analyzer (a TEXT source) or eight numeric conversions (a DATETIME) for each one."""
    try:
        found = known.get((type(value), value))
    except TypeError:  # a list of values and the like
        return _indexed(field, value)
    if found is None:
        found = _indexed(field, value)
        if len(known) < REPEATS:
            known[(type(value), value)] = found
    return found


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


def _init_worker(path: str, indexname: str, close_fds: tuple[int, ...],
                 prepare: Callable[[dict], None] | None) -> None:
    import whoosh.index

    for fd in close_fds:  # the parent's writer lock: only the parent may hold it
        try:
            os.close(fd)
        except OSError:
            pass
    _die_with_parent()

    from whoosh.filedb.filestore import FileStorage

    ix = whoosh.index.open_dir(path, indexname=indexname)
    # Segments are written beside the index, not in it: a commit of an earlier batch deletes
    # every segment file its TOC does not name (whoosh.index.clean_files). adopt() moves them in.
    staging = FileStorage(os.path.join(path, staging_name(indexname)))
    _WORKER.update(storage=staging, indexname=indexname, schema=ix.schema, prepare=prepare)


def staging_name(indexname: str) -> str:
    """The directory, inside an index directory, where worker processes write new segments."""
    return f"{indexname}.build"


def adopt(segment: Segment, path: str, indexname: str) -> Segment:
    """Move a worker's segment files from the staging directory into the index at `path`
    (renames on one file system), just before the commit that names them."""
    staging = os.path.join(path, staging_name(indexname))
    prefix = segment.segment_id() + "."
    for name in os.listdir(staging):
        if name.startswith(prefix):
            os.replace(os.path.join(staging, name), os.path.join(path, name))
    return segment


def _build_in_worker(docs: list[dict]) -> Segment:
    try:
        prepare = _WORKER["prepare"]
        if prepare is not None:
            for doc in docs:
                prepare(doc)
        return build_segment(_WORKER["storage"], _WORKER["indexname"], _WORKER["schema"], docs)
    except OSError as exc:  # a full disk and the like: the parent says so as for its own writes
        raise OSError(exc.errno, exc.strerror or str(exc)) from None
    except BaseException as exc:
        # Only a plain message crosses back: the parent turns it into one line for the user.
        raise BuildError(f"{type(exc).__name__}: {exc}") from None
    finally:
        docs.clear()  # this worker's copy of the batch (the pool keeps its arguments until the result is back)
        give_back_memory()


def give_back_memory() -> None:
    """Return freed heap to the OS (glibc's malloc_trim), after a garbage collection. Without
    it a build worker keeps ~130 MB of freed memory between batches (small blocks freed out of
    order pin their pages), and an import's memory is that of every process at its peak at once."""
    gc.collect()
    trim_heap()


def trim_heap() -> None:
    """give_back_memory without the garbage collection (which walks every object: too slow to
    run at each commit of the importing process, where ~50-100 MB of freed heap sat otherwise;
    the trim itself costs ~0.3 ms)."""
    try:
        import ctypes

        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: the memory is reused for the next batch all the same


class _Handover:
    """A batch's documents, let go of once pickled for a worker: the pool keeps a task's
    arguments until its result is back, and two batches' documents (~40 MB each) would wait
    in this process for nothing while the workers build them."""

    __slots__ = ("docs",)

    def __init__(self, docs: list[dict]) -> None:
        self.docs = docs

    def __reduce__(self):
        docs, self.docs = self.docs, None
        return list, (docs,)


class ParallelBuilder:
    """Builds segments in `procs` worker processes; wait() returns them in submission order.

    Nothing is dropped or timed out: wait() blocks until every submitted batch has become a
    segment, and raises BuildError if any worker failed or died.
    """

    def __init__(self, path: str, indexname: str, procs: int, close_fds: tuple[int, ...] = (),
                 on_result: Callable[[], None] | None = None,
                 prepare: Callable[[dict], None] | None = None) -> None:
        """`prepare` (a module-level function: it is sent to the workers by name) completes
        each document in the worker before it is built, so that work which only adds to a
        document runs in parallel, not in the importing process. `on_result` is called (from
        the pool's own thread) each time a batch's outcome, its segment or its failure, has
        reached this process: a worker's death after that no longer changes it."""
        context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods()
                                              else "spawn")
        self._path, self._indexname = path, indexname
        os.makedirs(os.path.join(path, staging_name(indexname)), exist_ok=True)
        self._pool = ProcessPoolExecutor(procs, mp_context=context, initializer=_init_worker,
                                         initargs=(path, indexname, close_fds, prepare))
        self._pending: list[Future] = []
        self._on_result = on_result

    def start(self) -> None:
        """Fork the worker processes now (the pool would at the first submit). A forked worker's
        resident size starts at its parent's: pages shared copy-on-write count in both. Forked
        before the importer holds a file's text and a batch, each worker is ~200 MB smaller."""
        self._pool.submit(os.getpid)

    def submit(self, docs: list[dict]) -> None:
        try:
            future = self._pool.submit(_build_in_worker, _Handover(docs))
        except BrokenProcessPool as exc:
            # A worker died (killed, out of memory) before this batch could go: the batches
            # before it fail in wait() all the same, so this one fails there too, in its turn.
            future = Future()
            future.set_exception(exc)
        if self._on_result is not None:
            on_result = self._on_result
            future.add_done_callback(lambda _future: on_result())
        self._pending.append(future)

    def __len__(self) -> int:
        """Batches submitted and not yet returned by wait()."""
        return len(self._pending)

    def wait(self, count: int | None = None) -> list[Segment]:
        """The segments of the first `count` batches still pending (all by default)."""
        count = len(self._pending) if count is None else count
        pending, self._pending = self._pending[:count], self._pending[count:]
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
        return [adopt(segment, self._path, self._indexname) for segment in segments]

    def close(self, cancel: bool = False) -> None:
        if cancel:
            for future in self._pending:
                future.cancel()
            for process in list(getattr(self._pool, "_processes", {}).values()):
                if process.is_alive():
                    process.terminate()
        self._pool.shutdown(wait=True, cancel_futures=cancel)
        self._pending = []
        shutil.rmtree(os.path.join(self._path, staging_name(self._indexname)), ignore_errors=True)


def default_procs() -> int:
    """Worker processes for an import: one per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
