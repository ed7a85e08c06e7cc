"""A sharded index: N ordinary searchkit indexes under one directory, searched as one.

    DIR/shards.json      the manifest: each shard's directory (and, for disks local to
                         each machine, the Dask worker that holds it)
    DIR/shard-000/ ...   ordinary searchkit indexes (store.py), one per shard
    DIR/dedupe.sqlite    near-duplicate signatures of the whole collection (dedupe.py)
    DIR/writer.lock      held by the one process importing, deleting or resharding

An article goes to the shard given by a stable hash (BLAKE2b) of its near-duplicate
cluster, which is its own id unless it copies an earlier article: re-importing an article
updates it in place on the same shard, and a story's syndicated copies share a shard, so
collapsing them, counting them and leaving them out of "more like this" stay exact.

A search is Elasticsearch's DFS query-then-fetch: each shard's statistics for the query's
terms are summed first (engine.CorpusStats), every shard then ranks its own matches with
those index-wide statistics, so its scores are the ones one index holding every article
would give; the coordinator merges the shards' best (totals, facets and timelines add up),
and snippets are made for the page only. Where the shards run is a Runner's business:
LocalRunner searches them one after another in this process; cluster.DaskRunner on the
workers of a Dask cluster, in parallel (a ShardHost actor on each worker keeps its shards open
and is called directly, not through the scheduler). A shard that cannot answer is left out and named:
SearchResult.partial / missing.

Everything here calls the same library functions per shard (search, similar_to, Index);
nothing below this module knows an index may be a shard.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Protocol, Sequence

from .article import Article
from .engine.scoring import RECENCY_POOL, CorpusStats, recency_factor
from .errors import IndexMissingError, SearchkitError
from .search import (MAX_LIMIT, MAX_PAGE, SORTS, SUGGEST_BELOW, Hit, SearchResult, TimelineBucket,
                     timeline_between)
from .store import (BATCH, LOCK_TIMEOUT, SHARD_MANIFEST, Index, LockWait, WriteReport, doc_to_article, open_any,
                    open_index, take_writer_lock)

MANIFEST = SHARD_MANIFEST
LOCK = "writer.lock"
FORMAT = 1
MAX_SHARDS = 1024
# Up to this many results on a first page, each shard makes its hits' snippets as it ranks
# them, saving the fetch round trip (a snippet costs ~0.5 ms, a round trip tens of ms).
SNIPPETS_WITH_QUERY = 20
# Articles an export reads from the shards at a time.
EXPORT_BATCH = 500
# On a cluster, a shard's batch is sent to a worker once it has this many articles (at most
# the index's batch): the workers write while the importing process reads on, rather than
# waiting for 4 x 10,000 routed articles (or a minute) before their first batch. A worker
# writes 2,500 articles in a few CPU-seconds, so a task's round trip (tens of ms) stays noise.
CLUSTER_BATCH = 2_500
# Batches of one shard out on the cluster at once (written in order, each after the one
# before): the next is on its way while a worker writes one; more would only hold memory.
IN_FLIGHT = 2


class ShardError(SearchkitError):
    """A sharded index's manifest or layout is wrong (the message says how to fix it)."""


# -- the manifest and routing ---------------------------------------------------------------


@dataclass
class ShardSpec:
    """Where one shard lives: `path` (relative to the sharded index's directory, or absolute
    on a worker's own disk) and the Dask worker (its name or address) that holds it, when the
    shards are on disks local to each worker instead of a shared filesystem."""

    path: str
    worker: str | None = None


