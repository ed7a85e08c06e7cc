"""`make bench-extract`: how well searchkit pulls the article out of real pages, against trafilatura.

One run, three sets of pages, four extractors (searchkit; trafilatura with its default settings,
with `favor_precision` and with `favor_recall`, each as a user would call it on the page's bytes):

- the 17 pages of ../shared/data/html: token precision, recall and F1 of each body against the
  hand-picked gold text (gold/, see make_gold.py), title and date right against expected.json;
- the development part and the held-out part of ../shared/data/extraction-dev (split.json,
  see split.py): the corpus's own score.py metric (snippets that must and must not appear),
  title/author/date accuracy on the pages whose annotation carries them.

Per set: CPU seconds per page on this one core, each extractor timed on a page right after the
others, searchkit first on every other page (so load on the machine hits all alike), and the
pages where searchkit's body is empty while trafilatura's default is not. `--ablation` also
scores searchkit with each of its own rules (html.RULES) switched off in turn, on the held-out
part. Prints tables; writes bench/results/extract.json.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import re
import sys
import time
import unicodedata
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DATA = ROOT.parent / "shared" / "data"
PAGES = DATA / "html"
CORPUS = DATA / "extraction-dev"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import split as splitting  # noqa: E402
from searchkit.article import clean  # noqa: E402
from searchkit.errors import ExtractError  # noqa: E402
from searchkit.extract import extract_bytes  # noqa: E402
from searchkit.extract import html as html_extract  # noqa: E402
from searchkit.extract.options import ExtractOptions  # noqa: E402

_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]|[^\W_]+")

# trafilatura alone, as a user would call it: its default, and its two documented trade-offs
# (comments left out, as the article is what is measured; the corpus's "benchmark settings").
PEERS = {
    "trafilatura": {},
    "trafilatura/precision": {"favor_precision": True},
    "trafilatura/recall": {"favor_recall": True},
}
WHO = ("searchkit", *PEERS)


def load_scorer():
    """extraction-dev's score.py (the metric of trafilatura's own benchmark), as a module."""
    spec = importlib.util.spec_from_file_location("extraction_dev_score", CORPUS / "score.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return " ".join(re.sub(r"[\W_]+", " ", text).split())


def same_title(found: str, expected: str) -> bool:
    """Equal after case, spacing, quote style and punctuation are ignored (or a prefix of at
    least 60 characters, as some gold titles are cut)."""
    a, b = _norm(found), _norm(expected)
    return a == b or (min(len(a), len(b)) >= 60 and (a.startswith(b) or b.startswith(a)))


def same_author(found: str, expected) -> bool:
    """The same words in any order ("Roy, Anne" = "Anne Roy"; a list = its names joined)."""
    expected = " ".join(expected) if isinstance(expected, list) else expected
    return Counter(_norm(found).split()) == Counter(_norm(expected).split())


def searchkit_extract(data: bytes, url: str, rules: frozenset[str] | None = None):
    """The article searchkit makes of a page, or None if it finds none."""
    try:
        articles = [clean(a) for a in extract_bytes(data, {"path": "page.html"}, "html",
                                                    ExtractOptions(url=url, rules=rules))]
    except ExtractError:
        return None
    return articles[0] if articles else None


def trafilatura_extract(data: bytes, url: str, **settings) -> str | None:
    import trafilatura

    return trafilatura.extract(data, url=url or None, include_comments=False, **settings)


def cpu(function, *args, **kwargs):
    started = time.process_time()
    result = function(*args, **kwargs)
    return result, time.process_time() - started


def run_page(data: bytes, url: str, searchkit_first: bool = True) -> dict:
    """{who: (body or None, CPU seconds)} and searchkit's article; the extractors run one right
    after the other, searchkit first or last (callers alternate: the first to read a page pays a
    little more for it)."""
    timed = {}
    if searchkit_first:
        timed["searchkit"] = cpu(searchkit_extract, data, url)
    for peer, settings in PEERS.items():
        timed[peer] = cpu(trafilatura_extract, data, url, **settings)
    if not searchkit_first:
        timed["searchkit"] = cpu(searchkit_extract, data, url)
    article = timed["searchkit"][0]
    bodies = {who: timed[who] for who in WHO}
    bodies["searchkit"] = (article.body if article else None, timed["searchkit"][1])
    return {"bodies": bodies, "article": article}


def page_url(entry: dict) -> str:
    key = entry.get("key", "")
    return key if key.startswith(("http://", "https://")) else ""


def corpus_part(name: str, files: list[str], annotations: dict, scorer) -> dict:
    """Snippet scores, time, empties and metadata accuracy of every extractor on `files`."""
    counts = {who: [0, 0, 0, 0] for who in WHO}
    seconds = dict.fromkeys(WHO, 0.0)
    empty, meta_ok, meta_n = [], Counter(), Counter()
    steps = Counter()
    for number, file in enumerate(files):
        entry = annotations[file]
        data = gzip.decompress((CORPUS / "pages" / file).read_bytes())
        result = run_page(data, page_url(entry), searchkit_first=number % 2 == 0)
        for who, (body, spent) in result["bodies"].items():
            for i, count in enumerate(scorer.count_item(entry, body)):
                counts[who][i] += count
            seconds[who] += spent
        article = result["article"]
        steps[article.origin.get("extractor") if article else "(none)"] += 1
        if not (result["bodies"]["searchkit"][0] or "").strip() and (result["bodies"]["trafilatura"][0] or "").strip():
            empty.append(file)
        for field, check in (("title", same_title), ("author", same_author), ("date", None)):
            want = entry.get(field)
            if not want:
                continue
            meta_n[field] += 1
            if article is None:
                continue
            if field == "date":
                meta_ok[field] += bool(article.published) and article.published.date().isoformat() == want
            elif field == "title":
                meta_ok[field] += check(article.title, want)
            else:
                meta_ok[field] += check(article.author, want)
    pages = len(files)
    return {
        "part": name, "pages": pages,
        **{who: {**scorer.scores(*counts[who]), **dict(zip(("tp", "fp", "fn", "tn"), counts[who])),
                 "seconds_per_page": seconds[who] / pages} for who in WHO},
        "time_ratio_searchkit_to_trafilatura": seconds["searchkit"] / seconds["trafilatura"],
        "empty_where_trafilatura_is_not": empty,
        "metadata": {field: {"right": meta_ok[field], "pages": meta_n[field]} for field in ("title", "author", "date")},
        "steps": dict(steps.most_common()),
    }


def seventeen() -> dict:
    """The 17 pages with gold text: token P/R/F1 per extractor, title/date/snippets of searchkit."""
    expected = {e["file"]: e for e in json.loads((PAGES / "expected.json").read_text("utf-8"))}
    totals = {who: [0.0, 0.0, 0.0, 0.0] for who in WHO}
    rows, ok = [], Counter()
    snippets = Counter()
    empty = []
    for number, (name, entry) in enumerate(sorted(expected.items())):
        data = (PAGES / name).read_bytes()
        gold = (HERE / "gold" / (name + ".txt")).read_text("utf-8")
        result = run_page(data, entry["url"], searchkit_first=number % 2 == 0)
        article = result["article"]
        row = {"page": name}
        for who, (body, spent) in result["bodies"].items():
            values = prf(body or "", gold)
            for i, value in enumerate(values):
                totals[who][i] += value
            totals[who][3] += spent
            row[who] = dict(zip("prf", values))
        want = entry["expected"]
        title_ok = article is not None and same_title(article.title, want["title"])
        date_ok = article is not None and bool(article.published) and \
            article.published.date().isoformat() == want["published"]
        ok["title"] += title_ok
        ok["date"] += date_ok
        body = " ".join((article.body if article else "").split())
        snippets["contains"] += sum(" ".join(s.split()) in body for s in want.get("body_contains", []))
        snippets["contains_total"] += len(want.get("body_contains", []))
        snippets["not_contains"] += sum(" ".join(s.split()) not in body for s in want.get("body_not_contains", []))
        snippets["not_contains_total"] += len(want.get("body_not_contains", []))
        if not (result["bodies"]["searchkit"][0] or "").strip() and (result["bodies"]["trafilatura"][0] or "").strip():
            empty.append(name)
        rows.append({**row, "title_ok": title_ok, "date_ok": date_ok,
                     "extractor": article.origin.get("extractor") if article else None})
    n = len(rows)
    return {
        "part": "html-17", "pages": n,
        **{who: {"precision": t[0] / n, "recall": t[1] / n, "f1": t[2] / n, "seconds_per_page": t[3] / n}
           for who, t in totals.items()},
        "time_ratio_searchkit_to_trafilatura": totals["searchkit"][3] / totals["trafilatura"][3],
        "empty_where_trafilatura_is_not": empty,
        "metadata": {"title": {"right": ok["title"], "pages": n}, "date": {"right": ok["date"], "pages": n}},
        "body_contains": f"{snippets['contains']}/{snippets['contains_total']}",
        "body_not_contains": f"{snippets['not_contains']}/{snippets['not_contains_total']}",
        "rows": rows,
    }


def ablation(files: list[str], annotations: dict, scorer) -> dict[str, float]:
    """searchkit's F1 on `files` with every rule, then with each rule switched off in turn."""
    datas = [(annotations[f], gzip.decompress((CORPUS / "pages" / f).read_bytes())) for f in files]

    def f1(rules: frozenset[str]) -> float:
        counts = [0, 0, 0, 0]
        for entry, data in datas:
            article = searchkit_extract(data, page_url(entry), rules)
            for i, count in enumerate(scorer.count_item(entry, article.body if article else None)):
                counts[i] += count
        return scorer.scores(*counts)["f1"]

    every = f1(html_extract.RULES)
    return {"all rules": every, **{rule: f1(html_extract.RULES - {rule}) for rule in sorted(html_extract.RULES)}}


