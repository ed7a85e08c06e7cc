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


# dedupe.sqlite as versions up to issue 15 wrote it: text ids in every band row, 64-bit bins.
_FIRST_LAYOUT = """
CREATE TABLE article (id TEXT PRIMARY KEY, cluster TEXT NOT NULL, digest TEXT, sig BLOB);
CREATE INDEX article_digest ON article (digest);
CREATE TABLE band (key INTEGER NOT NULL, id TEXT NOT NULL);
CREATE INDEX band_key ON band (key);
CREATE INDEX band_id ON band (id);
"""


def _first_layout_database(path, articles):
    """A dedupe.sqlite of the first layout remembering `articles` (id, cluster, body)."""
    import sqlite3

    from searchkit.dedupe import SIGNATURE_VERSION, text_digest

    db = sqlite3.connect(path / "dedupe.sqlite")
    db.executescript(_FIRST_LAYOUT)
    db.execute(f"PRAGMA user_version = {SIGNATURE_VERSION}")
    for number, (article_id, cluster, body) in enumerate(articles):
        db.execute("INSERT INTO article VALUES (?, ?, ?, ?)",
                   (article_id, cluster, text_digest(body), signature(body).tobytes()))
        db.executemany("INSERT INTO band VALUES (?, ?)", [(number * 16 + band, article_id) for band in range(16)])
    db.commit()
    db.close()


def test_a_first_layout_database_is_converted_and_still_finds_its_articles(index_path, tmp_path):
    import sqlite3

    index_path.mkdir(parents=True)
    story = "\n\n".join(WIRE)
    _first_layout_database(index_path, [("wire-1", "wire-1", story), ("paper-2", "wire-1", story.upper()),
                                        ("other", "other", " ".join(f"word{n}" for n in range(80)))])
    notices = []
    with DuplicateFinder(index_path, on_notice=notices.append, notice_over=3) as finder:
        near = finder.check("late-copy", "\n\n".join(WIRE[:-1]))  # a copy that comes a week later
        exact = finder.check("late-exact", story.lower())
    assert (near.cluster, near.kind) == ("wire-1", "near")
    assert (exact.id, exact.cluster, exact.kind) == ("wire-1", "wire-1", "exact")
    assert notices == [f"{index_path / 'dedupe.sqlite'}: converting the near-duplicate signatures of 3 articles "
                       "to the compact layout (once; about 1 s)"]
    db = sqlite3.connect(index_path / "dedupe.sqlite")
    assert [row[1] for row in db.execute("PRAGMA table_info(band)")] == ["key", "num"]
    assert db.execute("SELECT id, cluster FROM article ORDER BY num").fetchall() == [
        ("wire-1", None), ("paper-2", "wire-1"), ("other", None), ("late-copy", "wire-1"), ("late-exact", "wire-1")]
    assert db.execute("SELECT count(*) FROM band").fetchone()[0] == 16 * 5
    db.close()
    assert sorted(p.name for p in index_path.iterdir()) == ["dedupe.sqlite"]  # no conversion left behind


def test_an_article_imported_again_keeps_its_number_and_drops_its_old_bands(tmp_path):
    import sqlite3

    with DuplicateFinder(tmp_path) as finder:
        finder.check("a", "\n\n".join(WIRE))
        finder.check("b", " ".join(f"word{n}" for n in range(80)))
        assert finder.check("a", "\n\n".join(WIRE[1:]).replace("bank", "fund")) is None  # rewritten in place
        assert finder.check("c", "\n\n".join(WIRE)) is None  # the old text of a is forgotten
    db = sqlite3.connect(tmp_path / "dedupe.sqlite")
    assert db.execute("SELECT num, id FROM article ORDER BY num").fetchall() == [(1, "a"), (2, "b"), (3, "c")]
    assert db.execute("SELECT count(*) FROM band").fetchone()[0] == 16 * 3
    db.close()


