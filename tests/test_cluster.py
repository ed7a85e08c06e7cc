"""A sharded index on a real Dask LocalCluster of worker processes on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

import searchkit
from searchkit import shards
from searchkit.cluster import ClusterError, connect
from searchkit.importer import import_paths

from reliability_support import Client, free_port, run_cli, serving
from shard_support import compare_all, moved_twice_in_one_write, readme_queries

distributed = pytest.importorskip("distributed", reason="the cluster extra: pip install 'searchkit[cluster]'")

SEEDS = str(Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "seeds-2012")  # the 270-article demo of before


@pytest.fixture(scope="module")
def runner():
    runner = connect("local:2")
    try:
        yield runner
    finally:
        runner.close()


@pytest.fixture(scope="module")
def one(tmp_path_factory):
    index = searchkit.open_index(tmp_path_factory.mktemp("one") / "ix", create=True)
    import_paths(index, [SEEDS], procs=1)
    return index


def _sharded(path: Path, runner, count: int = 4, batch: int | None = None) -> shards.ShardedIndex:
    sharded = shards.create(path, count)
    if batch:
        sharded.batch = batch
    runner.for_index(sharded).attach(sharded)
    return sharded


@pytest.fixture(scope="module")
def on_cluster(tmp_path_factory, runner):
    sharded = _sharded(tmp_path_factory.mktemp("sharded") / "ix", runner)
    report = import_paths(sharded, [SEEDS], procs=1)
    assert (report.added, report.failed) == (270, [])
    return sharded


def _pids(runner) -> dict[str, int]:
    return runner.client.run(os.getpid)


def _kill_a_busy_worker(runner, seconds: float = 30) -> bool:
    """SIGKILL a worker process while it runs a task (True), or give up after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        busy = [address for address, tasks in runner.client.processing().items() if tasks]
        if busy:
            pid = _pids(runner).get(busy[0])
            if pid:
                os.kill(pid, signal.SIGKILL)
                return True
        time.sleep(0.005)
    return False


def test_a_cluster_gives_the_results_of_one_index(one, on_cluster):
    queries = readme_queries() + ["isis fighters raqqa", "blogers"]
    compared, mismatches = compare_all(one, on_cluster, queries, [dict(limit=10), dict(limit=10, sort="newest")])
    print(f"\non a LocalCluster: {compared} searches compared, {len(mismatches)} mismatches")
    assert (compared, mismatches) == (2 * len(queries), [])
    assert [h.id for h in searchkit.similar(on_cluster, "globalvoices-316447")] == \
        [h.id for h in searchkit.similar(one, "globalvoices-316447")]
    assert on_cluster.stats()["articles"] == len(on_cluster) == 270


def test_a_search_asks_the_workers_straight_not_through_the_scheduler(one, on_cluster, runner):
    searchkit.search(on_cluster, "activists")  # the first search places a host on each worker
    with distributed.get_task_stream(client=runner.client) as stream:
        result = searchkit.search(on_cluster, "isis fighters raqqa")
    assert not result.partial and [h.id for h in result.hits] == \
        [h.id for h in searchkit.search(one, "isis fighters raqqa").hits]
    assert [t["key"] for t in stream.data] == []  # no task: the hosts answered


def test_each_shard_on_the_workers_is_sent_only_its_own_ids(one, on_cluster):
    """A page's snippets on a cluster: each shard's task gets the ids it holds, through the
    workers' hosts and as Dask tasks alike, and they are one index's snippets."""
    text = "human rights activists"
    hits = searchkit.search(one, text, limit=20).hits
    held = {s: [h.id for h in hits if on_cluster.shard(s).get(h.id) is not None] for s in range(on_cluster.count)}
    assert sum(map(len, held.values())) == len(hits) == 20
    expected = {s: {h.id: (h.fragments, h.title_fragments) for h in hits if h.id in ids} for s, ids in held.items()}
    for create in (False, True):  # create=True goes as Dask tasks, not through the hosts
        answers = on_cluster.runner.map(shards.task_snippets, list(held), shards.PerShard(held), text, 300, True, None,
                                        create=create)
        assert answers == expected, create


