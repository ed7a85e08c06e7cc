"""The `searchkit` command: each command translates arguments, calls the library, prints."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import click

from . import __version__
from .errors import SearchkitError
from .query import QueryError
from .search import MAX_LIMIT, MAX_PAGE, NO_SOURCE
from .wording import plural

FORMATS_OUT = ("text", "json", "jsonl", "trec")


class WaitInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM while the command waited for another writer's lock: it wrote nothing."""


class Context:
    def __init__(self, index_path: str, lock_timeout: float = 600.0, cluster: str | None = None) -> None:
        self.index_path = index_path
        self.lock_timeout = lock_timeout
        self.cluster = cluster or None
        self.runner = None

    def open(self, create: bool = False, check: bool = True):
        """The index (a shards.ShardedIndex for a sharded one), on the --cluster if given."""
        from .store import open_any  # shards.py only for a sharded index

        index = open_any(self.index_path, create=create, check=check,
                         lock_timeout=self.lock_timeout, on_lock_wait=self.waiting)
        if self.cluster:
            if not getattr(index, "sharded", False):
                raise click.UsageError(f"--cluster works on a sharded index: create one with `searchkit --index "
                                       f"DIR create --shards N` (the index at {self.index_path} has no shards)")
            self.connect().attach(index)
        return index

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """While this command waits for another writer's lock: says so, and a Ctrl-C or SIGTERM
        ends it at once (WaitInterrupted) rather than asking a running import to stop. A signal
        the command was started with ignored stays ignored (see _StopSignals)."""
        import signal
        import threading

        before = {}
        if threading.current_thread() is threading.main_thread():  # where Python runs signal handlers
            for number in (signal.SIGINT, signal.SIGTERM):
                if signal.getsignal(number) != signal.SIG_IGN:
                    before[number] = signal.signal(number, signal.default_int_handler)
        try:  # the handlers first: a signal sent on seeing this line must find them
            click.echo(f"waiting for another searchkit process writing to {self.index_path} "
                       f"(up to {self.lock_timeout:g} s)…", err=True)
            yield
        except KeyboardInterrupt:
            raise WaitInterrupted from None
        finally:
            for number, handler in before.items():
                signal.signal(number, signal.SIG_DFL if handler is None else handler)

    def connect(self):
        """The cluster runner (started or reached once per command, closed when it ends)."""
        if self.runner is None:
            from .cluster import connect

            self.runner = connect(self.cluster)
            click.get_current_context().call_on_close(self.runner.close)
        return self.runner


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


WAIT_INTERRUPTED = "interrupted while waiting for another writer: nothing was written"
INTERRUPTED = {
    "import": "interrupted: committed batches are kept; run the same import again to finish",
    "reindex": "interrupted: the index is as it was; run `searchkit reindex` again",
}