def test_the_database_stays_under_a_kilobyte_an_article(tmp_path):
    rng = random.Random(5)
    vocabulary = " ".join(WIRE).split()
    with DuplicateFinder(tmp_path) as finder:
        for n in range(2000):
            finder.check(f"https://example.com/news/2024/{n:06d}", " ".join(rng.choices(vocabulary, k=400)))
    assert (tmp_path / "dedupe.sqlite").stat().st_size < 2000 * 1024  # the first layout: ~3.2 KB


def test_stats_count_the_signatures_and_ledger_an_import_leaves(index_path, tmp_path):
    path = tmp_path / "a.jsonl"
    write(path, [{"id": "wire-1", "title": "Bank raises rates again", "body": "\n\n".join(WIRE)}])
    ix = searchkit.open_index(index_path, create=True)
    searchkit.import_paths(ix, [str(path)])
    info = ix.stats()
    # Everything but CURRENT (the live generation's name) and the empty writer.lock.
    on_disk = sum(f.stat().st_size for f in index_path.rglob("*") if f.is_file() and f.parent != index_path)
    on_disk += sum((index_path / name).stat().st_size for name in ("dedupe.sqlite", "imported.sqlite"))
    assert info["bytes_by_part"]["duplicate signatures"] == (index_path / "dedupe.sqlite").stat().st_size
    assert info["bytes_by_part"]["import ledger"] == (index_path / "imported.sqlite").stat().st_size
    assert info["bytes"] == sum(info["bytes_by_part"].values()) == on_disk


def test_lower_words_digest_and_signature_are_those_of_the_regex():
    from searchkit.dedupe import WordCrcs, _bins, lower_words, text_digest

    rng = random.Random(6)
    alphabet = [chr(c) for c in range(128)] + ["word", "Bank", "4,000", "U.S.", "_x_"] * 20
    # Punctuation beyond ASCII keeps the fast way; a letter or digit beyond it (é, İ, ١) does not.
    alphabet += ["\u2019", "\u201c", "\u2014", "\u00a0", "\u2028", "\ud800", "\u00e9", "\u0130", "\u0661", "\u24b6"]
    for _ in range(600):
        body = "".join(rng.choices(alphabet, k=rng.choice([5, 40, 400])))
        words = re.findall(r"\w+", body.lower())
        fast = lower_words(body)
        assert [w if isinstance(w, str) else w.decode() for w in fast] == words
        assert text_digest(body, fast) == text_digest(body, words)
        expected, found = _bins(words, WordCrcs()), _bins(fast, WordCrcs())
        assert (expected is None and found is None) or list(expected) == list(found)


def _random_bodies(seed: int, count: int) -> list[str]:
    """Bodies of every kind the fingerprint code tells apart: ASCII, words beyond ASCII (é, İ,
    ١, Ⓐ), only punctuation beyond it, words longer than the vectorised CRC takes, blank,
    under and at MIN_WORDS words, one word repeated."""
    rng = random.Random(seed)
    vocabulary = " ".join(WIRE).split() + ["x" * 33, "y" * 32, "z" * 200, "4,000", "U.S.", "_x_"]
    extra = ["Zürich", "naïve", "İstanbul", "東京", "١٢", "Ⓐ", "don\u2019t", "\u201cquoted\u201d", "\u2014", "\u00a0"]
    bodies = ["", "   ", "\n\n", "a " * 29, "a " * 30, "same " * 40, "\u2014 " * 50, "\n\n".join(WIRE)]
    for _ in range(count):
        words = rng.choices(vocabulary + extra * rng.choice([0, 0, 1, 5]), k=rng.choice([3, 29, 30, 31, 120, 600]))
        bodies.append(rng.choice([" ", "\n\n", ", "]).join(words))
    return bodies