def test_a_worker_killed_during_queries_loses_no_answer(one, on_cluster, runner):
    queries = ["activists", "isis fighters raqqa", '"human rights"', "title:china", "parliam*"] * 8
    # the answers before the kill (the same as one index's: see the test above)
    expected = {q: [(h.id, round(h.score, 6)) for h in searchkit.search(on_cluster, q).hits] for q in set(queries)}
    answers, errors = [], []

    def ask() -> None:
        for q in queries:
            try:
                result = searchkit.search(on_cluster, q)
                answers.append((q, result.partial, [(h.id, round(h.score, 6)) for h in result.hits]))
            except Exception as exc:  # noqa: BLE001 - the test reports any
                errors.append(repr(exc))

    thread = threading.Thread(target=ask)
    thread.start()
    while len(answers) < 3 and thread.is_alive():  # searches under way, a call on each worker
        time.sleep(0.001)
    os.kill(next(iter(_pids(runner).values())), signal.SIGKILL)
    killed = thread.is_alive()  # killed while the searches went on
    thread.join(240)
    assert killed and errors == [] and len(answers) == len(queries)
    assert [a for a in answers if a[1] or a[2] != expected[a[0]]] == []  # searched again elsewhere


def _split_seeds(directory: Path, parts: int = 6) -> Path:
    """The seed articles as `parts` JSON lines files plus the plain-text one (several files,
    so that several workers read and extract at once)."""
    directory.mkdir()
    lines = (Path(SEEDS) / "globalvoices-2012-05.jsonl").read_text("utf-8").splitlines(keepends=True)
    for part in range(parts):
        (directory / f"part-{part}.jsonl").write_text("".join(lines[part::parts]), "utf-8")
    with open(directory / "part-0.jsonl", "a", encoding="utf-8") as part:
        part.write("{not json\n")  # a failed record, the same both ways
    (directory / "page.html").write_text("<html><head><title>A page</title></head><body><article><p>"
                                         + "Extracted on a worker. " * 20 + "</p></article></body></html>", "utf-8")
    for text in Path(SEEDS).glob("*.txt"):
        (directory / text.name).write_bytes(text.read_bytes())
    return directory


def test_an_import_reads_and_extracts_on_the_workers_as_one_process_does(tmp_path, runner):
    files = _split_seeds(tmp_path / "files")
    here = shards.create(tmp_path / "here", 4)
    expected = import_paths(here, [str(files)], procs=1)
    sharded = _sharded(tmp_path / "ix", runner)
    with distributed.get_task_stream(client=runner.client) as stream:
        report = import_paths(sharded, [str(files)], procs=1)
    extracted = [t for t in stream.data if "extract_file" in str(t["key"])]
    assert len(extracted) == 8  # every file, each read and extracted by a worker
    assert {t["worker"] for t in extracted} <= set(runner.client.scheduler_info(n_workers=-1)["workers"])
    assert (report.added, report.duplicates, report.failed) == (expected.added, expected.duplicates, expected.failed)
    assert report.added == 271 and len(report.failed) == 1 and "part-0.jsonl:46: invalid JSON" in report.failed[0]
    mine = {a.id: (a.title, a.body, a.cluster, a.source) for a in sharded.articles()}
    theirs = {a.id: (a.title, a.body, a.cluster, a.source) for a in here.articles()}
    assert mine == theirs
    for shard in range(sharded.count):  # each article on the shard its id's cluster hashes to
        assert all(shards.shard_of(a.cluster or a.id, 4) == shard for a in sharded.shard(shard).articles())
    again = import_paths(sharded, [str(files)], procs=1)  # the workers consult the ledger
    assert (again.added, again.updated, again.unchanged, again.failed) == (0, 0, 271, report.failed)


def test_an_import_stopped_inside_a_file_a_worker_read_commits_what_it_took_and_a_rerun_completes(tmp_path, runner):
    files = _split_seeds(tmp_path / "files")
    sharded = _sharded(tmp_path / "ix", runner, batch=10)
    taken = []
    report = import_paths(sharded, [str(files)], procs=1, on_article=taken.append, stop=lambda: len(taken) >= 30)
    assert report.interrupted and len(taken) == 30 == len(sharded)  # Ctrl-C: not the rest of the file
    again = import_paths(sharded, [str(files)], procs=1)
    assert (again.unchanged, again.added, len(sharded)) == (30, 241, 271)