def _set_index(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.find_object(Context).index_path = value


def _set_lock_timeout(ctx: click.Context, _param: click.Parameter, value: float | None) -> None:
    if value is not None:
        ctx.find_object(Context).lock_timeout = value


def global_options_after_command() -> list[click.Option]:
    """--index and --lock-timeout for a command's own options, so they work after the command
    too (`searchkit query cuba --index /tmp/x`); given there, they win over the ones before it."""
    return [
        click.Option(["--index", "index_path"], default=None, expose_value=False, callback=_set_index,
                     type=click.Path(file_okay=False), help="Index directory (as before the command)."),
        click.Option(["--lock-timeout"], default=None, expose_value=False, callback=_set_lock_timeout,
                     type=click.FloatRange(0), help="Seconds a write waits for another writer."),
    ]


class SearchkitGroup(click.Group):
    """Turns SearchkitError into a one-line message (exit 1), never a traceback; every command
    also takes the global options after its name."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        cmd.params.extend(global_options_after_command())
        super().add_command(cmd, name)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (SearchkitError, QueryError) as exc:
            raise _fail(exc) from None
        except WaitInterrupted:
            click.echo(WAIT_INTERRUPTED + (" (the import had not started)" if ctx.invoked_subcommand == "import"
                                           else ""), err=True)
            sys.exit(130)
        except KeyboardInterrupt:
            click.echo(INTERRUPTED.get(ctx.invoked_subcommand or "", "interrupted"), err=True)
            sys.exit(130)


@click.group(cls=SearchkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--index", "index_path", default="index", envvar="SEARCHKIT_INDEX", show_default=True,
              type=click.Path(file_okay=False), help="Index directory (env SEARCHKIT_INDEX).")
@click.option("--lock-timeout", default=600.0, envvar="SEARCHKIT_LOCK_TIMEOUT", show_default=True,
              type=click.FloatRange(0), help="Seconds a write waits for another writer to finish.")
@click.option("--cluster", "cluster", default=None, envvar="SEARCHKIT_CLUSTER", metavar="ADDRESS",
              help="Dask scheduler (tcp://host:8786) or local:N worker processes here, for a sharded "
                   "index (env SEARCHKIT_CLUSTER).")
@click.version_option(__version__, prog_name="searchkit")
@click.pass_context
def main(ctx: click.Context, index_path: str, lock_timeout: float, cluster: str | None) -> None:
    """Full-text search for news articles.

    Example: searchkit import seeds/ && searchkit query "isis fighters raqqa"
    """
    ctx.obj = Context(index_path, lock_timeout, cluster)


@main.command()
@click.option("--shards", default=None, type=click.IntRange(1, 1024),
              help="Make a sharded index of this many shards (default: one plain index).")
@click.option("--workers", default="", metavar="NAME,...",
              help="Shards on the workers' own disks: pin shard i to the i-th of these Dask workers.")
@click.pass_obj
def create(obj: Context, shards: int | None, workers: str) -> None:
    """Create an empty index: one directory, or a manifest and N shards (--shards N).

    A sharded index works like any other, in one process or on a Dask cluster (--cluster).
    Example: searchkit --index news create --shards 4
    """
    if shards is None:
        if workers:
            raise click.UsageError("--workers needs --shards N")
        obj.open(create=True)
        click.echo(f"created an index at {obj.index_path}")
        return
    from .shards import create as create_sharded

    names = [w.strip() for w in workers.split(",") if w.strip()]
    sharded = create_sharded(obj.index_path, shards, names, lock_timeout=obj.lock_timeout)
    if names and obj.cluster:  # pinned shards are made by their own workers
        from .shards import _create_shards

        obj.connect().attach(sharded)
        _create_shards(sharded)
    elif names:
        click.echo("note: the pinned shards are made on their workers by the first command "
                   "run with --cluster", err=True)
    where = f", pinned to {', '.join(names)}" if names else ""
    click.echo(f"created a sharded index of {shards} shards at {obj.index_path}{where}")


IMPORT_FORMATS = ["auto", "text", "html", "feed", "warc", "jsonl", "csv"]


def _size(count: int) -> str:
    """`812 kB`, `1.2 GB`: a byte count as a person reads it."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}" if count < scale * 10 else f"{count / scale:.0f} {unit}"
    return f"{count} B"


def _progress_line(progress) -> str:
    """`[#####-----] 3/10 files · 1,234 articles · 456/s · ETA 0:12` for a terminal; with the
    input's size known, the bar counts bytes: `[###-------] 1.2 GB/5.0 GB · 1,234 articles …`."""
    from .importer import plural

    width = 20
    if progress.bytes_total:
        done = min(1.0, progress.bytes_done / progress.bytes_total)
        where = f"{_size(progress.bytes_done)}/{_size(progress.bytes_total)}"
        if progress.files_total > 1:
            where += f" · {progress.files_done}/{plural(progress.files_total, 'file')}"
    else:
        done = progress.files_done / progress.files_total if progress.files_total else 0.0
        where = f"{progress.files_done}/{plural(progress.files_total, 'file')}"
    bar = "#" * int(done * width) + "-" * (width - int(done * width))
    eta = progress.eta()
    eta_text = f" · ETA {int(eta // 3600)}:{int(eta % 3600 // 60):02d}:{int(eta % 60):02d}" if eta and eta >= 3600 \
        else f" · ETA {int(eta // 60)}:{int(eta % 60):02d}" if eta is not None else ""
    return (f"[{bar}] {where} · {plural(progress.articles, 'article')}"
            f" · {progress.rate():,.0f}/s{eta_text}")


class _StopSignals:
    """While an import runs, the first SIGINT (Ctrl-C) or SIGTERM asks it to stop after the
    record in hand and commit; a second one interrupts at once. A signal the command was
    started with ignored stays ignored (a shell's background job ignores SIGINT so that a
    Ctrl-C for the foreground command does not reach it): as Python leaves it, and as it is
    while the command waits for the writer lock."""

    def __init__(self) -> None:
        import os

        self.asked = False
        self._before: dict = {}
        self._pid = os.getpid()  # worker processes forked meanwhile inherit the handler

    def __enter__(self) -> "_StopSignals":
        import signal

        for number in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(number) != signal.SIG_IGN:
                self._before[number] = signal.signal(number, self._handle)
        return self

    def _handle(self, number, frame) -> None:
        import os
        import signal

        if os.getpid() != self._pid:  # a worker: Ctrl-C is the importer's to handle, SIGTERM ends it
            if number == signal.SIGTERM:
                signal.signal(number, signal.SIG_DFL)
                os.kill(os.getpid(), number)
            return
        if self.asked:
            raise KeyboardInterrupt
        self.asked = True
        click.echo("\nstopping: committing what was read (Ctrl-C again to stop at once)…", err=True)
        if signal.SIGTERM in self._before:
            signal.signal(signal.SIGTERM, signal.default_int_handler)

    def __exit__(self, *exc) -> None:
        import signal

        for number, handler in self._before.items():
            signal.signal(number, handler)

    def __call__(self) -> bool:
        return self.asked


@main.command("import")
@click.argument("paths", nargs=-1, required=True)
@click.option("--format", "fmt", default="auto", show_default=True,
              type=click.Choice(IMPORT_FORMATS), help="Input format (auto: by name or content).")
@click.option("--source", default=None, help="Source name for articles that do not say.")
@click.option("--max-record-mb", default=64.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="A record (a line, a row, a page) larger than this is skipped and named.")
@click.option("--commit-every", "commit_seconds", default=60.0, show_default=True,
              type=click.FloatRange(min=0, min_open=True),
              help="Seconds between commits at the most, however slow the input: a kill loses about this much.")
@click.option("--again", is_flag=True,
              help="Read every record again, even those an earlier import took in unchanged.")
@click.pass_obj
def import_(obj: Context, paths: tuple[str, ...], fmt: str, source: str | None, max_record_mb: float,
            commit_seconds: float, again: bool) -> None:
    """Add or update articles from files or directories ("-" reads stdin).

    Formats: plain text, HTML, RSS/Atom feeds, WARC web archives, JSON lines, CSV; any of them
    compressed (gzip, bzip2, xz, zstd) and of any size. A progress bar shows on a terminal; the
    summary counts duplicates. Ctrl-C stops after the record in hand and commits; running the
    same import again skips what is already in and picks up where it stopped.
    Example: searchkit import seeds/ ~/news/*.html feeds/*.xml crawl.warc.gz
    """
    import time

    from .importer import import_paths, plural

    index = obj.open(create=True)
    terminal = sys.stderr.isatty()
    shown = [0.0, 0]  # when the bar was last drawn, and its width

    def on_progress(progress) -> None:
        if not terminal or time.monotonic() - shown[0] < 0.2:
            return
        line = _progress_line(progress)
        click.echo("\r" + line.ljust(shown[1]), nl=False, err=True)
        shown[:] = [time.monotonic(), len(line)]

    def clear() -> None:
        if terminal and shown[1]:
            click.echo("\r" + " " * shown[1] + "\r", nl=False, err=True)
            shown[0] = 0.0

    def on_error(message: str) -> None:
        clear()
        click.echo(f"failed: {message}", err=True)

    def on_notice(message: str) -> None:
        clear()
        click.echo(f"warning: {message}", err=True)

    with _StopSignals() as stop:
        report = import_paths(index, paths, fmt, source, on_error=on_error, on_notice=on_notice,
                              on_progress=on_progress, max_record=int(max_record_mb * 2**20), stop=stop,
                              resume=not again, commit_seconds=commit_seconds)
    clear()
    for line in report.skipped_lines():
        click.echo(line)
    click.echo(report.summary())
    if terminal:
        click.echo(f"{plural(report.articles, 'article')} from {plural(report.files, 'file')} in "
                   f"{report.seconds:.1f} s ({report.rate():,.0f} articles/s)", err=True)
    if report.interrupted:
        click.echo("interrupted: what was read is committed; run the same command again to import the "
                   "rest (records already in are skipped)", err=True)
        sys.exit(130)
    if report.failed:
        sys.exit(1)


def _print_text(result, bold: bool) -> None:
    from .snippets import render_terminal

    if result.notice:
        click.echo(f"note: {result.notice}")
    if result.corrected_from:
        click.echo(f"Showing results for {result.query} (none for {result.corrected_from!r}: --as-typed searches "
                   "for it as typed)")
    if result.suggestion:
        click.echo(f"Did you mean: {result.suggestion}")
    if not result.hits:
        click.echo(f"No results for {result.query!r}." if result.total == 0 else f"No results on page {result.page}.")
        return
    last = result.hits[-1].rank
    click.echo(f"{plural(result.total, 'result')}, showing {result.hits[0].rank}-{last}"
               f" (page {result.page} of {result.pages}, {result.elapsed_ms:.0f} ms)")
    for hit in result.hits:
        click.echo()
        title = render_terminal(hit.title_fragments or [(hit.title, False)], bold)
        click.echo(f"{hit.rank}. {title}")
        meta = " · ".join(x for x in (hit.source, hit.published.date().isoformat() if hit.published else "",
                                        hit.url) if x)
        if meta:
            click.echo(f"   {meta}")
        if hit.cluster_size > 1:
            click.echo(f"   (and {plural(hit.cluster_size - 1, 'similar article')})")
        text = render_terminal(hit.fragments, bold)
        if text:
            click.echo(f"   {text}")


def _print_facets(result) -> None:
    for name, pairs in result.facets.items():
        if pairs:
            click.echo(f"\n{name}:")
            for key, count in pairs:
                click.echo(f"  {count:>7}  {key or NO_SOURCE}")


def _print_result(qid: str, result, fmt: str, bold: bool) -> None:
    if fmt == "text":
        _print_text(result, bold)
    elif fmt == "json":
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    elif fmt == "jsonl":
        for hit in result.hits:
            click.echo(json.dumps({"qid": qid, **hit.to_dict()} if qid else hit.to_dict(), ensure_ascii=False))
    else:
        for hit in result.hits:
            click.echo(f"{qid or '1'} Q0 {hit.id} {hit.rank} {hit.score:.4f} searchkit")


def _read_queries(path: str) -> list[tuple[str, str]]:
    queries = []
    for number, line in enumerate(Path(path).read_text("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        if "\t" not in line:
            raise click.BadParameter(f"line {number} is not `qid<TAB>query`", param_hint="--queries")
        qid, text = line.split("\t", 1)
        queries.append((qid.strip(), text.strip()))
    return queries


@main.command()
@click.argument("text", required=False, default="")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, MAX_LIMIT), help="Results per page.")
@click.option("--page", default=1, show_default=True, type=click.IntRange(1, MAX_PAGE), help="Page number.")
@click.option("--sort", default="relevance", show_default=True,
              type=click.Choice(["relevance", "newest", "oldest", "recency"]),
              help="recency: relevance blended with freshness.")
@click.option("--since", default=None,
              help='Only articles published on or after this date (YYYY-MM-DD, "yesterday", "last week", ...).')
@click.option("--until", default=None,
              help='Only articles published on or before this date (YYYY-MM-DD, "2 months ago", ...).')
@click.option("--source", multiple=True,
              help='Only articles from this source (any case); repeat for several, "(no source)" for none.')
@click.option("--format", "fmt", default="text", show_default=True, type=click.Choice(FORMATS_OUT))
@click.option("--queries", "queries_file", default=None, type=click.Path(exists=True, dir_okay=False),
              help="TSV file of qid<TAB>query to run in one process (e.g. with --format trec).")
@click.option("--facets", "show_facets", is_flag=True, help="Also print counts by source and by date.")
@click.option("--as-typed", is_flag=True,
              help="Search as typed even when it finds nothing (no automatic spelling correction).")
@click.pass_obj
def query(obj: Context, text: str, limit: int, page: int, sort: str, since: str | None, until: str | None,
          source: tuple[str, ...], fmt: str, queries_file: str | None, show_facets: bool, as_typed: bool) -> None:
    """Search the index: ranked articles with highlighted snippets.

    Example: searchkit query "isis fighters raqqa" --limit 5
    """
    from .search import search

    if not text.strip() and not queries_file:
        raise click.UsageError('empty query: give some words, e.g. searchkit query "isis raqqa"')
    index = obj.open()
    runs = _read_queries(queries_file) if queries_file else [("", text)]
    bold = fmt == "text" and sys.stdout.isatty()
    for qid, words in runs:
        try:
            # Facets make Whoosh score every match (no top-N pruning): count them only when shown.
            result = search(index, words, limit=limit, page=page, sort=sort, since=since, until=until,
                            source=source or None, facets=show_facets or fmt == "json",
                            correct=not (as_typed or queries_file))
        except QueryError as exc:
            if not queries_file:
                raise _fail(exc) from None
            click.echo(f"query {qid}: {exc}", err=True)
            continue
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
        _print_result(qid, result, fmt, bold)
        if show_facets and fmt == "text":
            _print_facets(result)


@main.command()
@click.argument("article_id")
@click.option("--limit", default=5, show_default=True, type=click.IntRange(1, 100))
@click.option("--format", "fmt", default="text", show_default=True, type=click.Choice(["text", "json"]))
@click.pass_obj
def similar(obj: Context, article_id: str, limit: int, fmt: str) -> None:
    """Articles like ARTICLE_ID (its own near-duplicates left out).

    Example: searchkit similar globalvoices-316447 --limit 3
    """
    from .similar import similar as find_similar

    hits = find_similar(obj.open(), article_id, limit=limit)
    if fmt == "json":
        click.echo(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=2))
        return
    if not hits:
        click.echo(f"No articles like {article_id}.")
    for hit in hits:
        meta = " · ".join(x for x in (hit.source, hit.published.date().isoformat() if hit.published else "") if x)
        click.echo(f"{hit.rank}. {hit.title}  [{hit.id}]" + (f"\n   {meta}" if meta else ""))


