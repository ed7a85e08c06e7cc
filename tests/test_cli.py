import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from searchkit.cli import main

ROOT = Path(__file__).resolve().parent.parent


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
    assert result.output.startswith("note: unbalanced quote: searched for the words without it\n1 result,")


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
    assert run(runner, index_path, "delete", "mosul").output == "deleted 1 article\n"
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


def test_global_options_work_after_the_command_too(runner, index_path, corpus_file, tmp_path):
    result = runner.invoke(main, ["import", str(corpus_file), "--index", str(index_path), "--lock-timeout", "5"])
    assert (result.exit_code, result.output) == (0, "4 added, 0 updated, 0 duplicates, 0 failed\n")
    result = runner.invoke(main, ["query", "convoy", "--index", str(index_path), "--format", "jsonl"])
    assert [json.loads(line)["id"] for line in result.output.splitlines()] == ["raqqa"]
    # After the command wins over before it (and over SEARCHKIT_INDEX).
    result = runner.invoke(main, ["--index", str(tmp_path / "elsewhere"), "stats", "--index", str(index_path)],
                           env={"SEARCHKIT_INDEX": str(tmp_path / "other")})
    assert (result.exit_code, result.output.splitlines()[0]) == (0, "4 articles")
    result = runner.invoke(main, ["stats", "--lock-timeout", "-1", "--index", str(index_path)])
    assert result.exit_code == 2 and "Invalid value for '--lock-timeout'" in result.output


def test_counts_of_one_read_in_the_singular(runner, index_path, tmp_path):
    from searchkit.cli import _progress_line
    from searchkit.importer import Progress

    story = {"title": "Quokka festival opens", "source": "Island Post", "published": "2020-02-01T10:00:00+00:00",
             "body": "The quokka festival opened on Rottnest Island with a parade of rangers and families. " * 4}
    records = [{"id": "quokka-1", **story}, {"id": "quokka-copy", **story}]  # a copy: a duplicate
    path = tmp_path / "one.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    assert run(runner, index_path, "import", str(path)).output == "2 added, 0 updated, 1 duplicate, 0 failed\n"
    lines = run(runner, index_path, "query", "quokka festival").output.splitlines()
    assert lines[0].startswith("1 result, showing 1-1 (page 1 of 1, ")
    assert lines[4] == "   (and 1 similar article)"
    assert run(runner, index_path, "delete", "quokka-copy").output == "deleted 1 article\n"
    assert run(runner, index_path, "stats").output.splitlines()[0] == "1 article"
    assert run(runner, index_path, "reindex").output == "reindexed 1 article\n"
    assert _progress_line(Progress(0, 1, 1, 1.0)) == "[--------------------] 0/1 file · 1 article · 1/s"


def test_limit_and_page_have_one_range_everywhere(runner, index_path, corpus_file):
    run(runner, index_path, "import", str(corpus_file))
    result = run(runner, index_path, "query", "raqqa", "--limit", "1001")
    assert result.exit_code == 2 and "1001 is not in the range 1<=x<=1000" in result.output
    assert run(runner, index_path, "query", "raqqa", "--limit", "1000").exit_code == 0


def test_source_option_takes_several_in_any_case(runner, index_path, corpus_file):
    run(runner, index_path, "import", str(corpus_file))
    result = run(runner, index_path, "query", "raqqa", "--source", "GAZETTE", "--source", "daily planet",
                 "--format", "jsonl")
    assert sorted(json.loads(line)["id"] for line in result.output.splitlines()) == ["budget", "raqqa"]
    result = run(runner, index_path, "query", "raqqa", "--source", "Gazete")
    assert result.output.splitlines()[0] == "note: no source is called 'Gazete': did you mean Gazette?"


def test_export_writes_every_match_with_filters_and_sort(runner, index_path, corpus_file, tmp_path):
    run(runner, index_path, "import", str(corpus_file))
    story = {"title": "Quokka festival opens", "source": "Island Post", "published": "2020-02-01T10:00:00+00:00",
             "body": "The quokka festival opened on Rottnest Island with a parade of rangers and families. " * 4}
    copies = tmp_path / "copies.jsonl"
    copies.write_text("".join(json.dumps({"id": f"quokka-{i}", **story}) + "\n" for i in range(120)), "utf-8")
    run(runner, index_path, "import", str(copies))
    lines = run(runner, index_path, "export", "--query", "quokka festival").output.splitlines()
    assert len(lines) == 120  # every copy, past a page of 100
    assert json.loads(lines[0])["origin"]["path"] == str(copies)
    result = run(runner, index_path, "export", "--query", "raqqa OR isis", "--since", "2017", "--until", "2017-12",
                 "--source", "daily planet", "--sort", "oldest", "--format", "csv")
    assert [row["id"] for row in csv.DictReader(io.StringIO(result.output))] == ["mosul", "raqqa"]
    result = run(runner, index_path, "export", "--sort", "newest", "--until", "2017-12-31")
    assert [json.loads(line)["id"] for line in result.output.splitlines()] == ["raqqa", "mosul", "boxer"]


def test_no_results_and_a_confident_correction_shows_the_corrected_results(runner, index_path, corpus_file):
    run(runner, index_path, "import", str(corpus_file))
    lines = run(runner, index_path, "query", "convoi").output.splitlines()
    assert lines[0] == "Showing results for convoy (none for 'convoi': --as-typed searches for it as typed)"
    assert lines[1].startswith("1 result, showing 1-1")
    assert run(runner, index_path, "query", "convoi", "--as-typed").output == (
        "Did you mean: convoy\nNo results for 'convoi'.\n")


def test_a_plain_query_imports_only_what_it_needs(index, index_path):
    """Cold start (issue 15): `searchkit query two words` answers without importing numpy.ma
    (plain np.unique loads it) or importlib.resources (the stop-word list is read directly)."""
    code = ("import sys\nfrom searchkit.cli import main\n"
            f"sys.argv = ['searchkit', '--index', {str(index_path)!r}, 'query', 'isis fighters', '--format', 'json']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(json.dumps(sorted(m for m in ('numpy.ma', 'importlib.resources') if m in sys.modules)))\n")
    done = subprocess.run([sys.executable, "-c", "import json\n" + code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
    *answer, loaded = done.stdout.strip().splitlines()
    assert json.loads("\n".join(answer))["hits"][0]["id"] == "raqqa"  # both words, side by side
    assert json.loads(loaded) == []
