"""What a page or a terminal shows cannot be made to lie, and import messages stay readable
(issue 20, item 7): bidi controls are neutralised on display, a notice about ignored columns or
keys names a few and counts the rest, and a re-import counts the same duplicates."""

from __future__ import annotations

import json
import re
import urllib.request
from urllib.parse import quote

import pytest

import searchkit
from reliability_support import run_cli, serving, write_jsonl

# U+202E (right-to-left override) makes "Invoice \u202egnp.exe" display as "Invoice exe.png".
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
TRICK = {"id": "trick", "title": "Invoice \u202egnp.exe\u202c from the bank",
         "body": "Read the \u2067invoice\u2069 attached. The bank says \u202btransfer\u202c today.",
         "source": "Bank \u202dNews\u202c", "author": "Jane \u202eenaJ"}


@pytest.fixture(scope="module")
def trick_index(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bidi")
    done = run_cli("--index", str(folder / "index"), "import", str(write_jsonl(folder / "a.jsonl", [TRICK])))
    assert done.returncode == 0, done.stderr
    return folder / "index"


def test_bidi_controls_are_kept_in_the_store_but_never_shown_by_the_library(trick_index):
    index = searchkit.open_index(trick_index)
    assert index.get("trick").title == TRICK["title"]  # stored as imported
    hit = searchkit.search(index, "invoice bank").hits[0]
    assert (hit.title, hit.source, hit.author) == ("Invoice gnp.exe from the bank", "Bank News", "Jane enaJ")
    assert not BIDI.search(json.dumps(hit.to_dict(), ensure_ascii=False))


def test_shown_removes_each_bidi_control_and_keeps_every_other_character():
    from searchkit.display import shown

    for control in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069":
        assert shown(f"Caf\u00e9 \u2019{control}x{control}") == "Caf\u00e9 \u2019x", hex(ord(control))
    other = "Caf\u00e9 \u2019\u200f\u2029\u2065\u206a \u65e5"  # neighbours of the controls stay
    assert shown(other) == other and shown("plain") == "plain" and shown("") == ""


def test_bidi_controls_never_reach_the_terminal(trick_index):
    for fmt in ("text", "json", "jsonl"):
        done = run_cli("--index", str(trick_index), "query", "invoice bank", "--format", fmt)
        assert done.returncode == 0, done.stderr
        assert "Invoice gnp.exe from the bank" in done.stdout and not BIDI.search(done.stdout), fmt


def test_bidi_controls_never_reach_a_page(trick_index):
    with serving(trick_index) as (host, port, _):
        for path in ("/search?q=invoice+bank", "/api/search?q=invoice+bank", "/article/trick?q=invoice",
                     "/search.atom?q=invoice"):
            with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=30) as response:
                page = response.read().decode("utf-8")
            assert "gnp.exe" in page and not BIDI.search(page), path
            assert not re.search("&#x(202[a-e]|206[6-9]);", page, re.I), path


def test_ignored_columns_and_keys_are_named_a_few_and_counted(tmp_path):
    columns = [f"extra{n}" for n in range(100_000)]
    (tmp_path / "wide.csv").write_text(",".join(["title", "body", *columns]) + "\n"
                                       + ",".join(["Wide", "A wide table.", *["x"] * len(columns)]) + "\n", "utf-8")
    (tmp_path / "wide.jsonl").write_text(json.dumps({"title": "Wide", "body": "A wide record.",
                                                     **{c: 1 for c in columns}}) + "\n", "utf-8")
    for name in ("wide.csv", "wide.jsonl"):
        done = run_cli("--index", str(tmp_path / "index"), "import", str(tmp_path / name))
        assert done.returncode == 0, done.stderr
        notices = [line for line in done.stderr.splitlines() if "ignored" in line]
        kind = "columns" if name.endswith(".csv") else "keys"
        assert notices == [f"warning: {tmp_path / name}: ignored {kind}: extra0, extra1, extra2, extra3, "
                           f"extra4, extra5, extra6, extra7 and 99,992 more"], (name, [n[:300] for n in notices])


def test_a_reimport_counts_the_same_duplicates(tmp_path):
    story = "The harbour bridge will close for repairs from Monday, the council said. " * 5
    records = [{"id": "first", "title": "Bridge closes", "body": story},
               {"id": "copy", "title": "Bridge to close", "body": story},
               {"id": "other", "title": "Budget vote", "body": "Parliament delayed the vote on the budget."}]
    source = write_jsonl(tmp_path / "a.jsonl", records)
    index = str(tmp_path / "index")
    first = run_cli("--index", index, "import", str(source))
    again = run_cli("--index", index, "import", "--again", str(source))
    third = run_cli("--index", index, "import", "--again", str(source))
    assert first.stdout == "3 added, 0 updated, 1 duplicate, 0 failed\n", first.stderr
    assert again.stdout == third.stdout == "0 added, 3 updated, 1 duplicate, 0 failed\n", again.stderr
    clusters = {a.id: a.cluster for a in searchkit.open_index(index).articles()}
    assert clusters == {"first": "first", "copy": "first", "other": "other"}