@main.command("eval")
@click.argument("qrels", type=click.Path(exists=True, dir_okay=False))
@click.option("--queries", "queries_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="TSV file of qid<TAB>query.")
@click.option("--format", "fmt", default="text", show_default=True, type=click.Choice(["text", "json"]))
@click.pass_obj
def eval_(obj: Context, qrels: str, queries_file: str, fmt: str) -> None:
    """MAP, nDCG@10, P@10 and recall@100 of the current ranking against TREC qrels.

    Example: searchkit eval qrels.txt --queries queries.tsv
    """
    from .eval import evaluate, read_qrels, read_queries, run_queries

    report = evaluate(run_queries(obj.open(), read_queries(queries_file)), read_qrels(qrels))
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    for name, value in report.to_dict().items():
        click.echo(f"{name:<11} {value:.4f}" if name != "queries" else f"{name:<11} {value}")


@main.command()
@click.option("--shards", default=None, type=click.IntRange(1, 1024),
              help="A sharded index: route every article again into this many shards.")
@click.pass_obj
def reindex(obj: Context, shards: int | None) -> None:
    """Rebuild the index from its stored articles and swap it in atomically.

    Run after upgrading searchkit or changing the analyzer; searches keep working meanwhile.
    Example: searchkit reindex
    """
    index = obj.open(check=False)
    if getattr(index, "sharded", False):
        count = index.reindex(shards=shards)
        click.echo(f"reindexed {plural(count, 'article')} into {index.count} shards")
        return
    if shards is not None:
        raise click.UsageError(f"{obj.index_path} is not a sharded index: make one with `searchkit --index "
                               f"NEWDIR create --shards {shards}` and import into it "
                               f"(`searchkit --index {obj.index_path} export > all.jsonl`)")
    count = index.reindex()
    click.echo(f"reindexed {plural(count, 'article')}")


@main.command()
@click.option("--format", "fmt", default="text", show_default=True, type=click.Choice(["text", "json"]))
@click.pass_obj
def stats(obj: Context, fmt: str) -> None:
    """Article count, sources, date range, size on disk and schema version.

    Example: searchkit stats --format json
    """
    info = obj.open().stats()
    if fmt == "json":
        click.echo(json.dumps(info, ensure_ascii=False, indent=2))
        return
    click.echo(plural(info['articles'], 'article'))
    click.echo(f"sources: {len(info['sources'])}")
    for name, count in list(info["sources"].items())[:10]:
        click.echo(f"  {count:>7}  {name or NO_SOURCE}")
    click.echo(f"published: {info['first'] or '-'} to {info['last'] or '-'}")
    click.echo(f"size: {info['bytes'] / 1e6:.1f} MB")
    click.echo(f"schema: {info['schema']}")
    if "shards" in info:
        click.echo(f"shards: {info['shards']}")
    if info.get("partial"):
        click.echo(f"note: {len(info['missing'])} shards did not answer ({', '.join(info['missing'])}): "
                   "these figures leave out their articles")


@main.command()
@click.option("--query", "text", default=None, help="Export only this query's matches (every one of them).")
@click.option("--since", default=None, help="Only articles published on or after this date (as for query).")
@click.option("--until", default=None, help="Only articles published on or before this date (as for query).")
@click.option("--source", multiple=True, help="Only articles from this source (any case); repeat for several.")
@click.option("--sort", default=None, type=click.Choice(["relevance", "newest", "oldest", "recency"]),
              help="Order (default: relevance with --query, newest without).")
@click.option("--format", "fmt", default="jsonl", show_default=True, type=click.Choice(["jsonl", "csv"]))
@click.pass_obj
def export(obj: Context, text: str | None, since: str | None, until: str | None, source: tuple[str, ...],
           sort: str | None, fmt: str) -> None:
    """Write stored articles (all, or every match of a search) to stdout, every field.

    Near-duplicates are all exported; the web page's Download links write the same.
    Example: searchkit export --query "hunger strike" --since 2012-05 --format csv > strike.csv
    """
    from .export import export_lines, matching_articles

    articles = matching_articles(obj.open(), text, since=since, until=until, source=source or None, sort=sort)
    try:
        for line in export_lines(articles, fmt):
            click.echo(line, nl=False)
    except ValueError as exc:  # a bad date
        raise click.UsageError(str(exc)) from None


@main.command()
@click.argument("ids", nargs=-1, required=True)
@click.pass_obj
def delete(obj: Context, ids: tuple[str, ...]) -> None:
    """Remove articles by id.

    Example: searchkit delete globalvoices-316447
    """
    missing = obj.open().delete(ids)
    click.echo(f"deleted {plural(len(ids) - len(missing), 'article')}")
    if missing:
        raise click.ClickException(f"not in the index: {', '.join(missing)}")


@main.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--format", "fmt", default="json", show_default=True, type=click.Choice(["json", "jsonl", "text"]))
@click.pass_obj
def extract(obj: Context, files: tuple[str, ...], fmt: str) -> None:
    """Print what searchkit extracts from files, without touching the index.

    Example: searchkit extract page.html --format text
    """
    from .importer import extract_all

    failures: list[str] = []
    articles = [a.to_dict() for a in extract_all(files, on_error=failures.append,
                                                  on_notice=lambda m: click.echo(f"warning: {m}", err=True))]
    if fmt == "json":
        click.echo(json.dumps(articles, ensure_ascii=False, indent=2))
    elif fmt == "jsonl":
        for article in articles:
            click.echo(json.dumps(article, ensure_ascii=False))
    else:
        for article in articles:
            for name in ("title", "url", "source", "author", "published", "language", "tags", "origin"):
                if article[name]:
                    value = article[name]
                    click.echo(f"{name}: {value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)}")
            click.echo()
            click.echo(article["body"])
            click.echo("\n" + "-" * 72)
    for message in failures:
        click.echo(f"failed: {message}", err=True)
    if failures:
        sys.exit(1)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default).")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64))
