"""`make bench-extract`: how well searchkit pulls the article out of real pages, against trafilatura.

For each page of ../shared/data/html with a hand-made gold text (gold/, see make_gold.py):
token precision, recall and F1 of the extracted body (bag of words; CJK by character) for
searchkit and for trafilatura alone on the same bytes in the same run. Then title and date
accuracy of searchkit's metadata on every page of expected.json, and the body_contains /
body_not_contains snippet checks. Prints a table; writes bench/results/extract.json.
"""

from __future__ import annotations

import json
import re
import sys
import time
import unicodedata
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PAGES = ROOT.parent / "shared" / "data" / "html"
sys.path.insert(0, str(ROOT))

from searchkit.article import clean  # noqa: E402
from searchkit.extract import extract_bytes  # noqa: E402
from searchkit.extract.options import ExtractOptions  # noqa: E402

_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]|[^\W_]+")


def tokens(text: str) -> Counter:
    return Counter(_TOKEN.findall(unicodedata.normalize("NFKC", text).lower()))


def prf(predicted: str, gold: str) -> tuple[float, float, float]:
    """Token precision, recall, F1 of `predicted` against `gold` (multiset overlap)."""
    p, g = tokens(predicted), tokens(gold)
    overlap = sum((p & g).values())
    precision = overlap / sum(p.values()) if p else 0.0
    recall = overlap / sum(g.values()) if g else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def same_title(found: str, expected: str) -> bool:
    """Equal after case, spacing, quote style and punctuation are ignored (or a prefix of at
    least 60 characters, as some gold titles are cut)."""
    def norm(text: str) -> str:
        text = unicodedata.normalize("NFKC", text).lower()
        return " ".join(re.sub(r"[\W_]+", " ", text).split())
    a, b = norm(found), norm(expected)
    return a == b or (min(len(a), len(b)) >= 60 and (a.startswith(b) or b.startswith(a)))


def searchkit_extract(data: bytes, url: str):
    [article] = [clean(a) for a in extract_bytes(data, {"path": "page.html"}, "html", ExtractOptions(url=url))]
    return article


def trafilatura_extract(data: bytes, url: str, **settings) -> str:
    import trafilatura

    return trafilatura.extract(data, url=url, include_comments=False, **settings) or ""


# trafilatura alone, as a user would call it: its default, and its two documented trade-offs.
PEERS = {
    "trafilatura": {},
    "trafilatura/precision": {"favor_precision": True},
    "trafilatura/recall": {"favor_recall": True},
}


def timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def main() -> None:
    expected = {e["file"]: e for e in json.loads((PAGES / "expected.json").read_text("utf-8"))}
    # Warm both up (imports, lazy tables) so timings compare extraction, not start-up.
    sample = (PAGES / "phys.org.tool.html").read_bytes()
    searchkit_extract(sample, "")
    trafilatura_extract(sample, "")

    rows, totals = [], {name: [0.0, 0.0, 0.0, 0.0] for name in ("searchkit", *PEERS)}
    meta_ok = {"title": 0, "published": 0, "contains": 0, "not_contains": 0}
    contains_total = not_contains_total = 0
    print(f"{'page':<46} {'searchkit P/R/F1':>20} {'trafilatura P/R/F1':>20}  title date")
    for name, entry in sorted(expected.items()):
        data = (PAGES / name).read_bytes()
        gold_path = HERE / "gold" / (name + ".txt")
        article, ours_s = timed(searchkit_extract, data, entry["url"])
        gold = gold_path.read_text("utf-8")
        ours_prf = prf(article.body, gold)
        measured = {"searchkit": (ours_prf, ours_s)}
        for peer, settings in PEERS.items():
            text, seconds = timed(lambda: trafilatura_extract(data, entry["url"], **settings))
            measured[peer] = (prf(text, gold), seconds)
        theirs_prf = measured["trafilatura"][0]
        want = entry["expected"]
        title_ok = same_title(article.title, want["title"])
        date_ok = bool(article.published) and article.published.date().isoformat() == want["published"]
        meta_ok["title"] += title_ok
        meta_ok["published"] += date_ok
        body = " ".join(article.body.split())
        contains_total += len(want.get("body_contains", []))
        not_contains_total += len(want.get("body_not_contains", []))
        meta_ok["contains"] += sum(" ".join(s.split()) in body for s in want.get("body_contains", []))
        meta_ok["not_contains"] += sum(" ".join(s.split()) not in body for s in want.get("body_not_contains", []))
        for who, (values, seconds) in measured.items():
            for i, value in enumerate(values):
                totals[who][i] += value
            totals[who][3] += seconds
        rows.append({"page": name, **{who: dict(zip("prf", values)) for who, (values, _) in measured.items()},
                     "title": article.title, "title_ok": title_ok,
                     "published": article.published.isoformat() if article.published else None, "date_ok": date_ok,
                     "extractor": article.origin.get("extractor"), "metadata": article.origin.get("metadata")})
        print(f"{name[:46]:<46} {ours_prf[0]:6.3f} {ours_prf[1]:6.3f} {ours_prf[2]:6.3f} "
              f"{theirs_prf[0]:6.3f} {theirs_prf[1]:6.3f} {theirs_prf[2]:6.3f}  "
              f"{'ok' if title_ok else 'NO':>5} {'ok' if date_ok else 'NO':>4}")
    n = len(rows)
    summary = {who: {"precision": t[0] / n, "recall": t[1] / n, "f1": t[2] / n, "seconds_per_page": t[3] / n}
               for who, t in totals.items()}
    summary["pages"] = n
    summary["title_accuracy"] = meta_ok["title"] / n
    summary["date_accuracy"] = meta_ok["published"] / n
    summary["body_contains"] = f"{meta_ok['contains']}/{contains_total}"
    summary["body_not_contains"] = f"{meta_ok['not_contains']}/{not_contains_total}"
    print()
    for who in totals:
        s = summary[who]
        print(f"{who:<22} macro P {s['precision']:.3f}  R {s['recall']:.3f}  F1 {s['f1']:.3f}  "
              f"{s['seconds_per_page'] * 1000:.0f} ms/page")
    print(f"F1 ratio searchkit/trafilatura: {summary['searchkit']['f1'] / summary['trafilatura']['f1']:.3f}")
    print(f"title right on {meta_ok['title']}/{n} ({summary['title_accuracy']:.0%}), "
          f"date right on {meta_ok['published']}/{n} ({summary['date_accuracy']:.0%})")
    print(f"expected snippets found {summary['body_contains']}, "
          f"boilerplate snippets kept out {summary['body_not_contains']}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "extract.json").write_text(json.dumps({"summary": summary, "pages": rows}, ensure_ascii=False, indent=1)
                                      + "\n", "utf-8")


if __name__ == "__main__":
    main()
