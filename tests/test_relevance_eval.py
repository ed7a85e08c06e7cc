"""Relevance metrics (hand-computed values), `searchkit eval`, and the CLI's similar/--facets."""

import json
import math

import pytest

from searchkit.eval import average_precision, evaluate, ndcg, precision, read_qrels, recall
from searchkit.errors import SearchkitError


def test_metrics_by_hand():
    ranking = ["a", "x", "b", "y"]
    relevant = {"a", "b", "c"}
    assert average_precision(ranking, relevant) == pytest.approx((1 / 1 + 2 / 3) / 3)
    dcg = 1 + 1 / math.log2(4)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg(ranking, relevant) == pytest.approx(dcg / ideal)
    assert precision(ranking, relevant) == pytest.approx(0.2)
    assert recall(ranking, relevant) == pytest.approx(2 / 3)


def test_evaluate_counts_every_judged_query_once():
    qrels = {"1": {"a": 2, "b": 0}, "2": {"c": 1}, "3": {"d": 0}}  # query 3 has nothing relevant
    report = evaluate({"1": ["b", "a"], "2": []}, qrels)
    assert report.queries == 2
    assert report.map == pytest.approx((1 / 2 + 0) / 2)
    assert report.to_dict() == {"MAP": 0.25, "nDCG@10": 0.3155, "P@10": 0.05, "recall@100": 0.5, "queries": 2}


def test_bad_qrels_line_is_named(tmp_path):
    path = tmp_path / "qrels.txt"
    path.write_text("1 0 a 1\n1 0 b\n", "utf-8")
    with pytest.raises(SearchkitError, match=r"qrels.txt:2: expected `qid 0 docid relevance`"):
        read_qrels(path)


def run(runner, index_path, *args):
    return runner.invoke(__import__("searchkit.cli", fromlist=["main"]).main, ["--index", str(index_path), *args])


def test_cli_eval_similar_and_facets(runner, index, index_path, tmp_path):
    qrels = tmp_path / "qrels.txt"
    qrels.write_text("1 0 raqqa 1\n2 0 mosul 1\n2 0 boxer 1\n", "utf-8")
    queries = tmp_path / "queries.tsv"
    queries.write_text("1\tisis fighters raqqa\n2\tmosul\n", "utf-8")
    result = run(runner, index_path, "eval", str(qrels), "--queries", str(queries), "--format", "json")
    assert result.exit_code == 0, result.output
    # query 1: raqqa first (AP 1); query 2: mosul first, boxer never found (AP 1/2)
    assert json.loads(result.output) == {"MAP": 0.75, "nDCG@10": 0.8066, "P@10": 0.1, "recall@100": 0.75,
                                         "queries": 2}
    text = run(runner, index_path, "eval", str(qrels), "--queries", str(queries)).output
    assert text.splitlines()[0] == "MAP         0.7500"
    similar = run(runner, index_path, "similar", "raqqa", "--limit", "2")
    assert similar.output.splitlines() == ["1. Prize fighter wins title  [boxer]", "   Sports Desk · 2016-03-01",
                                           "2. Budget vote delayed  [budget]", "   Gazette · 2018-01-05"]
    missing = run(runner, index_path, "similar", "nope")
    assert (missing.exit_code, missing.output.strip()) == (
        1, "Error: no article with id 'nope': check the id with `searchkit query`")
    facets = run(runner, index_path, "query", "raqqa", "--facets").output
    assert facets.endswith("source:\n        1  Daily Planet\n        1  Gazette\n\nday:\n"
                           "        1  2017-11-14\n        1  2018-01-05\n")
    typo = run(runner, index_path, "query", "fihgters")
    assert typo.output.splitlines()[:2] == ["Did you mean: fighters", "No results for 'fihgters'."]