@click.pass_obj
def serve(obj: Context, host: str, port: int, threads: int) -> None:
    """Serve the web UI and JSON API (waitress; never Flask's debug server).

    Example: searchkit serve --port 8080
    """
    import waitress

    from webui import create_app

    from webui import MAX_BODY_BYTES, SERVER_OPTIONS

    index = obj.open()  # fail now, with a clear message, if there is no usable index
    from .store import raise_open_file_limit

    raise_open_file_limit()
    app = create_app({"INDEX": obj.index_path, "OPENED_INDEX": index if obj.cluster else None})
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"warning: listening on {host}, not only this machine: anyone who can reach "
                   f"port {port} can search the index (it stays read-only)", err=True)
    # poll(), not select(): select() cannot watch a descriptor numbered 1024 or more, and a big
    # index keeps that many files open (100 segments x ~10 files), so connections got them.
    try:
        server = waitress.create_server(app, host=host, port=port, threads=threads, ident="searchkit",
                                        max_request_body_size=MAX_BODY_BYTES,
                                        max_request_header_size=64 * 1024, asyncore_use_poll=True,
                                        **SERVER_OPTIONS)
    except OSError as exc:
        raise click.ClickException(listen_error(host, port, exc)) from None
    # Only now is the port open: the line never promises a server that is not there.
    for address, bound in _listening(server):
        address = f"[{address}]" if ":" in address else address
        click.echo(f"serving {obj.index_path} on http://{address}:{bound}/", err=True)
    server.run()


def listen_error(host: str, port: int, exc: OSError) -> str:
    """One line saying why `serve` could not listen on host:port, and what to do instead."""
    import errno

    if exc.errno == errno.EADDRINUSE:
        return f"port {port} is in use: choose another with --port"
    if exc.errno == errno.EACCES:
        return f"port {port} needs more privileges than this user has: choose one above 1023 with --port"
    return f"cannot listen on {host} port {port} ({exc.strerror or exc}): check --host and --port"


def _listening(server) -> list[tuple[str, int]]:
    """(host, port) pairs a waitress server listens on (port 0 becomes the port the OS chose)."""
    if hasattr(server, "effective_listen"):
        return list(server.effective_listen)
    return [(server.effective_host, server.effective_port)]
