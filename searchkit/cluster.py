"""Run a sharded index's work on a Dask cluster (the `searchkit[cluster]` extra).

    runner = connect("tcp://scheduler.example.org:8786")   # an existing cluster
    runner = connect("local:4")                            # a LocalCluster of 4 processes here
    sharded.use(runner)                                    # shards.ShardedIndex
    search(sharded, "raqqa")                               # every shard searched on a worker
    import_paths(sharded, ["news/"])                       # files read and extracted on the workers,
                                                           # each shard's batches written on one
    runner.close()

Dask does the scheduling, the data transfer, the retries and the deployment (SSH, SLURM
through dask-jobqueue, Kubernetes, ...); searchkit adds what is search-specific (shards.py).
A shard's task runs on any worker (a shared filesystem), or only on the worker the manifest
pins it to (disks local to each worker). Searches go to a ShardHost actor on each worker,
which keeps its shards open and is called straight on its worker (one round trip, not
through the scheduler); writes, and any call whose host is lost, go as Dask tasks. A worker that dies while it holds a task: Dask
runs the task again on another one; a shard no worker answers for within SHARD_TIMEOUT
seconds, or that fails there, is reported missing (shards.ShardFailure), not fatal.
"""

from __future__ import annotations

import functools
import os
import re
from collections import deque
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from .errors import SearchkitError
from .shards import ShardedIndex, ShardFailure, for_shard, map_merged_in_turn

# Seconds a search waits for a shard's answer before leaving it out (env SEARCHKIT_SHARD_TIMEOUT).
SHARD_TIMEOUT = 30.0
# Seconds to reach a scheduler before saying it cannot be reached.
CONNECT_TIMEOUT = 10.0
# Files out on the workers per worker during an import (read and extracted while the
# importing process takes in the ones before).
EXTRACT_AHEAD = 2
_LOCAL = re.compile(r"^local(?::(\d+))?$")


class ClusterError(SearchkitError):
    """The cluster cannot be used (a scheduler out of reach, distributed not installed)."""


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ClusterError("--cluster needs Dask distributed: pip install 'searchkit[cluster]'") from None
    return distributed


def _dask():
    import dask  # installed with distributed

    return dask


@functools.lru_cache(maxsize=256)
def _open_on_worker(path: str, create: bool, lock_timeout: float):
    """A worker's Index for a shard, opened once and kept (its searcher and arrays stay warm)."""
    from .store import open_index

    return open_index(path, create=create, lock_timeout=lock_timeout)


def run_on_shard(task: Callable[..., Any], path: str, create: bool, lock_timeout: float, *args: Any) -> Any:
    """What a worker runs: `task` on the shard at `path` (errors travel back as ShardFailure
    reasons; the worker itself never fails for a shard's fault)."""
    return task(_open_on_worker(path, create, lock_timeout), *args)


def run_on_shard_after(task: Callable[..., Any], path: str, create: bool, lock_timeout: float, after: Any,
                       *args: Any) -> Any:
    """run_on_shard once `after` (the shard's previous task, a future Dask resolves first) is done."""
    return task(_open_on_worker(path, create, lock_timeout), *args)


def run_on_shard_or_failure(task: Callable[..., Any], shard: int, path: str, lock_timeout: float,
                            *args: Any) -> Any:
    """run_on_shard, with the shard's own failure as a ShardFailure answer (a first step of
    map_merged: the shards after it go on without it)."""
    try:
        return task(_open_on_worker(path, False, lock_timeout), *args)
    except (SearchkitError, OSError) as exc:
        return ShardFailure(shard, str(exc))


def run_on_shard_merged(task: Callable[..., Any], path: str, lock_timeout: float, merge: Callable[[list], Any],
                        answers: list, *args: Any) -> Any:
    """task(the shard's Index, merge(the first step's answers, failures left out), *args)."""
    merged = merge([a for a in answers if not isinstance(a, ShardFailure)])
    return task(_open_on_worker(path, False, lock_timeout), merged, *args)