def print_part(result: dict) -> None:
    label = f"{result['part']} ({result['pages']} pages)"
    print(f"\n{label}")
    has_accuracy = "accuracy" in result["searchkit"]
    for who in WHO:
        s = result[who]
        extra = f"  acc {s['accuracy']:.3f}" if has_accuracy else ""
        print(f"  {who:<22} P {s['precision']:.3f}  R {s['recall']:.3f}  F1 {s['f1']:.4f}{extra}"
              f"  {s['seconds_per_page'] * 1000:6.1f} ms/page")
    best = max(PEERS, key=lambda peer: result[peer]["f1"])
    print(f"  searchkit F1 - best trafilatura ({best}): {result['searchkit']['f1'] - result[best]['f1']:+.4f}")
    print(f"  time searchkit / trafilatura default: {result['time_ratio_searchkit_to_trafilatura']:.2f}x (CPU, one core)")
    print(f"  empty body where trafilatura has text: {len(result['empty_where_trafilatura_is_not'])}"
          + (f" {result['empty_where_trafilatura_is_not']}" if result["empty_where_trafilatura_is_not"] else ""))
    meta = ", ".join(f"{field} {m['right']}/{m['pages']}" for field, m in result["metadata"].items())
    print(f"  searchkit metadata right: {meta}")
    if "steps" in result:
        print(f"  body from: {', '.join(f'{k} {v}' for k, v in result['steps'].items())}")
    if "body_contains" in result:
        print(f"  expected snippets found {result['body_contains']}, boilerplate kept out {result['body_not_contains']}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ablation", action="store_true", help="also score searchkit with each rule off")
    parser.add_argument("--limit", type=int, default=0, help="only the first N pages of each part (a quick look)")
    args = parser.parse_args(argv)

    split = splitting.load()
    fresh = splitting.make_split(splitting.corpus_names(), split["seed"], splitting.pinned_pages())
    if (fresh["development"], fresh["held_out"]) != (split["development"], split["held_out"]):
        print("split.json is not what split.py makes of the corpus: run python bench/extract/split.py", file=sys.stderr)
        return 1
    annotations = {a["file"]: a for a in json.loads((CORPUS / "annotations.json").read_text("utf-8"))}
    scorer = load_scorer()
    # Warm every extractor up on the 17 pages first (imports, lazy tables, htmldate on pages
    # without a stated date), so that timings compare extraction, not start-up.
    for page in sorted(PAGES.glob("*.html")):
        run_page(page.read_bytes(), "")

    parts = {"html-17": seventeen()}
    print_part(parts["html-17"])
    for name in ("development", "held_out"):
        files = split[name][:args.limit] if args.limit else split[name]
        parts[name] = corpus_part(name, files, annotations, scorer)
        print_part(parts[name])
    if not args.limit:
        whole = {who: [parts["development"][who][k] + parts["held_out"][who][k] for k in ("tp", "fp", "fn", "tn")]
                 for who in WHO}
        parts["extraction-dev"] = {"pages": parts["development"]["pages"] + parts["held_out"]["pages"],
                                   **{who: scorer.scores(*whole[who]) for who in WHO}}
        print(f"\nall of extraction-dev ({parts['extraction-dev']['pages']} pages)")
        for who in WHO:
            s = parts["extraction-dev"][who]
            print(f"  {who:<22} P {s['precision']:.3f}  R {s['recall']:.3f}  F1 {s['f1']:.4f}")
    if args.ablation:
        files = split["held_out"][:args.limit] if args.limit else split["held_out"]
        parts["ablation"] = ablation(files, annotations, scorer)
        every = parts["ablation"]["all rules"]
        print(f"\nheld-out F1 of searchkit with every own rule: {every:.4f}; what each rule adds "
              f"(F1 with every rule - F1 with that one switched off):")
        for rule, value in parts["ablation"].items():
            if rule != "all rules":
                print(f"  {rule:<14} {every - value:+.4f}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    if not args.limit:
        (out / "extract.json").write_text(json.dumps(parts, ensure_ascii=False, indent=1) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
