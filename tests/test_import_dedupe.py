"""Duplicates: same URL or text = same article; syndicated near-copies share a cluster id."""

from __future__ import annotations

import json
import random
import re
import zlib

import searchkit
from searchkit.dedupe import DuplicateFinder, signature, similarity

WIRE = [
    "The central bank raised its main interest rate by a quarter point on Thursday, the third rise this year, "
    "saying inflation was still running well above its target.",
    "Governor Ana Silva told reporters the board had voted seven to two for the move and would watch wage "
    "growth closely over the coming months before deciding on further steps.",
    "Markets had expected the decision. The currency rose half a percent against the dollar within minutes "
    "and government bond yields edged higher across the curve.",
    "Economists said the bank was likely to pause at its next meeting in June, when new forecasts are due, "
    "unless energy prices push inflation up again over the spring.",
    "Mortgage lenders are expected to pass the increase on to borrowers with variable rates from next month, "
    "adding to household costs that have already risen sharply this winter.",
    "Retail groups warned that higher borrowing costs could weigh on spending just as shops were recovering "
    "from a weak Christmas season, and called for support for small firms.",
    "The opposition finance spokesman said the government had left the bank to do the heavy lifting and "
    "urged ministers to publish a plan for bringing down energy bills before the summer.",
    "Trade unions said the rise would hit lower paid workers hardest and renewed calls for public sector pay "
    "awards that keep pace with the cost of living in every region of the country.",
    "House prices fell for a fourth consecutive month in February according to figures published on Monday, "
    "with the sharpest falls recorded in the capital and in the south east.",
    "First time buyers have been squeezed out of the market, estate agents reported, as deposits needed for "
    "an average flat climbed to more than a year of typical take home pay.",
    "The bank said its own staff survey suggested companies planned smaller price increases over the next year "
    "than they had in the autumn, a sign that inflation may have peaked.",
    "Silva is due to appear before the treasury committee of parliament later this month to explain the "
    "decision and answer questions about the outlook for jobs and growth.",
]


def write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")


def test_syndicated_copy_with_new_headline_and_trimmed_paragraph_joins_the_cluster(index_path, tmp_path):
    original = {"id": "wire-1", "title": "Bank raises rates again", "body": "\n\n".join(WIRE)}
    copy = {"id": "paper-7", "title": "Borrowers face higher bills as bank acts",
            "body": "\n\n".join(WIRE[:-1])}  # one paragraph trimmed
    unrelated = {"id": "other", "title": "Floods", "body": " ".join(f"word{n}" for n in range(80))}
    path = tmp_path / "a.jsonl"
    write(path, [original, copy, unrelated])
    ix = searchkit.open_index(index_path, create=True)
    report = searchkit.import_paths(ix, [str(path)])
    assert report.summary() == "3 added, 0 updated, 1 duplicate, 0 failed"
    assert {a.id: a.cluster for a in ix.articles()} == {"wire-1": "wire-1", "paper-7": "wire-1", "other": "other"}


def test_a_copy_imported_later_still_finds_the_original(index_path, tmp_path):
    ix = searchkit.open_index(index_path, create=True)
    first, second, third = tmp_path / "1.jsonl", tmp_path / "2.jsonl", tmp_path / "3.jsonl"
    write(first, [{"id": "a", "title": "A", "body": "\n\n".join(WIRE)}])
    write(second, [{"id": "b", "title": "B", "body": "\n\n".join(WIRE[1:])}])
    write(third, [{"id": "c", "title": "C", "body": "\n\n".join(WIRE).upper()}])  # exact, case aside
    searchkit.import_paths(ix, [str(first)])
    assert searchkit.import_paths(ix, [str(second)]).duplicates == 1
    assert searchkit.import_paths(ix, [str(third)]).duplicates == 1
    assert {a.id: a.cluster for a in ix.articles()} == {"a": "a", "b": "a", "c": "a"}
    # Importing the original again updates it in place and leaves it the head of its cluster.
    report = searchkit.import_paths(ix, [str(first)], resume=False)
    assert (report.added, report.updated) == (0, 1)
    assert ix.get("a").cluster == "a"