def test_fingerprints_of_a_batch_are_those_of_one_article_at_a_time():
    from searchkit.dedupe import fingerprint, fingerprints, text_digest

    bodies = _random_bodies(7, 300)
    articles = [(body, f"Title {n}") for n, body in enumerate(bodies)]
    for size in (1, 7, 256):
        for start in range(0, len(articles), size):
            batch = articles[start:start + size]
            for (body, title), found in zip(batch, fingerprints(batch), strict=True):
                alone = fingerprint(body, title)
                assert (found.digest, found.keys) == (alone.digest, alone.keys)
                assert (found.bins is None) == (alone.bins is None)
                assert alone.bins is None or found.bins.tolist() == alone.bins.tolist()
    for (body, title), found in zip(articles, fingerprints(articles)):  # the digest rule, from the regex
        words = len(re.findall(r"\w+", body))
        expected = (None if not body.strip() else text_digest(body) if words >= 30
                    else text_digest(f"{title}\n{body}"))
        assert found.digest == (expected and bytes.fromhex(expected))
    signed = [found for found in fingerprints(articles) if found.bins is not None]
    assert len(signed) > 150 and all(len(found.keys) == 16 for found in signed)


def _dump(path):
    import sqlite3

    db = sqlite3.connect(path / "dedupe.sqlite")
    try:
        return (db.execute("SELECT num, id, cluster, digest, sig FROM article ORDER BY num").fetchall(),
                db.execute("SELECT key, num FROM band ORDER BY key, num").fetchall())
    finally:
        db.close()


def test_a_batch_checked_at_once_finds_what_one_by_one_finds(tmp_path):
    rng = random.Random(11)
    originals = [(f"o{n}", f"Story {n}", body) for n, body in enumerate(_random_bodies(3, 120))]
    stream = []  # originals, copies of recent and of older ones, ids imported again, short briefs
    for n, (article_id, title, body) in enumerate(originals):
        stream.append((article_id, title, body))
        for _ in range(rng.choice([0, 1, 2])):
            other_id, other_title, other_body = rng.choice(originals[max(0, n - rng.choice([3, 60])):n + 1])
            paragraphs = other_body.split("\n\n")
            kind = rng.choice(["exact", "cut", "headline", "again", "brief"])
            copy = {"exact": (f"{other_id}-{len(stream)}", other_title, other_body),
                    "cut": (f"{other_id}-{len(stream)}", other_title, "\n\n".join(paragraphs[:-1] or paragraphs)),
                    "headline": (f"{other_id}-{len(stream)}", "New " + other_title, other_body),
                    "again": (other_id, other_title, other_body + " updated"),
                    "brief": (f"{other_id}-{len(stream)}", other_title, " ".join(other_body.split()[:8]))}[kind]
            stream.append(copy)
    first, second = stream[:len(stream) // 2], stream[len(stream) // 2:]
    (tmp_path / "one").mkdir()
    (tmp_path / "batch").mkdir()
    one_by_one = []
    for part in (first, second):  # two imports: the second finds what the first stored
        with DuplicateFinder(tmp_path / "one") as finder:
            one_by_one += [finder.check(article_id, body, title) for article_id, title, body in part]
    batched = []
    for part, size in ((first, 13), (second, 256)):
        with DuplicateFinder(tmp_path / "batch") as finder:
            for start in range(0, len(part), size):
                batch = part[start:start + size]
                prints = finder.fingerprints([(body, title) for _, title, body in batch])
                batched += finder.check_all([(article_id, known) for (article_id, _, _), known in zip(batch, prints)])
    as_tuple = lambda match: match and (match.id, match.cluster, match.kind)  # noqa: E731
    assert [as_tuple(m) for m in batched] == [as_tuple(m) for m in one_by_one]
    kinds = {m.kind for m in one_by_one if m}
    assert kinds == {"exact", "near"} and sum(m is not None for m in one_by_one) > 50
    assert _dump(tmp_path / "batch") == _dump(tmp_path / "one")