class ShardHost:
    """A worker's searchkit, as a Dask Actor: runs shard tasks on the shards it is given, in
    the worker's process (shards opened once and kept warm, _open_on_worker). The client
    calls it straight on its worker, not through the scheduler: a query's round trip."""

    def run(self, task: Callable[..., Any], shards: list[tuple[int, str]], lock_timeout: float,
            *args: Any) -> dict[int, Any]:
        out: dict[int, Any] = {}
        for shard, path in shards:
            try:
                out[shard] = task(_open_on_worker(path, False, lock_timeout), *for_shard(args, shard))
            except (SearchkitError, OSError) as exc:
                out[shard] = ShardFailure(shard, str(exc))
        return out


class DaskRunner:
    """shards.Runner on a Dask cluster: each shard's task a Dask task, all shards at once."""

    def __init__(self, client, address: str, cluster=None, timeout: float | None = None) -> None:
        self.client = client
        self.address = address
        self.cluster = cluster  # a LocalCluster this runner started (closed with it)
        self.timeout = timeout if timeout is not None else float(os.environ.get("SEARCHKIT_SHARD_TIMEOUT",
                                                                                 SHARD_TIMEOUT))
        self.sharded: ShardedIndex | None = None
        self.owner = True
        self.hosts: list[tuple[str, str, Any]] | None = None  # (address, name, ShardHost actor) a worker

    def attach(self, sharded: ShardedIndex) -> None:
        self.sharded = sharded
        sharded.use(self)

    def _placement(self, shard: int) -> dict:
        spec = self.sharded.manifest.shards[shard]
        if spec.worker:
            return {"workers": [spec.worker], "allow_other_workers": False}
        return {}

    def submit(self, task: Callable[..., Any], shard: int, *args: Any, create: bool = False):
        """A future of task(shard's Index, *args) on a worker that can reach the shard."""
        path = str(self.sharded.shard_path(shard))
        return self.client.submit(run_on_shard, task, path, create, self.sharded.lock_timeout, *args,
                                  pure=False, **self._placement(shard))

    def submit_after(self, task: Callable[..., Any], shard: int, after, *args: Any, create: bool = False):
        """submit(), run only after the future `after` (None: at once): a shard's writes in order."""
        path = str(self.sharded.shard_path(shard))
        return self.client.submit(run_on_shard_after, task, path, create, self.sharded.lock_timeout, after,
                                  *args, pure=False, **self._placement(shard))

    def outcome(self, future) -> Any:
        """A submitted task's result; its failure as SearchkitError."""
        try:
            return future.result()
        except SearchkitError:
            raise
        except Exception as exc:  # noqa: BLE001 - a worker lost too often (KilledWorker) and the like
            raise SearchkitError(f"{type(exc).__name__}: {exc}") from None

    def extract_files(self, files: Sequence[str | Path], fmt: str, options, ledger: Path | None
                      ) -> Iterator[list | None]:
        """For each of `files` in order, what importer.extract_file gave for it on a worker
        (None: the importing process reads it itself). A few files per worker are out at a
        time, so the workers extract while this process deduplicates and routes."""
        from .importer import extract_file

        window = max(2, EXTRACT_AHEAD * self.workers())
        out: deque = deque()
        pending = iter(files)
        try:
            while True:
                while len(out) < window:
                    path = next(pending, None)
                    if path is None:
                        break
                    remote = isinstance(path, Path)  # stdin and URLs are this process's
                    out.append(self.client.submit(extract_file, path, fmt, options, ledger, pure=False)
                               if remote else None)
                if not out:
                    return
                future = out.popleft()
                try:
                    extracted = None if future is None else self.outcome(future)
                except SearchkitError:  # its workers died under it: read it here instead
                    extracted = None
                yield extracted
        finally:
            for future in out:
                if future is not None:
                    future.cancel()

    def map(self, task: Callable[..., Any], shards: Sequence[int], *args: Any, create: bool = False
            ) -> dict[int, Any]:
        """Each shard's task on a worker: through the workers' ShardHosts (one direct call a
        worker, its shards one after another there), or, to make a shard, when a host is
        lost or a pinned shard has none, as a Dask task (which Dask runs again elsewhere if
        its worker dies)."""
        hosts = None if create else self._hosts()
        if not hosts:
            return self._tasks(task, shards, *args, create=create)
        groups: dict[int, list[int]] = {}
        rest: list[int] = []
        for shard in shards:
            host = self._host_of(shard, hosts)
            (rest if host is None else groups.setdefault(host, [])).append(shard)
        calls = {h: hosts[h][2].run(task, [(s, str(self.sharded.shard_path(s))) for s in group],
                                    self.sharded.lock_timeout, *args)
                 for h, group in groups.items()}
        out: dict[int, Any] = {}
        for host, call in calls.items():
            try:
                out.update(call.result(timeout=self.timeout))
            except ValueError:  # a bad query or date: the user's, not the shard's
                raise
            except TimeoutError:
                out.update({s: ShardFailure(s, f"no answer within {self.timeout:g} s") for s in groups[host]})
            except Exception:  # noqa: BLE001 - its worker lost: Dask tasks instead, new hosts next time
                self.hosts = None
                rest += groups[host]
        if rest:
            out.update(self._tasks(task, rest, *args))
        return out

    def _hosts(self) -> list[tuple[str, str, Any]]:
        """One ShardHost actor on each worker (made at the first use, again after one is lost)."""
        if self.hosts is None:
            try:
                workers = self.client.scheduler_info(n_workers=-1).get("workers", {})
                made = [(address, str(info.get("name")),
                         self.client.submit(ShardHost, actor=True, workers=[address], allow_other_workers=False,
                                            pure=False))
                        for address, info in sorted(workers.items())]
                self.hosts = [(address, name, future.result(timeout=self.timeout))
                              for address, name, future in made] or None  # no worker yet: ask again next time
            except Exception:  # noqa: BLE001 - no hosts now: tasks do the work
                return []
        return self.hosts or []

    def _host_of(self, shard: int, hosts: list[tuple[str, str, Any]]) -> int | None:
        """The host that runs `shard`: its pinned worker's (None if that worker is not in the
        cluster), else one in turn (shards on a shared filesystem)."""
        pinned = self.sharded.manifest.shards[shard].worker
        if not pinned:
            return shard % len(hosts)
        for i, (address, name, _) in enumerate(hosts):
            if pinned in (address, name) or pinned == address.split("://")[-1].rsplit(":", 1)[0]:
                return i
        return None

    def _tasks(self, task: Callable[..., Any], shards: Sequence[int], *args: Any, create: bool = False
               ) -> dict[int, Any]:
        missing = self._unplaceable(shards)
        futures = {s: self.submit(task, s, *for_shard(args, s), create=create) for s in shards if s not in missing}
        out: dict[int, Any] = {s: ShardFailure(s, reason) for s, reason in missing.items()}
        out.update(self._collect(futures))
        return out

    def map_merged(self, first: Callable[..., Any], first_args: tuple, merge: Callable[[list], Any],
                   task: Callable[..., Any], shards: Sequence[int], *args: Any) -> dict[int, Any]:
        """shards.Runner.map_merged: two direct calls to the hosts (first, merged here, then
        task); without hosts, one submission of Dask tasks where each shard's `task` waits on
        every shard's `first` and merges their answers itself."""
        if self._hosts():
            return map_merged_in_turn(self, first, first_args, merge, task, shards, *args)
        missing = self._unplaceable(shards)
        placed = [s for s in shards if s not in missing]
        firsts = {s: self.client.submit(run_on_shard_or_failure, first, s, str(self.sharded.shard_path(s)),
                                        self.sharded.lock_timeout, *first_args, pure=False, **self._placement(s))
                  for s in placed}
        answers = list(firsts.values())
        thens = {s: self.client.submit(run_on_shard_merged, task, str(self.sharded.shard_path(s)),
                                       self.sharded.lock_timeout, merge, answers, *for_shard(args, s), pure=False,
                                       **self._placement(s))
                 for s in placed}
        out: dict[int, Any] = {s: ShardFailure(s, reason) for s, reason in missing.items()}
        out.update(self._collect(thens, firsts))
        return out

    def _collect(self, futures: dict, before: dict | None = None) -> dict[int, Any]:
        """{shard: its future's result or a ShardFailure}, waiting up to the timeout; with
        `before` (the shards' first step, map_merged), a shard whose first step failed is
        that failure."""
        distributed = _distributed()
        if not futures:
            return {}
        done, _ = distributed.wait(list(futures.values()), timeout=self.timeout)
        # The results in one gather (every worker asked at once), not one round trip a shard.
        finished = [f for f in futures.values() if f in done and f.status == "finished"]
        finished += [f for f in (before or {}).values() if f.status == "finished"]
        try:
            gathered = dict(zip(finished, self.client.gather(finished))) if finished else {}
        except Exception:  # noqa: BLE001 - a worker lost meanwhile: each is asked on its own below
            gathered = {}
        out: dict[int, Any] = {}
        for shard, future in futures.items():
            earlier = gathered.get((before or {}).get(shard))
            if isinstance(earlier, ShardFailure):
                out[shard] = earlier
                continue
            if future not in done:
                future.cancel()
                out[shard] = ShardFailure(shard, f"no answer within {self.timeout:g} s")
                continue
            if future in gathered:
                out[shard] = gathered[future]
                continue
            try:
                out[shard] = future.result()
            except (SearchkitError, OSError) as exc:
                out[shard] = ShardFailure(shard, str(exc))
            except distributed.client.FutureCancelledError as exc:
                out[shard] = ShardFailure(shard, f"cancelled ({exc})")
            except Exception as exc:  # noqa: BLE001 - a worker lost too often (KilledWorker) and the like
                if isinstance(exc, ValueError):  # a bad query or date: the user's, not the shard's
                    raise
                out[shard] = ShardFailure(shard, f"{type(exc).__name__}: {exc}")
        return out

    def _unplaceable(self, shards: Sequence[int]) -> dict[int, str]:
        """Shards pinned to a worker that is not in the cluster now: {shard: why}."""
        pinned = {s: self.sharded.manifest.shards[s].worker for s in shards
                  if self.sharded.manifest.shards[s].worker}
        if not pinned:
            return {}
        workers = self.client.scheduler_info(n_workers=-1).get("workers", {})
        known = set(workers) | {w.get("name") for w in workers.values()} | {str(w.get("name")) for w in workers.values()}
        known |= {w.get("host") for w in workers.values()}
        return {s: f"its worker {name} is not in the cluster" for s, name in pinned.items() if name not in known}

    def for_index(self, sharded: ShardedIndex) -> "DaskRunner":
        runner = DaskRunner(self.client, self.address, None, self.timeout)
        runner.sharded = sharded
        runner.owner = False
        runner.hosts = self.hosts
        return runner

    def workers(self) -> int:
        return len(self.client.scheduler_info(n_workers=-1).get("workers", {}))

    def close(self) -> None:
        if not self.owner:  # a for_index() runner borrows its client
            return
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def connect(address: str, timeout: float | None = None) -> DaskRunner:
    """A DaskRunner on the scheduler at `address` (tcp://host:port, or tls://...), or on a new
    LocalCluster of N worker processes on 127.0.0.1 for `local:N` (N defaults to the cores).
    Raises ClusterError, one line naming the address, when the scheduler cannot be reached."""
    distributed = _distributed()
    address = address.strip()
    if timeout is None:
        timeout = float(os.environ.get("SEARCHKIT_CONNECT_TIMEOUT", CONNECT_TIMEOUT))
    local = _LOCAL.match(address)
    if local:
        workers = int(local.group(1) or os.cpu_count() or 1)
        if not 1 <= workers <= 256:
            raise ClusterError(f"--cluster {address}: give local:N with N from 1 to 256 worker processes")
        try:
            # The scheduler always serves HTTP (metrics); on loopback and a free port, never 0.0.0.0:8787.
            # Its workers do without the dashboard's statistical profiler (a thread sampling every
            # task's stack every 10 ms, for a dashboard nobody opens here).
            with _dask().config.set({"distributed.worker.profile.enabled": False}):
                cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                   host="127.0.0.1", scheduler_port=0,
                                                   dashboard_address="127.0.0.1:0")
            client = distributed.Client(cluster)
        except (OSError, RuntimeError) as exc:
            raise ClusterError(f"cannot start a local Dask cluster of {workers} workers ({exc})") from None
        return DaskRunner(client, address, cluster)
    if "://" not in address:
        raise ClusterError(f"--cluster {address!r}: give a Dask scheduler address such as "
                           "tcp://scheduler.example.org:8786, or local:N")
    try:
        client = distributed.Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ClusterError(f"cannot reach the Dask scheduler at {address} ({reason}): check that "
                           "`dask scheduler` runs there and the port is open") from None
    return DaskRunner(client, address)


__all__ = ["DaskRunner", "ClusterError", "connect", "SHARD_TIMEOUT"]