def test_a_worker_killed_during_an_import_loses_nothing_and_a_rerun_completes(tmp_path, runner):
    files = _split_seeds(tmp_path / "files")
    sharded = _sharded(tmp_path / "ix", runner, batch=20)
    failures = []

    def run() -> None:
        try:
            import_paths(sharded, [str(files)], procs=1)
        except searchkit.SearchkitError as exc:
            failures.append(str(exc))

    thread = threading.Thread(target=run)
    thread.start()
    assert _kill_a_busy_worker(runner)
    thread.join(240)
    first = len(sharded)
    assert 0 < first <= 271  # what was committed before and after the kill
    import_paths(sharded, [str(files)], procs=1)  # the same import again finishes the job
    assert len(sharded) == 271
    here = searchkit.open_index(tmp_path / "one", create=True)
    import_paths(here, [str(files)], procs=1)
    assert sorted(a.id for a in sharded.articles()) == sorted(a.id for a in here.articles())
    # A batch committed by the killed worker and written again (by Dask's retry or the rerun)
    # updated its articles in place: their old copies still count in that shard's statistics,
    # as any updated article's do until a merge, so scores may differ from one fresh import in
    # the 4th digit. Reindexed, the shards hold exactly what one import does: same scores.
    sharded.reindex()
    compared, mismatches = compare_all(here, sharded, ["activists", "isis fighters raqqa"], [dict(limit=10)])
    assert compared == 2 and mismatches == []


def test_searches_while_an_import_writes_see_only_committed_states(tmp_path, runner):
    files = _split_seeds(tmp_path / "files")
    sharded = _sharded(tmp_path / "ix", runner, batch=10)
    seen, errors = [], []
    done = threading.Event()

    def search_on() -> None:
        while not done.is_set():
            try:
                result = searchkit.search(sharded, "activists OR fighters", facets=False)
                seen.append((result.total, result.partial))
            except searchkit.SearchkitError as exc:
                errors.append(str(exc))

    thread = threading.Thread(target=search_on)
    thread.start()
    try:
        report = import_paths(sharded, [str(files)], procs=1)
    finally:
        done.set()
        thread.join(120)
    assert report.added == 271 and errors == []
    totals = [total for total, _ in seen]
    assert len(seen) > 3 and not any(partial for _, partial in seen)
    assert totals == sorted(totals)  # never an older state after a newer one
    assert totals[-1] <= searchkit.search(sharded, "activists OR fighters").total


def test_an_article_that_moves_twice_in_one_write_counts_as_in_one_index_on_a_cluster(tmp_path, runner):
    """The moves' removals run as tasks on the workers (ShardWriter._send), counted when settled."""
    one = moved_twice_in_one_write(searchkit.open_index(tmp_path / "one", create=True))
    sharded = _sharded(tmp_path / "ix", runner)
    assert moved_twice_in_one_write(sharded) == one == (0, 2, 1, 3)
    assert [s for s in range(4) if sharded.shard(s).get("a1")] == [shards.shard_of("story-9", 4)]


def test_a_shard_pinned_to_an_absent_worker_is_reported_missing(one, tmp_path, runner):
    sharded = shards.create(tmp_path / "ix", 2)
    import_paths(sharded, [SEEDS], procs=1)
    manifest = json.loads((tmp_path / "ix" / "shards.json").read_text())
    manifest["shards"][1]["worker"] = "no-such-worker"
    (tmp_path / "ix" / "shards.json").write_text(json.dumps(manifest))
    pinned = shards.open_sharded(tmp_path / "ix")
    runner.for_index(pinned).attach(pinned)
    result = searchkit.search(pinned, "activists")
    assert result.partial and result.missing == ["shard-001 (on no-such-worker)"]
    assert 0 < result.total < searchkit.search(one, "activists").total


def test_a_scheduler_that_cannot_be_reached_is_one_line_naming_it(tmp_path):
    port = free_port()
    shards.create(tmp_path / "ix", 2)
    done = run_cli("--index", str(tmp_path / "ix"), "--cluster", f"tcp://127.0.0.1:{port}", "query", "x",
                   env={"SEARCHKIT_CONNECT_TIMEOUT": "2"})
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"Error: cannot reach the Dask scheduler at tcp://127.0.0.1:{port} (")
    assert len(done.stderr.strip().splitlines()) == 1
    with pytest.raises(ClusterError, match="give a Dask scheduler address"):
        connect("scheduler.example.org")


def test_serve_on_a_local_cluster_answers_the_page_and_the_api(one, on_cluster):
    with serving(on_cluster.path, env={"SEARCHKIT_CLUSTER": "local:2"}) as (host, port, _):
        client = Client(host, port)
        try:
            status, _, page = client.request("GET", "/search?q=isis+fighters+raqqa")
            assert status == 200 and "Britain and allies do deal with <mark>ISIS</mark>" in page
            status, _, body = client.request("GET", "/api/search?q=activists&limit=5")
        finally:
            client.close()
    data = json.loads(body)
    expected = searchkit.search(one, "activists", limit=5)
    assert status == 200 and data["total"] == expected.total
    assert [h["id"] for h in data["hits"]] == [h.id for h in expected.hits]
    assert "partial" not in data