def test_same_canonical_url_or_same_text_is_the_same_article(index_path, tmp_path):
    path = tmp_path / "a.jsonl"
    write(path, [{"title": "T", "body": "Body.", "url": "https://n.example/x?utm_source=feed"},
                 {"title": "T (updated)", "body": "Body.", "url": "https://N.example/x#comments"}])
    text = tmp_path / "b.txt"
    text.write_text("Same headline\n\nSame   body\ntext.", "utf-8")
    text2 = tmp_path / "c.txt"
    text2.write_text("Same headline\n\nSame body text.\n", "utf-8")
    ix = searchkit.open_index(index_path, create=True)
    report = searchkit.import_paths(ix, [str(path), str(text), str(text2)])
    assert (report.added, report.duplicates, len(ix)) == (2, 2, 2)
    assert sorted(a.title for a in ix.articles()) == ["Same headline", "T (updated)"]


def test_signatures_estimate_similarity():
    full, trimmed = signature("\n\n".join(WIRE)), signature("\n\n".join(WIRE[:-1]))
    assert signature("too short to compare") is None
    assert similarity(full, full) == 1.0
    assert 0.9 <= similarity(full, trimmed) < 1.0
    with DuplicateFinder() as finder:
        assert finder.check("x", "\n\n".join(WIRE)) is None
        match = finder.check("y", "\n\n".join(WIRE[:-1]))
        assert (match.id, match.cluster, match.kind) == ("x", "x", "near")


def test_a_copy_repeated_in_the_same_run_keeps_its_cluster(index_path, tmp_path):
    first, again = tmp_path / "1.jsonl", tmp_path / "2.jsonl"
    write(first, [{"id": "a", "title": "A", "body": "\n\n".join(WIRE)},
                  {"id": "b", "title": "B", "body": "\n\n".join(WIRE[1:])}])
    write(again, [{"id": "b", "title": "B again", "body": "\n\n".join(WIRE[1:])}])
    ix = searchkit.open_index(index_path, create=True)
    report = searchkit.import_paths(ix, [str(first), str(again)])
    assert report.summary() == "2 added, 0 updated, 2 duplicates, 0 failed"  # b's copy of a, and b twice
    assert (ix.get("b").title, ix.get("b").cluster) == ("B again", "a")


def _python_signature(body: str):
    """The signature as dedupe.py first computed it, one shingle at a time with hash()."""
    mask = (1 << 64) - 1
    words = [zlib.crc32(w.encode("utf-8", "surrogatepass")) for w in re.findall(r"\w+", body.lower())]
    if len(words) < 30:
        return None
    bins = [mask] * 128
    for i in range(len(words) - 4):
        value = hash(tuple(words[i:i + 5])) & mask
        if value // 128 < bins[value % 128]:
            bins[value % 128] = value // 128
    filled = [i for i in range(128) if bins[i] != mask]
    for i in range(128):
        if bins[i] == mask:
            donor = next((j for j in filled if j > i), filled[0])
            bins[i] = (bins[donor] + (donor - i) % 128 * 0x9E3779B97F4A7C15) & mask
    return list(bins)


def test_signatures_are_the_python_tuple_hash_minhash_stored_signatures_were_made_with():
    rng = random.Random(4)
    vocabulary = WIRE[0].split() + ["Zürich", "naïve", "İstanbul", "東京", "x" * 40, "42", "3.5"]
    bodies = ["\n\n".join(WIRE), " ".join(["same"] * 40), " ".join(vocabulary[:29])]
    bodies += [" ".join(rng.choices(vocabulary, k=rng.choice([30, 34, 60, 200, 900]))) for _ in range(60)]
    checked = 0
    for body in bodies:
        expected = _python_signature(body)
        found = signature(body)
        assert (None if found is None else list(found)) == expected
        checked += expected is not None
    assert checked == len(bodies) - 1
