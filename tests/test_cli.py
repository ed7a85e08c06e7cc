import json

from searchkit.cli import main


def run(runner, index_path, *args, input=None):
    return runner.invoke(main, ["--index", str(index_path), *args], input=input)


def test_import_then_query_text_output(runner, index_path, corpus_file):
    result = run(runner, index_path, "import", str(corpus_file))
    assert (result.exit_code, result.output) == (0, "4 added, 0 updated, 0 duplicates, 0 failed\n")
    result = run(runner, index_path, "query", "fighter convoy", "--limit", "1")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].startswith("2 results, showing 1-1 (page 1 of 2, ")
    assert lines[1:] == [
        "",
        "1. Fighters escape Raqqa in secret deal",
        "   Daily Planet · 2017-11-14 · https://planet.example/raqqa",
        "   Thousands of ISIS fighters left Raqqa in a convoy. The coalition watched from the air.",
    ]


def test_query_json_jsonl_and_trec(runner, index_path, corpus_file):
    run(runner, index_path, "import", str(corpus_file))
    data = json.loads(run(runner, index_path, "query", "raqqa", "--format", "json").output)
    assert [h["id"] for h in data["hits"]] == ["raqqa", "budget"]
    assert set(data["hits"][0]) == {"rank", "id", "url", "title", "source", "author", "published", "score", "snippet",
                                     "cluster", "cluster_size"}
    lines = run(runner, index_path, "query", "raqqa", "--format", "jsonl").output.splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["raqqa", "budget"]
    trec = run(runner, index_path, "query", "raqqa", "--format", "trec").output.splitlines()
    assert [line.split()[:4] for line in trec] == [["1", "Q0", "raqqa", "1"], ["1", "Q0", "budget", "2"]]
    assert all(line.endswith(" searchkit") for line in trec)


def test_queries_file_runs_all_in_one_process(runner, index_path, corpus_file, tmp_path):
    run(runner, index_path, "import", str(corpus_file))
    queries = tmp_path / "q.tsv"
    queries.write_text("7\tmosul\n8\tbudget vote\n9\tthe\n", "utf-8")
    result = run(runner, index_path, "query", "--queries", str(queries), "--format", "trec")
    assert [line.split()[:3] for line in result.output.splitlines() if "Q0" in line] == [
        ["7", "Q0", "mosul"], ["8", "Q0", "budget"]]
    assert "query 9: nothing to search for" in result.output


def test_errors_are_one_line_without_traceback(runner, index_path, tmp_path):
    result = run(runner, index_path, "query", "anything")
    assert result.exit_code == 1
    assert result.output == (f"Error: no index at {index_path}: create one with `searchkit import PATH` "
                             "(or point --index / SEARCHKIT_INDEX at an existing one)\n")
    result = run(runner, index_path, "query", "")
    assert result.exit_code == 2
    assert 'empty query: give some words, e.g. searchkit query "isis raqqa"' in result.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "fine", "body": "ok"}\nnot json\n', "utf-8")
    result = run(runner, index_path, "import", str(bad))
    assert result.exit_code == 1
    assert result.output == (f"failed: {bad}:2: invalid JSON (Expecting value at column 1)\n"
                             "1 added, 0 updated, 0 duplicates, 1 failed\n")


def test_unbalanced_quote_notice_in_terminal(runner, index_path, corpus_file):
    run(runner, index_path, "import", str(corpus_file))
    result = run(runner, index_path, "query", '"secret deal')
    assert result.exit_code == 0
    assert result.output.startswith("note: unbalanced quote: searched for the words without it\n1 results")


def test_stats_export_delete_reindex(runner, index_path, corpus_file):
    run(runner, index_path, "import", str(corpus_file))
    info = json.loads(run(runner, index_path, "stats", "--format", "json").output)
    assert (info["articles"], info["schema"]) == (4, 3)
    assert info["sources"] == {"Daily Planet": 2, "Gazette": 1, "Sports Desk": 1}
    text = run(runner, index_path, "stats").output
    assert text.startswith("4 articles\nsources: 3\n")
    exported = [json.loads(line) for line in run(runner, index_path, "export").output.splitlines()]
    assert sorted(a["id"] for a in exported) == ["boxer", "budget", "mosul", "raqqa"]
    csv_out = run(runner, index_path, "export", "--format", "csv", "--query", "mosul").output.splitlines()
    assert csv_out[0] == "id,url,title,body,source,author,published,language,tags,license,imported,origin,cluster"
    assert csv_out[1].startswith("mosul,,Battle for Mosul ends,")
    assert run(runner, index_path, "delete", "mosul").output == "deleted 1 articles\n"
    result = run(runner, index_path, "delete", "mosul")
    assert (result.exit_code, result.output) == (1, "deleted 0 articles\nError: not in the index: mosul\n")
    assert run(runner, index_path, "reindex").output == "reindexed 3 articles\n"


def test_extract_prints_fields_without_an_index(runner, index_path, corpus_file):
    result = run(runner, index_path, "extract", str(corpus_file), "--format", "jsonl")
    records = [json.loads(line) for line in result.output.splitlines()]
    assert [r["id"] for r in records] == ["raqqa", "mosul", "boxer", "budget"]
    assert records[0]["origin"] == {"path": str(corpus_file), "format": "jsonl", "line": "1",
                                    "extractor": "searchkit.jsonl"}
    assert not index_path.exists()
