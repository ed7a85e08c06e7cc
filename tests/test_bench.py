"""The benchmark code on a tiny corpus, so `make bench` cannot silently rot.

No timing is asserted here: only that the generator is reproducible, that the query file has
every kind, that each engine runs and answers the same queries, and that the report has every
column. (tantivy is a bench-only peer: its test runs where bench/.venv installed it.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import corpus, queries, report, run
from bench.engines import make
from searchkit.engine.schema import NewsPositions, news_analyzer

NEWS_LARGE = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "news-large" / "articles.jsonl.gz"
PEERS_IN_TEST_VENV = ["searchkit", "fts5-and", "fts5-or", "whoosh"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """60 generated articles (pool of 400 real headlines) as a JSON-lines file."""
    path = tmp_path_factory.mktemp("corpus") / "tiny.jsonl"
    with open(path, "w", encoding="utf-8") as out:
        for article in corpus.generate(60, source=NEWS_LARGE, pool_size=400):
            out.write(json.dumps(article) + "\n")
    return path


def test_generator_is_seeded_keeps_real_metadata_and_sizes_are_prefixes():
    small = list(corpus.generate(5, source=NEWS_LARGE, pool_size=400))
    larger = list(corpus.generate(12, source=NEWS_LARGE, pool_size=400))
    assert small == larger[:5]
    real = list(corpus.read_records(NEWS_LARGE, 12))
    for made, record in zip(larger, real):
        assert (made["id"], made["title"], made["published"], made["source"], made["url"]) == (
            record["id"], record["title"], record.get("published"), record["source"], record["url"])
        assert corpus.MIN_CHARS <= len(made["body"]) <= corpus.MAX_CHARS + 1000
        assert made["body"].count("\n\n") >= 1
    other_seed = list(corpus.generate(5, seed=9, source=NEWS_LARGE, pool_size=400))
    assert [a["body"] for a in other_seed] != [a["body"] for a in small]


def test_query_file_has_every_kind_and_is_reproducible(tiny, tmp_path):
    records = list(corpus.read_records(tiny))
    drawn = queries.draw(records)
    assert drawn == queries.draw(records)
    counts = {kind: sum(1 for q in drawn if q.kind == kind) for kind in queries.KINDS}
    assert counts == {kind: n for kind, (_, n) in queries.KINDS.items()}
    assert len(drawn) == 320
    assert all(len(q.words) == queries.KINDS[q.kind][0] for q in drawn)
    phrase = next(q for q in drawn if q.kind == "phrase")
    assert phrase.text == '"' + " ".join(phrase.words) + '"'
    assert all(q.since and q.until and q.since <= q.until for q in drawn if q.kind == "dates")
    assert all(q.source == "Reuters" for q in drawn if q.kind == "source")
    queries.write(drawn, tmp_path / "q.jsonl")
    assert queries.load(tmp_path / "q.jsonl") == drawn


def _answers(name: str, tiny: Path, tmp_path: Path, drawn) -> dict[str, list[str]]:
    engine = make(name)
    assert engine.build(tiny, tmp_path / name, procs=1) == 60
    engine.open(tmp_path / name)
    try:
        return {q.qid: [doc_id for doc_id, _ in engine.search(q)] for q in drawn}
    finally:
        engine.close()


def test_every_engine_answers_the_same_single_word_queries(tiny, tmp_path):
    drawn = [q for q in queries.draw(list(corpus.read_records(tiny))) if q.kind in ("words1", "phrase")]
    ids = {r["id"] for r in corpus.read_records(tiny)}
    for name in PEERS_IN_TEST_VENV:
        answers = _answers(name, tiny, tmp_path, drawn)
        words1 = [q for q in drawn if q.kind == "words1"]
        # Words drawn from titles and bodies: every engine finds at least one article for each.
        assert all(answers[q.qid] for q in words1), name
        assert all(len(hits) <= 10 and set(hits) <= ids for hits in answers.values()), name


def test_tantivy_answers_the_same_single_word_queries(tiny, tmp_path):
    drawn = [q for q in queries.draw(list(corpus.read_records(tiny))) if q.kind == "words1"]
    answers = _answers("tantivy", tiny, tmp_path, drawn)
    assert all(answers[q.qid] for q in drawn)


def test_fast_format_writes_the_same_postings_as_whoosh_positions():
    from whoosh.formats import Positions

    analyzer = news_analyzer()
    text = "The Bank of England's U.S.-backed 4,000 fighters, the fighters\u2019 fight; ISIS's \u201chuge\u201d don\u2019t"
    slow = list(Positions(field_boost=2.5).word_values(text, analyzer, mode="index"))
    fast = list(NewsPositions(field_boost=2.5).word_values(text, analyzer, mode="index"))
    assert fast == slow
    assert [w for w, *_ in fast] == ["bank", "england", "us", "back", "4000", "fighter", "fight", "isi", "huge"]


def test_run_writes_json_and_a_table_with_every_column(tiny, tmp_path):
    run.main(["--sizes", str(tiny), "--engines", ",".join(PEERS_IN_TEST_VENV), "--single-docs", "20",
              "--cold-runs", "1", "--web-queries", "3", "--results", str(tmp_path / "results"),
              "--work", str(tmp_path / "work")])
    result = json.loads((tmp_path / "results" / "tiny.json").read_text())
    assert sorted(result["engines"]) == sorted(PEERS_IN_TEST_VENV)
    assert result["articles"] == 60 and result["queries"] == 320
    assert {"cpu", "cores", "python"} <= set(result["machine"])
    rows = report.table(result)
    assert rows[0] == ["metric", "searchkit", "fts5-and", "fts5-or", "whoosh",
                       "sk/fts5-and", "sk/fts5-or", "sk/whoosh"]
    assert [r[0] for r in rows[1:]] == report.COLUMNS
    searchkit_column = [r[1] for r in rows[1:]]
    assert "-" not in searchkit_column  # every figure measured, web /search included
    for engine in PEERS_IN_TEST_VENV:
        assert set(result["engines"][engine]["results"]) == {f"q{n:03d}" for n in range(1, 321)}
    # Two sizes make a growth table with an exponent per figure.
    bigger = json.loads(json.dumps(result))
    bigger["articles"] = 600
    text = report.growth([result, bigger])
    assert "searchkit" in text and "p50 ms" in text


def test_fit_exponent_recovers_a_power_law():
    sizes = [1e4, 3e4, 1e5, 1e6]
    assert report.fit_exponent(sizes, [2 * s ** 0.5 for s in sizes]) == pytest.approx(0.5)
    assert report.fit_exponent(sizes, [7.0] * 4) == pytest.approx(0.0)
    assert report.fit_exponent([1e4], [1.0]) is None


def test_corpus_cache_is_keyed_by_size_and_seed_and_cuts_small_sizes_from_larger(tmp_path):
    made = corpus.ensure_corpus(12, directory=tmp_path, source=NEWS_LARGE, pool_size=400)
    assert made == corpus.corpus_path(12, directory=tmp_path)
    stamp = made.stat().st_mtime_ns
    assert corpus.ensure_corpus(12, directory=tmp_path, source=NEWS_LARGE, pool_size=400) == made
    assert made.stat().st_mtime_ns == stamp  # reused, not written again
    cut = corpus.ensure_corpus(5, directory=tmp_path, source=NEWS_LARGE, pool_size=400)
    assert list(corpus.read_records(cut)) == list(corpus.generate(5, source=NEWS_LARGE, pool_size=400))
    assert run.count_records(cut) == 5 and run.count_records(made) == 12
    assert not list(tmp_path.glob("*.tmp"))


def _run(tiny: Path, tmp_path: Path, *extra: str, engines: str = "fts5-and,fts5-or") -> dict:
    args = ["--sizes", str(tiny), "--engines", engines, "--single-docs", "20", "--cold-runs", "1",
            "--results", str(tmp_path / "results"), "--work", str(tmp_path / "work"), *extra]
    run.main(args)
    return json.loads((tmp_path / "results" / "tiny.json").read_text())


def test_whoosh_above_the_cap_is_skipped_and_the_table_says_so(tiny, tmp_path, capsys):
    result = _run(tiny, tmp_path, "--whoosh-max", "10", engines="fts5-and,whoosh")
    assert list(result["engines"]) == ["fts5-and"]
    assert "--whoosh-max 10" in result["skipped"]["whoosh"]
    assert any(line.startswith("whoosh: not run") for line in report.notes(result))
    assert "whoosh: not run" in capsys.readouterr().out
    # Phase timings are kept for budgeting a long run; the index is gone after the run.
    assert {"corpus", "prefix", "total"} <= set(result["phase_seconds"])
    assert "build" in result["engines"]["fts5-and"]["phase_seconds"]
    assert not list((tmp_path / "work").glob(f"{tiny.name}-*"))


def test_resume_keeps_complete_entries_and_the_table_labels_them(tiny, tmp_path, capsys):
    first = _run(tiny, tmp_path)
    again = _run(tiny, tmp_path, "--resume", engines="fts5-and,fts5-or,whoosh")
    for name in ("fts5-and", "fts5-or"):
        assert again["engines"][name]["reused"]["by"] == "--resume"
        assert again["engines"][name]["serve"] == first["engines"][name]["serve"]
    assert "reused" not in again["engines"]["whoosh"] and "serve" in again["engines"]["whoosh"]
    assert "fts5-and: REUSED, not measured in this run (--resume)" in capsys.readouterr().out


def test_reuse_peers_copies_only_peers_measured_today(tiny, tmp_path):
    _run(tiny, tmp_path / "peers")
    fresh = _run(tiny, tmp_path / "final", "--reuse-peers", str(tmp_path / "peers" / "results"))
    assert fresh["engines"]["fts5-or"]["reused"]["by"] == "--reuse-peers"
    stale = json.loads((tmp_path / "peers" / "results" / "tiny.json").read_text())
    for entry in stale["engines"].values():
        entry["measured"] = "2001-01-01T00:00:00+00:00"
    (tmp_path / "peers" / "results" / "tiny.json").write_text(json.dumps(stale))
    measured = _run(tiny, tmp_path / "final2", "--reuse-peers", str(tmp_path / "peers" / "results"))
    assert all("reused" not in e for e in measured["engines"].values())


def test_a_failed_measurement_is_recorded_and_the_run_goes_on(tiny, tmp_path, capsys):
    with pytest.raises(SystemExit, match="failed measurements"):
        _run(tiny, tmp_path, "--worker-timeout", "0.01")
    result = json.loads((tmp_path / "results" / "tiny.json").read_text())  # saved all the same
    assert set(result["engines"]) == {"fts5-and", "fts5-or"}
    assert "ran past --worker-timeout" in result["engines"]["fts5-and"]["failed"]
    assert "fts5 build failed" in result["engines"]["fts5-or"]["failed"]
    assert any("FAILED" in line for line in report.notes(result))
    rows = report.table(result)
    assert rows[1][1] == "-"
    assert not list((tmp_path / "work").glob(f"{tiny.name}-*"))