@dataclass
class Manifest:
    shards: list[ShardSpec]
    format: int = FORMAT

    @classmethod
    def load(cls, directory: Path) -> "Manifest":
        try:
            data = json.loads((directory / MANIFEST).read_text("utf-8"))
            shards = [ShardSpec(str(s["path"]), s.get("worker")) for s in data["shards"]]
        except FileNotFoundError:
            raise IndexMissingError(f"no sharded index at {directory}: create one with "
                                    "`searchkit --index DIR create --shards N`") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ShardError(f"cannot read the shard manifest {directory / MANIFEST} ({exc}): "
                             "restore it from a backup") from None
        if not shards or int(data.get("format", 0)) != FORMAT:
            raise ShardError(f"the shard manifest {directory / MANIFEST} is not one this searchkit reads")
        return cls(shards)

    def save(self, directory: Path) -> None:
        """Write the manifest atomically (a reader sees the old one or the new one)."""
        data = {"format": self.format, "routing": "blake2b-64(cluster id) mod shards",
                "shards": [{"path": s.path, **({"worker": s.worker} if s.worker else {})} for s in self.shards]}
        tmp = directory / (MANIFEST + ".tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(data, indent=2) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, directory / MANIFEST)


def is_sharded(path: str | os.PathLike) -> bool:
    """Whether `path` holds a sharded index (a shard manifest)."""
    return (Path(path) / MANIFEST).is_file()


def shard_of(key: str, count: int) -> int:
    """The shard (0..count-1) of a routing key: the same on every machine and Python run."""
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count


def routing_key(article: Article) -> str:
    """An article is routed by its near-duplicate cluster (its own id for an original)."""
    return article.cluster or article.id


# -- running a task on shards --------------------------------------------------------------


@dataclass
class ShardFailure:
    """A shard that did not answer, and why."""

    shard: int
    reason: str


@dataclass(frozen=True)
class PerShard:
    """An argument of Runner.map that differs by shard: each shard's task is given
    values[shard] (None for a shard without one), e.g. only the page's ids it holds."""

    values: dict[int, Any]


def for_shard(args: tuple, shard: int) -> tuple:
    """`args` as `shard`'s task takes them: each PerShard replaced by that shard's value."""
    return tuple(a.values.get(shard) if isinstance(a, PerShard) else a for a in args)


class Runner(Protocol):
    def map(self, task: Callable[..., Any], shards: Sequence[int], *args: Any, create: bool = False
            ) -> dict[int, Any]:
        """{shard: task(that shard's Index, *for_shard(args, shard))} for each shard, or a
        ShardFailure; with create=True a shard's index is made first if it does not exist yet."""

    def map_merged(self, first: Callable[..., Any], first_args: tuple, merge: Callable[[list], Any],
                   task: Callable[..., Any], shards: Sequence[int], *args: Any) -> dict[int, Any]:
        """{shard: task(that shard's Index, merged, *args)} where merged = merge(the answers of
        first(Index, *first_args) on every shard): DFS then query. A shard failing either
        step is a ShardFailure (and its first answer is left out of the merge)."""

    def close(self) -> None:
        """Release what the runner holds (a cluster it started)."""

    def for_index(self, sharded: "ShardedIndex") -> "Runner":
        """A runner for another sharded index on the same cluster (closing it closes nothing)."""


def map_merged_in_turn(runner: Runner, first: Callable[..., Any], first_args: tuple, merge: Callable[[list], Any],
                       task: Callable[..., Any], shards: Sequence[int], *args: Any) -> dict[int, Any]:
    """Runner.map_merged as two maps: `first` on every shard, the answers merged here, then
    `task` on the shards whose first answer came."""
    answers = runner.map(first, shards, *first_args)
    failed = {s: a for s, a in answers.items() if isinstance(a, ShardFailure)}
    merged = merge([a for a in answers.values() if not isinstance(a, ShardFailure)])
    return {**runner.map(task, [s for s in shards if s not in failed], merged, *args), **failed}


class LocalRunner:
    """Runs each shard's task in this process, one shard after another."""

    def __init__(self, sharded: "ShardedIndex") -> None:
        self.sharded = sharded

    def map(self, task: Callable[..., Any], shards: Sequence[int], *args: Any, create: bool = False
            ) -> dict[int, Any]:
        out: dict[int, Any] = {}
        for shard in shards:
            try:
                out[shard] = task(self.sharded.shard(shard, create=create), *for_shard(args, shard))
            except (SearchkitError, OSError) as exc:
                out[shard] = ShardFailure(shard, str(exc))
        return out

    def map_merged(self, first: Callable[..., Any], first_args: tuple, merge: Callable[[list], Any],
                   task: Callable[..., Any], shards: Sequence[int], *args: Any) -> dict[int, Any]:
        return map_merged_in_turn(self, first, first_args, merge, task, shards, *args)

    def close(self) -> None:
        pass

    def for_index(self, sharded: "ShardedIndex") -> "LocalRunner":
        return LocalRunner(sharded)


# -- tasks: what runs on one shard (module functions, so a Dask worker can import them) ----


def task_fuzzy_words(index: Index, text: str) -> dict[tuple, list[str]]:
    """The index words each `word~` of `text` could expand to: {(field, word, maxdist, prefix): words}."""
    from .query import expand_fuzzy

    found: dict[tuple, list[str]] = {}
    with index.searcher() as searcher:
        reader = index.arrays.words(searcher)

        class Recorder:
            def terms_within(self, fieldname, word, maxdist, prefix=0):
                words = sorted(reader.terms_within(fieldname, word, maxdist, prefix=prefix))
                found[(fieldname, word, maxdist, prefix)] = words
                return words

        expand_fuzzy(text, Recorder())
    return found


def task_stats(index: Index, text: str, now: datetime | None) -> CorpusStats:
    from .engine import collect_stats

    return collect_stats(index, text, now=now)


def task_term_stats(index: Index, terms: list[tuple[str, str]], frequencies: bool = False
                    ) -> tuple[CorpusStats, dict[tuple[str, str], float]]:
    """The CorpusStats of (field, term)s, and with frequencies=True each term's collection
    frequency (summed weights: what "more like this" picks key terms by)."""
    from .engine.stats import stats_for_terms

    with index.searcher() as searcher:
        stats = stats_for_terms(searcher, terms)
        cf = {}
        if frequencies:
            reader = searcher.reader()
            for name, text in set(terms):
                if (name, text) in reader:
                    cf[(name, text)] = float(reader.frequency(name, text))
    return stats, cf


@dataclass
class ShardAnswer:
    """One shard's part of a search: its best `hits` (no snippets yet), its total and facets."""

    hits: list[Hit]
    total: int
    facets: dict[str, list[tuple[str, int]]]
    timeline: list[TimelineBucket]
    span: tuple[datetime, datetime] | None
    notice: str


def task_query(index: Index, stats: CorpusStats, text: str, wanted: int, options: dict,
               snippets: bool = False) -> ShardAnswer:
    """The shard's first `wanted` results (pages of MAX_LIMIT), scored with `stats`; with
    snippets=True with their snippets already (a first page: cheaper than another round)."""
    from .search import search

    size = min(wanted, MAX_LIMIT)
    hits: list[Hit] = []
    first: SearchResult | None = None
    for page in range(1, MAX_PAGE + 1):
        result = search(index, text, limit=size, page=page, snippets=snippets, stats=stats, correct=False,
                        suggest=False, **{**options, "facets": options["facets"] and page == 1})
        first = first or result
        hits.extend(result.hits)
        if len(result.hits) < size or len(hits) >= wanted:
            break
    return ShardAnswer(hits[:wanted], first.total, first.facets, first.timeline, first.span, first.notice)


def task_feedback_documents(index: Index, text: str, sort: str, since, until, source, now: datetime | None,
                            stats: CorpusStats) -> list[tuple[float, dict[str, int]]]:
    """The shard's best articles for the first pass of `text`'s feedback (search.feedback_documents)."""
    from .search import feedback_documents

    return feedback_documents(index, text, sort=sort, since=since, until=until, source=source, now=now,
                              stats=stats)


@dataclass
class Match:
    """One article an export lists: what the shards' lists are merged by."""

    id: str
    score: float
    published: datetime | None
    rank: int


def task_matches(index: Index, text: str | None, sort: str, since, until, source, now: datetime | None,
                 stats: CorpusStats | None, feedback: bool | dict[str, float]) -> list[Match]:
    """Every article of the shard an export of `text` lists, in the shard's `sort` order."""
    from .export import ranked_matches

    with index.searcher() as searcher:
        docs = ranked_matches(index, searcher, text, since=since, until=until, source=source, sort=sort,
                              now=now, stats=stats, feedback=feedback)
        out = []
        for rank, (docnum, score) in enumerate(docs, 1):
            fields = searcher.stored_fields(docnum)
            out.append(Match(fields["id"], score, fields.get("published"), rank))
    return out


def task_articles(index: Index, ids: list[str]) -> dict[str, Article]:
    """{id: article} of the `ids` this shard holds (looked up in one searcher)."""
    with index.searcher() as searcher:
        return {article_id: doc_to_article(searcher.stored_fields(docnum))
                for article_id, docnum in index.arrays.docnums(searcher, "id", ids or []).items()}


def task_snippets(index: Index, ids: list[str], text: str, snippet_chars: int, snippets: bool,
                  now: datetime | None) -> dict[str, tuple[list, list]]:
    """{id: (snippet fragments, title fragments)} for the page's hits that this shard holds
    (`ids`: those the merged ranking has from it, looked up in one searcher)."""
    from .article import derived_title
    from .display import shown
    from .query import QueryError, parse
    from .snippets import highlight, snippet

    out = {}
    with index.searcher() as searcher:
        try:
            parsed = parse(text, searcher.schema, now=now)
            stems, phrases = parsed.stems, parsed.phrases
        except QueryError:
            stems, phrases = set(), []
        for article_id, docnum in index.arrays.docnums(searcher, "id", ids or []).items():
            fields = searcher.stored_fields(docnum)
            body = shown(fields.get("body") or "")  # as search.make_hit shows them
            title = shown(fields.get("title") or "") or derived_title(body)
            out[article_id] = (snippet(body, stems, snippet_chars, phrases=phrases) if snippets else [],
                               highlight(title, stems, phrases=phrases))
    return out


def task_spelling_words(index: Index, words: list[str]) -> dict[tuple, list[str]]:
    """For each (lower-cased) word, the index words within 1 and 2 edits (1 for words of up to
    4 letters) in the spelling fields, as suggest.correct_word looks them up:
    {(field, word, maxdist, prefix): words}."""
    from .suggest import SPELL_FIELDS

    found: dict[tuple, list[str]] = {}
    with index.searcher() as searcher:
        reader = index.arrays.words(searcher)
        for word in words:
            for maxdist in (1, 2) if len(word) > 4 else (1,):
                for name in SPELL_FIELDS:
                    found[(name, word, maxdist, 1)] = sorted(reader.terms_within(name, word, maxdist, prefix=1))
    return found


def task_doc_frequencies(index: Index, terms: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    with index.searcher() as searcher:
        return {(name, text): int(searcher.doc_frequency(name, text)) for name, text in terms}


def task_doc_frequency(index: Index, fieldname: str, text: str) -> int:
    with index.searcher() as searcher:
        return int(searcher.doc_frequency(fieldname, text))


def task_terms_within(index: Index, fieldname: str, text: str, maxdist: int, prefix: int) -> list[str]:
    with index.searcher() as searcher:
        return sorted(index.arrays.words(searcher).terms_within(fieldname, text, maxdist, prefix=prefix))


def task_count(index: Index, text: str, now: datetime | None) -> int:
    """How many articles match `text` (unfiltered, uncollapsed), as did-you-mean compares."""
    from .query import QueryError, parse
    from .search import rank_with_arrays

    with index.searcher() as searcher:
        try:
            parsed = parse(text, searcher.schema, now=now)
            return rank_with_arrays(index, searcher, parsed, None, "relevance", 1, False, False).total
        except QueryError:
            return 0


def task_stored(index: Index, article_id: str) -> dict | None:
    with index.searcher() as searcher:
        return searcher.document(id=article_id)


def task_similar(index: Index, fields: dict, terms: list[tuple[str, float]], limit: int,
                 stats: CorpusStats) -> list[Hit]:
    from .similar import similar_to

    with index.searcher() as searcher:
        return similar_to(index, searcher, fields, terms, limit, stats=stats)


def task_get(index: Index, article_id: str) -> Article | None:
    return index.get(article_id)


def task_len(index: Index) -> int:
    return len(index)


def task_stats_info(index: Index) -> dict:
    return index.stats()


def task_delete(index: Index, ids: list[str]) -> list[str]:
    return index.delete(ids)


def task_reindex(index: Index) -> int:
    return index.reindex(procs=1)


def task_nothing(index: Index) -> None:
    """Nothing: run with create=True, it makes the shard's index where it lives."""


def task_write(index: Index, articles: list[Article]) -> WriteReport:
    """Commit one batch to the shard (one writer at a time: the shard's writer lock)."""
    return index.write(articles, procs=1)


def task_remove_moved(index: Index, ids: list[str]) -> int:
    """Delete the articles of `ids` this shard holds (they were just written to another shard,
    their cluster having changed); returns how many it held."""
    return len(index.remove_held(ids))


# -- the sharded index ---------------------------------------------------------------------


class ShardedIndex:
    """A sharded index directory (see the module docstring). Use open_sharded() or create()."""

    sharded = True
    batch = BATCH  # articles per commit and per shard's segment

    def __init__(self, path: Path, manifest: Manifest, lock_timeout: float = LOCK_TIMEOUT,
                 on_lock_wait: LockWait | None = None) -> None:
        self.path = path
        self.manifest = manifest
        self.lock_timeout = lock_timeout
        self.on_lock_wait = on_lock_wait
        self._shards: dict[int, Index] = {}
        self.runner: Runner = LocalRunner(self)

    # -- layout ------------------------------------------------------------------------

    @property
    def count(self) -> int:
        return len(self.manifest.shards)

    def shard_path(self, shard: int) -> Path:
        return self.path / self.manifest.shards[shard].path

    def shard(self, shard: int, create: bool = False) -> Index:
        """The shard's Index, opened on first use (this process must see its directory)."""
        found = self._shards.get(shard)
        if found is None:
            found = self._shards[shard] = open_index(self.shard_path(shard), create=create,
                                                     lock_timeout=self.lock_timeout)
        return found

    def shard_name(self, shard: int) -> str:
        spec = self.manifest.shards[shard]
        return spec.path + (f" (on {spec.worker})" if spec.worker else "")

    def group_by_cluster_shard(self, hits: list[Hit]) -> dict[int, list[Hit]]:
        """Hits grouped by the shard holding their near-duplicate cluster (and so every copy)."""
        groups: dict[int, list[Hit]] = {}
        for hit in hits:
            groups.setdefault(shard_of(hit.cluster or hit.id, self.count), []).append(hit)
        return groups

    def use(self, runner: Runner) -> None:
        """Run the shards' work with `runner` (cluster.DaskRunner) from now on."""
        self.runner = runner

    def close(self) -> None:
        for index in self._shards.values():
            index.close()
        self._shards.clear()

    def _all(self) -> list[int]:
        return list(range(self.count))

    def _answers(self, task: Callable[..., Any], *args: Any, shards: Sequence[int] | None = None,
                 create: bool = False) -> tuple[dict[int, Any], list[ShardFailure]]:
        results = self.runner.map(task, self._all() if shards is None else shards, *args, create=create)
        ok = {s: r for s, r in results.items() if not isinstance(r, ShardFailure)}
        return ok, [r for r in results.values() if isinstance(r, ShardFailure)]

    def _require_all(self, failures: list[ShardFailure], doing: str) -> None:
        if failures:
            names = ", ".join(f"{self.shard_name(f.shard)}: {f.reason}" for f in failures)
            raise SearchkitError(f"cannot {doing}: {len(failures)} of {self.count} shards did not answer ({names})")

    # -- reading -----------------------------------------------------------------------

    def get(self, article_id: str) -> Article | None:
        found, _ = self._answers(task_get, article_id)
        return next((a for _, a in sorted(found.items()) if a is not None), None)

    def articles(self) -> Iterator[Article]:
        """Every stored article, shard after shard (read from this process)."""
        for shard in self._all():
            yield from self.shard(shard).articles()

    def __len__(self) -> int:
        found, _ = self._answers(task_len)
        return sum(found.values())

    def stats(self) -> dict:
        """Index.stats() of the whole collection, plus `shards` and any `missing` shards."""
        found, failures = self._answers(task_stats_info)
        sources: dict[str, int] = {}
        firsts = [i["first"] for i in found.values() if i["first"]]
        lasts = [i["last"] for i in found.values() if i["last"]]
        for info in found.values():
            for name, count in info["sources"].items():
                sources[name] = sources.get(name, 0) + count
        info = {
            "articles": sum(i["articles"] for i in found.values()),
            "sources": dict(sorted(sources.items(), key=lambda kv: (-kv[1], kv[0]))),
            "first": min(firsts, key=datetime.fromisoformat) if firsts else None,
            "last": max(lasts, key=datetime.fromisoformat) if lasts else None,
            "bytes": sum(i["bytes"] for i in found.values()),
            "schema": next((i["schema"] for i in found.values()), None),
            "path": str(self.path),
            "shards": self.count,
        }
        if failures:
            info["partial"] = True
            info["missing"] = [self.shard_name(f.shard) for f in failures]
        return info

    # -- writing -----------------------------------------------------------------------

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the sharded index's writer lock (one import, delete or reshard at a time)."""
        handle = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            take_writer_lock(handle, self.path, self.lock_timeout, self.on_lock_wait)
            yield
        finally:
            os.close(handle)

    def write(self, articles: Iterable[Article], batch: int | None = None, procs: int | None = None,
              on_commit: Callable[[dict[str, None]], None] | None = None,
              seconds: float | None = None) -> WriteReport:
        """Add or update articles, each on its shard, committing every `batch` per shard.

        The same counts as Index.write. An article written to a shard other than the one
        holding an older copy (its cluster changed) is removed from that one. With `seconds`,
        every shard's open batch is committed at least that often (a slow input loses little
        to a kill). `on_commit` is given each committed batch's ids.
        """
        with self.writing():
            return ShardWriter(self, batch or self.batch, on_commit, seconds).run(articles)

    def delete(self, ids: Iterable[str]) -> list[str]:
        """Remove articles by id from whichever shard holds them; returns the ids none held."""
        ids = list(ids)
        with self.writing():
            found, failures = self._answers(task_delete, ids)
        self._require_all(failures, "delete")
        missing = set(ids)
        for left in found.values():
            missing &= set(left)
        return [i for i in ids if i in missing]

    def reindex(self, procs: int | None = None, shards: int | None = None) -> int:
        """Rebuild every shard (each as Index.reindex does); with `shards` a different number
        of shards, route every article again into a new set of shards and swap the manifest
        atomically (searches read the old shards until then)."""
        if shards is None or shards == self.count:
            with self.writing():
                found, failures = self._answers(task_reindex)
            self._require_all(failures, "reindex")
            return sum(found.values())
        _check_count(shards)
        with self.writing():
            generation = f"shards-{time.time_ns()}"
            workers = [s.worker for s in self.manifest.shards if s.worker]
            specs = [ShardSpec(f"{generation}/{i:03d}", workers[i % len(workers)] if workers else None)
                     for i in range(shards)]
            target = ShardedIndex(self.path, Manifest(specs), self.lock_timeout)
            target.use(self.runner.for_index(target))
            old = [self.shard_path(s) for s in self._all()]
            try:
                _create_shards(target)
                count = ShardWriter(target, BATCH).run(self._every_article(), count_only=True).added
                target.manifest.save(self.path)
            except BaseException:
                shutil.rmtree(self.path / generation, ignore_errors=True)
                raise
            self.close()
            self.manifest = target.manifest
            for directory in old:
                shutil.rmtree(directory, ignore_errors=True)
        return count

    def _every_article(self) -> Iterator[Article]:
        for shard in self._all():
            yield from self.shard(shard).articles()

    # -- searching ---------------------------------------------------------------------

    def search_shards(self, text: str, *, limit: int = 10, page: int = 1, sort: str = "relevance",
                      since=None, until=None, source: str | None = None, snippet_chars: int = 300,
                      facets: bool = True, collapse: bool = True, snippets: bool = True,
                      now: datetime | None = None, deadline: float | None = None,
                      max_expansions: int | None = None, correct: bool = True) -> SearchResult:
        """search() over every shard: the results one index holding every article would give
        (a query that finds nothing shows a confident correction's results, as there)."""
        return ShardSearch(self).run(text, limit=limit, page=page, sort=sort, since=since, until=until,
                                     source=source, snippet_chars=snippet_chars, facets=facets,
                                     collapse=collapse, snippets=snippets, now=now,
                                     max_expansions=max_expansions, correct=correct)

    def matching_articles(self, text: str | None, *, since=None, until=None, source=None, sort: str = "relevance",
                          now: datetime | None = None) -> Iterator[Article]:
        """export.matching_articles() over every shard: the articles one index would list."""
        return ShardSearch(self).export(text, sort, since, until, source, now)

    def similar_shards(self, article_id: str, limit: int = 5) -> list[Hit]:
        """similar() over every shard: key terms picked with the whole collection's statistics."""
        from .engine.keyterms import key_terms
        from .similar import KEY_TERMS, ArticleNotFoundError, key_text
        from .engine.schema import build_schema

        limit = max(1, min(int(limit), 100))
        found, failures = self._answers(task_stored, article_id)
        fields = next((f for _, f in sorted(found.items()) if f is not None), None)
        if fields is None:
            self._require_all(failures, "find the article")
            raise ArticleNotFoundError(f"no article with id {article_id!r}: check the id with `searchkit query`")
        schema = build_schema()
        text = key_text(fields)
        body = schema["body"]
        words = sorted({body.from_bytes(t) for t, _, _, _ in body.index(text)})
        shards = list(found)
        parts, failures = self._answers(task_term_stats, [("body", w) for w in words], True, shards=shards)
        stats = CorpusStats.merge([p[0] for p in parts.values()])
        frequencies: dict[tuple[str, str], float] = {}
        for _, cf in parts.values():
            for key, value in cf.items():
                frequencies[key] = frequencies.get(key, 0.0) + value
        terms = key_terms(_CollectionReader(schema, stats, frequencies), "body", text, KEY_TERMS)
        if not terms:
            return []
        scored, more = self._answers(task_term_stats, [(n, t) for t, _ in terms for n in ("title", "body")],
                                     shards=list(parts))
        stats = CorpusStats.merge([p[0] for p in scored.values()])
        answers, last = self._answers(task_similar, fields, terms, limit, stats, shards=list(scored))
        merged = sorted(((-h.score, s, h.rank, h) for s, hits in answers.items() for h in hits),
                        key=lambda row: row[:3])
        return [replace(h, rank=rank) for rank, (*_, h) in enumerate(merged[:limit], 1)]


class _CollectionReader:
    """What Whoosh's key-term Expander reads of an index, answered from the whole collection's
    statistics (document count, the field's total length, each word's collection frequency)."""

    def __init__(self, schema, stats: CorpusStats, frequencies: dict[tuple[str, str], float]) -> None:
        self.schema = schema
        self.stats = stats
        self.frequencies = frequencies

    def doc_count_all(self) -> int:
        return self.stats.doc_count

    def field_length(self, fieldname: str) -> int:
        return self.stats.field_length.get(fieldname, 0)

    def _key(self, fieldname: str, text) -> tuple[str, str]:
        return fieldname, text.decode("utf-8") if isinstance(text, bytes) else text

    def __contains__(self, term) -> bool:
        return self._key(*term) in self.frequencies

    def frequency(self, fieldname: str, text) -> float:
        return self.frequencies.get(self._key(fieldname, text), 0.0)


class ShardWriter:
    """One write into a sharded index: articles routed to their shards, a batch per shard
    committed whenever `batch` articles for it have come, with the same added / updated /
    duplicate counts as one index's write. On a cluster (a runner with submit_after) each
    batch is a task on a worker (CLUSTER_BATCH articles at most), up to IN_FLIGHT of a shard
    at a time, written in order while the next ones are read and routed."""

    def __init__(self, sharded: ShardedIndex, batch: int,
                 on_commit: Callable[[dict[str, None]], None] | None = None,
                 seconds: float | None = None) -> None:
        self.sharded = sharded
        self.submit = getattr(sharded.runner, "submit_after", None)
        self.batch = batch if self.submit is None else min(batch, CLUSTER_BATCH)
        self.on_commit = on_commit
        self.seconds = seconds
        self.flushed = time.monotonic()
        self.report = WriteReport()
        self.pending: list[list[Article]] = [[] for _ in range(sharded.count)]
        self.seen: set[str] = set()  # ids read in this write
        self.written: dict[str, int] = {}  # id -> its shard, committed (or handed to a worker) by this write
        self.held: set[int] | None = None  # shards that held articles when the write began
        self.last: dict[int, Any] = {}  # shard -> its latest task (a future), on a cluster
        self.inflight: dict[int, list[tuple[str, Any, Any]]] = {}  # shard -> [(kind, future, counts)]

    def run(self, articles: Iterable[Article], count_only: bool = False) -> WriteReport:
        count = self.sharded.count
        try:
            for article in articles:
                if article.id in self.seen:
                    self.report.duplicates += 1
                self.seen.add(article.id)
                shard = shard_of(routing_key(article), count)
                self.pending[shard].append(article)
                if len(self.pending[shard]) >= self.batch:
                    self.flush(shard, moved=not count_only)
                if self.seconds is not None and time.monotonic() - self.flushed >= self.seconds:
                    for other in range(count):
                        self.flush(other, moved=not count_only)
                    self.flushed = time.monotonic()
            for shard in range(count):
                self.flush(shard, moved=not count_only)
            for shard in list(self.inflight):
                self._settle(shard)
        finally:
            for tasks in self.inflight.values():  # after a failure: nothing more is started
                for _, future, _ in tasks:
                    future.cancel()
        return self.report

    def _moved_from(self, shard: int, ids: list[str]) -> dict[int, list[str]]:
        """{other shard: the ids of `ids` it may hold}: every id on a shard that held articles
        when the write began, else only those this write sent there before (an article whose
        cluster changed); an empty shard is not asked at all."""
        if self.held is None:
            lengths, failures = self.sharded._answers(task_len)
            self.held = {s for s, n in lengths.items() if n} | {f.shard for f in failures}
        out: dict[int, list[str]] = {}
        for other in range(self.sharded.count):
            if other == shard:
                continue
            there = ids if other in self.held else [i for i in ids if self.written.get(i) == other]
            if there:
                out[other] = there
        return out

    def flush(self, shard: int, moved: bool = True) -> None:
        articles, self.pending[shard] = self.pending[shard], []
        if not articles:
            return
        ids = [a.id for a in articles]
        again = sum(1 for i in set(ids) if i in self.written)  # committed earlier in this write: not an update
        others = self._moved_from(shard, ids) if moved else {}
        self.written.update(dict.fromkeys(ids, shard))
        if self.submit is None:
            found, failures = self.sharded._answers(task_write, articles, shards=[shard], create=True)
            self.sharded._require_all(failures, f"write to shard {self.sharded.shard_name(shard)}")
            self._count_write(found[shard], again, ids)
            for other, there in others.items():
                removed, failures = self.sharded._answers(task_remove_moved, there, shards=[other])
                self.sharded._require_all(failures, "update articles that changed shard")
                self._count_moved(sum(removed.values()))
            return
        self._settle(shard, keep=IN_FLIGHT - 1)  # bounded memory; Dask runs a shard's tasks in order
        self._send(shard, "write", task_write, articles, (again, ids))
        for other, there in others.items():
            self._send(other, "moved", task_remove_moved, there, 0)

    def _send(self, shard: int, kind: str, task: Callable[..., Any], payload: list, counts: Any) -> None:
        """Submit the shard's next task, to run after its latest one."""
        future = self.submit(task, shard, self.last.get(shard), payload, create=True)
        self.last[shard] = future
        self.inflight.setdefault(shard, []).append((kind, future, counts))

    def _settle(self, shard: int, keep: int = 0) -> None:
        """Wait for the shard's writes out on the cluster (all but the last `keep`) and count them."""
        outcome = self.sharded.runner.outcome
        tasks = self.inflight.get(shard, [])
        writes = [i for i, (kind, _, _) in enumerate(tasks) if kind == "write"]
        upto = writes[-keep] if keep and len(writes) >= keep else len(tasks)
        done, self.inflight[shard] = tasks[:upto], tasks[upto:]
        for kind, future, counts in done:
            try:
                result = outcome(future)
            except SearchkitError as exc:
                raise SearchkitError(f"cannot write to shard {self.sharded.shard_name(shard)} ({exc}): "
                                     "the batches committed before are kept; run the same import again "
                                     "to finish") from None
            if kind == "write":
                self._count_write(result, *counts)
            else:
                self._count_moved(result)
        if not self.inflight[shard]:
            del self.inflight[shard]

    def _count_write(self, report: WriteReport, again: int, ids: list[str] = ()) -> None:
        if self.on_commit is not None:
            self.on_commit(dict.fromkeys(ids))
        self.report.added += report.added
        self.report.updated += report.updated - again

    def _count_moved(self, moved: int) -> None:
        self.report.added -= moved
        self.report.updated += moved


# -- merging the shards' answers -----------------------------------------------------------


class ShardSearch:
    """One query over a sharded index: DFS (statistics), query, merge, fetch (snippets)."""

    def __init__(self, sharded: ShardedIndex) -> None:
        self.sharded = sharded
        self.failures: dict[int, ShardFailure] = {}
        self.spelling: _CollectionSearcher | None = None

    def _answers(self, task, *args, shards: Sequence[int] | None = None) -> dict[int, Any]:
        live = [s for s in (shards if shards is not None else self.sharded._all()) if s not in self.failures]
        found, failures = self.sharded._answers(task, *args, shards=live)
        for failure in failures:
            self.failures[failure.shard] = failure
        return found

    def run(self, text: str, *, limit: int, page: int, sort: str, since, until, source, snippet_chars: int,
            facets: bool, collapse: bool, snippets: bool, now: datetime | None,
            max_expansions: int | None = None, correct: bool = True) -> SearchResult:
        started = time.perf_counter()
        if sort not in SORTS:
            raise ValueError(f"unknown sort {sort!r}: use one of {', '.join(SORTS)}")
        from .query import parse

        limit = max(1, min(int(limit), MAX_LIMIT))
        page = max(1, min(int(page), MAX_PAGE))
        parse(text, _schema())  # a query with nothing to search for raises QueryError here
        query_text = self._expand_fuzzy(text) if "~" in text else text
        wanted = page * limit
        pool = max(wanted, RECENCY_POOL) if sort == "recency" else wanted
        options = {"sort": "relevance" if sort == "recency" else sort, "since": since, "until": until,
                   "source": source, "facets": facets, "collapse": collapse, "now": now,
                   "max_expansions": max_expansions}
        # On a cluster a first page's snippets come with the query (each shard makes its best
        # `wanted`'s: fewer than a round trip costs); deeper pages', and every page's when the
        # shards are searched in this process (no round trip to save), in a fetch for the page only.
        early = (snippets and page == 1 and sort != "recency" and wanted <= SNIPPETS_WITH_QUERY
                 and not isinstance(self.sharded.runner, LocalRunner))
        options["snippet_chars"] = snippet_chars
        if _feedback_words(query_text, sort, now):  # DFS, the feedback pass's rounds, then the query
            stats = CorpusStats.merge(list(self._answers(task_stats, query_text, now).values()))
            feedback, stats = self._feedback(query_text, sort, since, until, source, now, stats)
            answers = self._answers(task_query, stats, query_text, pool, {**options, "feedback": feedback}, early)
        else:  # DFS and query in one go: each shard's query waits for every shard's statistics
            answers = self._merged(task_stats, (query_text, now), CorpusStats.merge, task_query, query_text, pool,
                                   {**options, "feedback": False}, early)
        listed = _merge_hits({s: a.hits for s, a in answers.items()}, sort, pool)[(page - 1) * limit:wanted]
        for rank, (_, hit) in enumerate(listed, (page - 1) * limit + 1):
            hit.rank = rank
        if not early:
            self._fetch(listed, query_text, snippet_chars, snippets, now)
        ranked = [hit for _, hit in listed]
        total = sum(a.total for a in answers.values())
        facet_counts, buckets, span = _merge_facets(list(answers.values())) if facets else ({}, [], None)
        notice = next((a.notice for a in answers.values() if a.notice), "")
        confident = None
        if correct and not total and answers and not self.failures:
            # As search() does: a correction of one edit a word finds nothing as typed is shown at once.
            confident = self._suggest(text, total, now, max_edits=1)
        suggestion = None
        if total < SUGGEST_BELOW and answers and not confident:
            suggestion = self._suggest(text, total, now)
        if confident:
            corrected = ShardSearch(self.sharded).run(
                confident, limit=limit, page=page, sort=sort, since=since, until=until, source=source,
                snippet_chars=snippet_chars, facets=facets, collapse=collapse, snippets=snippets, now=now,
                max_expansions=max_expansions, correct=False)
            if corrected.total:  # with the filters too: otherwise "did you mean" stays a suggestion
                corrected.corrected_from, corrected.suggestion = text, None
                return corrected
            suggestion = confident
        result = SearchResult(text, ranked, total, page, limit, (time.perf_counter() - started) * 1000,
                              notice, facet_counts, buckets, suggestion, sort, span=span)
        if facets and (since or until):  # the periods around the chosen ones, as search() counts them
            result.timeline_around = ShardSearch(self.sharded).run(
                text, limit=1, page=1, sort=sort, since=None, until=None, source=source, snippet_chars=snippet_chars,
                facets=True, collapse=collapse, snippets=False, now=now, max_expansions=max_expansions,
                correct=False).timeline
        if self.failures:
            missing = [self.sharded.shard_name(s) for s in sorted(self.failures)]
            result.partial, result.missing = True, missing
            note = (f"{len(missing)} of {self.sharded.count} shards did not answer "
                    f"({', '.join(missing)}): these results leave out their articles")
            result.notice = f"{result.notice}; {note}" if result.notice else note
        return result

    def _feedback(self, text: str, sort: str, since, until, source, now: datetime | None, stats: CorpusStats
                  ) -> tuple[dict[str, float] | bool, CorpusStats]:
        """One index's feedback pass over the whole collection: every shard's best first-pass
        articles (scored with the collection's `stats`) merged into the collection's best,
        RM3's weights made from those, and the stats of the words it adds gathered from every
        shard. (False, stats) when `text` gets no feedback pass."""
        from .engine import scoring
        from .engine.scoring import FEEDBACK_DOCS, SEARCH_FIELDS
        from .search import feedback_query, feedback_terms

        words = _feedback_words(text, sort, now)
        if not words:
            return False, stats
        found = self._answers(task_feedback_documents, text, sort, since, until, source, now, stats)
        documents = sorted((d for _, docs in sorted(found.items()) for d in docs), key=lambda d: -d[0])
        documents = documents[:FEEDBACK_DOCS]
        counted = None  # the collection's document frequencies of every feedback stem, if RM3 filters by them
        if scoring.FEEDBACK_MAX_DF < 1.0 and documents:
            counted = CorpusStats.merge([p[0] for p in self._answers(task_term_stats, feedback_terms(documents)).values()])
        weights = feedback_query(words, documents, counted)
        added = [(name, stem) for stem in weights if stem not in set(words) for name in SEARCH_FIELDS]
        if added:
            parts = self._answers(task_term_stats, added)
            extra = CorpusStats.merge([p[0] for p in parts.values()])
            stats = CorpusStats(stats.doc_count, stats.field_length, {**extra.df, **stats.df})
        return weights, stats

    def export(self, text: str | None, sort: str, since, until, source, now: datetime | None
               ) -> Iterator[Article]:
        """matching_articles() over every shard: each shard lists its matches, scored with the
        collection's statistics (and feedback), the lists are merged as one index orders them,
        and the articles are read from their shards a batch at a time. Every shard must answer
        (an export is never silently short)."""
        stats, feedback = None, False
        if text:
            stats = CorpusStats.merge(list(self._answers(task_stats, text, now).values()))
            feedback, stats = self._feedback(text, sort, since, until, source, now, stats)
        ranked = "relevance" if sort == "recency" else sort
        found = self._answers(task_matches, text, ranked, since, until, source, now, stats, feedback)
        self.sharded._require_all(list(self.failures.values()), "export")
        listed = _merge_hits(found, sort, sum(len(m) for m in found.values()))
        for start in range(0, len(listed), EXPORT_BATCH):
            batch = listed[start:start + EXPORT_BATCH]
            articles: dict[str, Article] = {}
            ids: dict[int, list[str]] = {}
            for shard, m in batch:
                ids.setdefault(shard, []).append(m.id)
            for part in self._answers(task_articles, PerShard(ids), shards=sorted(ids)).values():
                articles.update(part)
            self.sharded._require_all(list(self.failures.values()), "export")
            yield from (articles[m.id] for _, m in batch if m.id in articles)

    def _merged(self, first: Callable[..., Any], first_args: tuple, merge: Callable[[list], Any],
                task: Callable[..., Any], *args: Any) -> dict[int, Any]:
        """The live shards' answers to runner.map_merged (failures noted in self.failures)."""
        live = [s for s in self.sharded._all() if s not in self.failures]
        found = {}
        for shard, answer in self.sharded.runner.map_merged(first, first_args, merge, task, live, *args).items():
            if isinstance(answer, ShardFailure):
                self.failures[shard] = answer
            else:
                found[shard] = answer
        return found

    def _expand_fuzzy(self, text: str) -> str:
        """`word~` expanded to the words within its edits in any shard (as one index would)."""
        from .query import expand_fuzzy

        words: dict[tuple, set[str]] = {}
        for found in self._answers(task_fuzzy_words, text).values():
            for key, values in found.items():
                words.setdefault(key, set()).update(values)

        class Union:
            def terms_within(self, fieldname, word, maxdist, prefix=0):
                return sorted(words.get((fieldname, word, maxdist, prefix), ()))

        return expand_fuzzy(text, Union())

    def _fetch(self, listed: list[tuple[int, Hit]], text: str, snippet_chars: int, snippets: bool, now) -> None:
        """The page's snippets and highlighted titles, from the shards holding its articles
        (all asked at once, each for the ids the merged ranking has from it)."""
        ids: dict[int, list[str]] = {}
        for shard, hit in listed:
            ids.setdefault(shard, []).append(hit.id)
        fragments: dict[str, tuple] = {}
        if ids:
            for found in self._answers(task_snippets, PerShard(ids), text, snippet_chars, snippets, now,
                                       shards=sorted(ids)).values():
                fragments.update(found)
        for _, hit in listed:
            hit.fragments, hit.title_fragments = fragments.get(hit.id, ([], hit.title_fragments))

    def _suggest(self, text: str, total: int, now, max_edits: int = 2) -> str | None:
        """Did-you-mean as one index would offer it: word frequencies summed over the shards."""
        from .suggest import suggest

        if self.spelling is None:  # asked once, though a search may look twice (1 edit, then 2)
            self.spelling = _CollectionSearcher(self)
            self.spelling.prefetch(text)
        candidate = suggest(self.spelling, text, max_edits)
        if not candidate or candidate == text:
            return None
        counted = self._expand_fuzzy(candidate) if "~" in candidate else candidate  # as searching it would
        found = sum(self._answers(task_count, counted, now).values())
        return candidate if found > total else None


class _CollectionSearcher:
    """What suggest() asks of a searcher (document frequencies, words within some edits),
    answered by every shard together."""

    def __init__(self, search: ShardSearch) -> None:
        self.search = search
        self.frequencies: dict[tuple[str, str], int] = {}
        self.within: dict[tuple, list[str]] = {}

    def prefetch(self, text: str) -> None:
        """Ask the shards, a round each, for what suggest(text) will look up: the typed words'
        frequencies; the words near those of them suggest.correct_word would correct (looking
        for words within two edits walks every term list: not for a word the collection has);
        their stems' frequencies. Not once per look-up."""
        from .analysis import analyzer, normalize_token
        from .suggest import COMMON_WORD, SPELL_FIELDS

        typed = {normalize_token(w) for w in re.findall(r"[^\W\d_][\w'\u2019]*", text)}
        if not typed:
            return
        stem = analyzer().stem
        self._count([(f"spell_{name}", w) for w in typed for name in SPELL_FIELDS]
                    + [(name, stem(w)) for w in typed for name in SPELL_FIELDS])
        wrong = sorted(w for w in typed if len(w) >= 3 and w not in analyzer().stop_words
                       and not any(self.frequencies[(f"spell_{name}", w)] for name in SPELL_FIELDS)
                       and max(self.frequencies[(name, stem(w))] for name in SPELL_FIELDS) < COMMON_WORD)
        if not wrong:
            return
        near: dict[tuple, set[str]] = {}
        for found in self.search._answers(task_spelling_words, wrong).values():
            for key, values in found.items():
                near.setdefault(key, set()).update(values)
        self.within.update({key: sorted(values) for key, values in near.items()})
        self._count([(name, stem(c)) for values in near.values() for c in values for name in SPELL_FIELDS])

    def _count(self, terms: list[tuple[str, str]]) -> None:
        """The collection's document frequencies of `terms` not known yet, in one round."""
        asked = [t for t in dict.fromkeys(terms) if t not in self.frequencies]
        if not asked:
            return
        counts = dict.fromkeys(asked, 0)
        for found in self.search._answers(task_doc_frequencies, asked).values():
            for key, count in found.items():
                counts[key] += count
        self.frequencies.update(counts)

    def doc_frequency(self, fieldname: str, text: str) -> int:
        if (fieldname, text) not in self.frequencies:
            self.frequencies[(fieldname, text)] = sum(
                self.search._answers(task_doc_frequency, fieldname, text).values())
        return self.frequencies[(fieldname, text)]

    def reader(self) -> "_CollectionSearcher":
        return self

    def terms_within(self, fieldname: str, text: str, maxdist: int, prefix: int = 0) -> list[str]:
        key = (fieldname, text, maxdist, prefix)
        if key not in self.within:
            words: set[str] = set()
            for found in self.search._answers(task_terms_within, fieldname, text, maxdist, prefix).values():
                words.update(found)
            self.within[key] = sorted(words)
        return self.within[key]


def _merge_hits(answers: dict[int, list], sort: str, pool: int) -> list[tuple[int, Any]]:
    """(shard, hit) of the shards' hits (or Matches) in one ranking (each shard's own order
    kept), cut to `pool`; sort="recency" blends in freshness over that pool, as search() does
    over its own."""
    rows = []
    for shard, hits in answers.items():
        for hit in hits:
            if sort in ("newest", "oldest"):
                moment = hit.published.timestamp() if hit.published else None
                key = ((1, 0.0) if moment is None else (0, -moment if sort == "newest" else moment))
            else:
                key = (0, -hit.score)
            rows.append((key, shard, hit.rank, hit))
    rows.sort(key=lambda row: row[:3])
    listed = [(shard, hit) for _, shard, _, hit in rows[:pool]]
    if sort == "recency":
        dated = [h.published for _, h in listed if h.published]
        if dated:
            newest = max(dated)
            for _, hit in listed:
                if hit.published:
                    hit.score = hit.score * recency_factor(newest - hit.published)
            listed.sort(key=lambda pair: -pair[1].score)
    return listed


def _unit_of(label: str) -> str:
    return {10: "day", 7: "month", 4: "year"}.get(len(label), "year")


def _merge_facets(answers: list[ShardAnswer]
                  ) -> tuple[dict[str, list[tuple[str, int]]], list[TimelineBucket], tuple | None]:
    """Source counts added up; the timeline rebuilt in the unit the whole range calls for."""
    sources: dict[str, int] = {}
    for answer in answers:
        for name, count in answer.facets.get("source", []):
            sources[name] = sources.get(name, 0) + count
    facets: dict[str, list[tuple[str, int]]] = {
        "source": sorted(sources.items(), key=lambda kv: (-kv[1], kv[0]))}
    spans = [a.span for a in answers if a.span]
    if not spans:
        facets["month"] = []
        return facets, [], None
    first, last = min(s[0] for s in spans), max(s[1] for s in spans)
    counts: dict[datetime, int] = {}
    for answer in answers:
        for bucket in answer.timeline:
            counts[bucket.start] = counts.get(bucket.start, 0) + bucket.count
    unit, buckets = timeline_between(counts, first, last)
    facets[unit] = [(b.label, b.count) for b in buckets if b.count]
    return facets, buckets, (first, last)


def _feedback_words(text: str, sort: str, now: datetime | None) -> list[str] | None:
    """The words `text`'s feedback pass expands (search.feedback_words), None without one."""
    from .query import parse
    from .search import feedback_words

    return feedback_words(parse(text, _schema(), now=now), sort)


@functools.cache
def _schema():
    from .engine.schema import build_schema

    return build_schema()


# -- creating and opening ------------------------------------------------------------------


def _check_count(shards: int) -> None:
    if not 1 <= shards <= MAX_SHARDS:
        raise ShardError(f"--shards {shards}: give a number of shards from 1 to {MAX_SHARDS}")


def _create_shards(sharded: ShardedIndex) -> None:
    """Make each shard's (empty) index, wherever the runner reaches it."""
    _, failures = sharded._answers(task_nothing, create=True)
    sharded._require_all(failures, "create the shards")


def create(path: str | os.PathLike, shards: int, workers: Sequence[str] = (),
           lock_timeout: float = LOCK_TIMEOUT) -> ShardedIndex:
    """Create a sharded index of `shards` empty shards at `path` (a new or empty directory;
    an existing sharded index of that many shards is left as it is). With `workers`, shard i
    is pinned to workers[i % len(workers)] and lives on that worker's own disk."""
    _check_count(shards)
    directory = Path(path)
    if is_sharded(directory):
        existing = open_sharded(directory, lock_timeout=lock_timeout)
        if existing.count != shards:
            raise ShardError(f"{directory} already holds a sharded index of {existing.count} shards: "
                             f"change it with `searchkit --index {directory} reindex --shards {shards}`")
        return existing
    if directory.exists() and any(directory.iterdir()):
        raise ShardError(f"{directory} is not empty: create a sharded index in a new directory "
                         f"(or convert an index with `searchkit reindex --shards {shards}`)")
    directory.mkdir(parents=True, exist_ok=True)
    specs = [ShardSpec(f"shard-{i:03d}", workers[i % len(workers)] if workers else None) for i in range(shards)]
    sharded = ShardedIndex(directory, Manifest(specs), lock_timeout)
    if not workers:  # shards on a shared filesystem: made here; pinned ones by their workers
        for i in range(shards):
            open_index(sharded.shard_path(i), create=True, lock_timeout=lock_timeout)
    Manifest(specs).save(directory)
    return sharded


def open_sharded(path: str | os.PathLike, lock_timeout: float = LOCK_TIMEOUT,
                 on_lock_wait: LockWait | None = None) -> ShardedIndex:
    directory = Path(path)
    return ShardedIndex(directory, Manifest.load(directory), lock_timeout, on_lock_wait)


__all__ = ["MANIFEST", "Manifest", "ShardSpec", "ShardedIndex", "ShardFailure", "ShardAnswer", "Runner",
           "LocalRunner", "map_merged_in_turn", "ShardError", "create", "open_sharded", "open_any", "is_sharded", "shard_of",
           "routing_key"]
