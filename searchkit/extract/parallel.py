"""Extraction on every core: the pages of an import (Task: HTML files, WARC responses, feeds)
are extracted in worker processes while the importer reads on, and come back in input order.

This pool is beside the one that builds segments (engine/build.py): extraction runs ahead of
indexing, and a JSON lines import, which has no pages, never starts it. Tasks go to a worker
a few at a time (one pickled message each way), and only a few messages wait at once, so
memory stays bounded by that window, not by the input.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Iterable, Iterator

from ..errors import ExtractError
from .options import ExtractOptions
from .records import Task, run_task, run_tasks

CHUNK = 4  # tasks sent to a worker in one message
WINDOW = 3  # messages waiting per worker, so no worker waits for the reading


def _init_worker() -> None:
    """A worker ignores Ctrl-C (the importer stops cleanly and waits for its pages) and dies
    with the importer (Linux: PR_SET_PDEATHSIG), so no orphan is left after a kill -9."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: the pool's own shutdown still stops the workers
    if os.getppid() == 1:
        os._exit(1)
    _warm_up()


# A page that takes the extractor's whole path (trafilatura, then htmldate for the date the page
# does not state), so its imports and one-off tables are loaded as the worker starts, while the
# importer reads on, not on the first real page.
_WARM_PAGE = (b"<html><head><title>Warm-up</title></head><body><article><h1>Warm-up</h1>"
              b"<p>Posted on 3 March 2021. This page is extracted once by each worker as it starts, "
              b"so that the first real page does not pay for loading the extractor.</p></article></body></html>")


def _warm_up() -> None:
    run_task(Task("html", _WARM_PAGE, {"path": "warm-up.html", "format": "html"}, ExtractOptions(), "warm-up"))


class TaskPool:
    """Resolves the Tasks among import items: in `procs` worker processes (started at the first
    task), or in this process when procs is 1. Use as a context manager."""

    def __init__(self, procs: int) -> None:
        self.procs = procs
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> "TaskPool":
        return self

    def __exit__(self, kind: type | None, *exc: object) -> None:
        self.close(cancel=kind is not None)

    def resolve(self, items: Iterable) -> Iterator:
        """`items` with every Task replaced by what extracting it gave, in the same order."""
        if self.procs <= 1:
            for item in items:
                if isinstance(item, Task):
                    yield from run_task(item)
                else:
                    yield item
            return
        queue: deque = deque()  # results in order: lists of items, or (future, tasks) still running
        chunk: list[Task] = []
        waiting = 0
        limit = WINDOW * self.procs
        for item in items:
            if isinstance(item, Task):
                chunk.append(item)
                if len(chunk) < CHUNK:
                    continue
            if chunk:
                queue.append((self._submit(chunk), chunk))
                waiting += 1
                chunk = []
            if not isinstance(item, Task):
                queue.append([item])
            while queue and (waiting > limit or isinstance(queue[0], list) or queue[0][0].done()):
                head = queue.popleft()
                if not isinstance(head, list):
                    waiting -= 1
                yield from self._results(head)
        if chunk:
            queue.append((self._submit(chunk), chunk))
        while queue:
            yield from self._results(queue.popleft())

    def _submit(self, tasks: list[Task]) -> Future:
        if self._pool is None:
            context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods()
                                                  else "spawn")
            self._pool = ProcessPoolExecutor(self.procs, mp_context=context, initializer=_init_worker)
        try:
            return self._pool.submit(run_tasks, tasks)
        except Exception as exc:  # the pool broke (a worker was killed): these fail in their turn
            future: Future = Future()
            future.set_exception(exc)
            return future

    def _results(self, head) -> Iterator:
        if isinstance(head, list):
            yield from head
            return
        future, tasks = head
        try:
            found = future.result()
        except Exception as exc:  # a worker killed (out of memory, a signal) while on these pages
            self.close(cancel=True)  # a broken pool takes no more work: the next task starts a new one
            reason = f"cannot extract (the extracting process failed: {type(exc).__name__})"
            for task in tasks:
                yield ExtractError(reason, task.where, task.key)
            return
        for items in found:
            yield from items

    def close(self, cancel: bool = False) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=cancel)
            self._pool = None
