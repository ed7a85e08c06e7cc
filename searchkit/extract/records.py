"""What format readers yield besides articles, errors and notices.

A `Task` is a page still to extract (an HTML file, a WARC response, a feed): the slow part of
an import, so the importer can run tasks in worker processes (extract/parallel.py) while
records stay in file order. `Unchanged` stands for a record an earlier import already took
in, found by its key (a hash of its bytes) and never extracted again.
"""

from __future__ import annotations

import hashlib
import importlib
from dataclasses import dataclass

from ..article import Article
from ..errors import ExtractError
from .notice import ExtractNotice
from .options import ExtractOptions


@dataclass
class Task:
    """Extract `data` as format `fmt`; errors are named by `where`; `key` identifies the record."""

    fmt: str
    data: bytes
    origin: dict
    options: ExtractOptions
    where: str
    key: str = ""


@dataclass(frozen=True)
class Unchanged:
    """A record already imported with the same content (its `key`), which became `articles`
    articles; `failure` is what it gave then if it failed, repeated so that a re-run reports
    the same failures."""

    key: str
    failure: str = ""
    articles: int = 1


def record_key(salt: bytes, *parts: bytes) -> str:
    """The key of a record: a hash of its bytes and of what else shapes its articles (`salt`:
    the format, the --source given)."""
    digest = hashlib.blake2b(salt, digest_size=16)
    for part in parts:
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    return digest.hexdigest()


def run_task(task: Task) -> list[Article | ExtractError | ExtractNotice]:
    """A task's articles, or the one error that stopped it (a parser's crash on hostile bytes
    included: it is this record's failure, not the run's)."""
    module = importlib.import_module(f".{_MODULES[task.fmt]}", __package__)
    try:
        found = list(module.extract(task.data, task.origin, task.options))
    except ExtractError as exc:
        return [ExtractError(exc.reason, task.where, task.key)]
    except RecursionError:
        return [ExtractError("nested too deeply to read", task.where, task.key)]
    except Exception as exc:
        return [ExtractError(f"cannot extract ({type(exc).__name__}: {exc})", task.where, task.key)]
    for item in found:
        if isinstance(item, Article):
            if task.options.url:
                item.url = item.url or task.options.url
            if task.options.published:
                item.origin["fetched"] = task.options.published
            if task.key:
                item.origin["key"] = task.key
        elif isinstance(item, ExtractError):
            item.where = item.where or task.where
            item.key = item.key or task.key
    return found


def run_tasks(tasks: list[Task]) -> list[list[Article | ExtractError | ExtractNotice]]:
    """run_task for each of `tasks` (a worker process's share, sent in one piece)."""
    return [run_task(task) for task in tasks]


_MODULES = {"html": "html", "feed": "feed", "text": "text"}
