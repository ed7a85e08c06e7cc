"""Comparing a sharded index's results and counts with one index's (tests/test_shards.py, test_cluster.py)."""

from __future__ import annotations

import re
from pathlib import Path

import searchkit

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
QUERY_LANGUAGE = Path(__file__).resolve().parents[1] / "docs" / "query-language.md"
SCORE_TOLERANCE = 1e-6


def moved_twice_in_one_write(index) -> tuple[int, int, int, int]:
    """(added, updated, duplicates, articles) after a write where an article whose cluster
    changed comes twice (a feed that repeats it), beside an unchanged one."""
    index.write([searchkit.Article(id=f"a{i}", title="Original", body="word " * 40) for i in range(3)])
    moved = searchkit.Article(id="a1", title="Original", body="other " * 40, cluster="story-9")
    report = index.write([moved, moved, searchkit.Article(id="a0", title="Original", body="word " * 40)])
    return report.added, report.updated, report.duplicates, len(index)


def readme_queries() -> list[str]:
    """Every query of the query-syntax tables of docs/query-language.md (the `you type` column)."""
    text = QUERY_LANGUAGE.read_text("utf-8")
    table = text[:text.index("## Relevance")]
    queries = []
    for line in table.splitlines():
        if line.startswith("| `"):
            cell = line.split("|")[1]
            queries += [q for q in re.findall(r"`([^`]+)`", cell) if not q.endswith(":")]
    return queries


def read_queries(name: str) -> list[str]:
    lines = (DATA / name / "queries.tsv").read_text("utf-8").splitlines()
    return [line.split("\t", 1)[1] for line in lines if "\t" in line]


# One index searches as it always does (pseudo-relevance feedback included: a sharded index
# makes the same pass over the whole collection).
ONE: dict = {}


def _tie_set(index, text: str, score: float, kwargs: dict) -> set[str]:
    """Every article one index scores `score` for the query (to check a tie cut by the page end)."""
    ids: set[str] = set()
    for page in range(1, 100):
        found = searchkit.search(index, text, **{**kwargs, **ONE, "limit": 100, "page": page})
        ids |= {h.id for h in found.hits if abs(h.score - score) <= SCORE_TOLERANCE}
        if page >= found.pages:
            return ids
    return ids


def differences(one, sharded, text: str, **kwargs) -> list[str]:
    """How the sharded index's answer to `text` differs from one index's ([] = the same).

    Articles with exactly equal scores are a set: one index lists them by import position,
    a sharded one by shard; a tie cut by the end of the page must hold articles of the tie.
    """
    a = searchkit.search(one, text, **{**kwargs, **ONE})
    b = searchkit.search(sharded, text, **kwargs)
    out = []
    for name in ("query", "corrected_from", "total", "pages", "notice", "suggestion", "facets"):
        if getattr(a, name) != getattr(b, name):
            out.append(f"{name}: {getattr(a, name)!r} != {getattr(b, name)!r}")
    if [t.to_dict() for t in a.timeline] != [t.to_dict() for t in b.timeline]:
        out.append("timeline differs")
    if [t.to_dict() for t in a.timeline_around] != [t.to_dict() for t in b.timeline_around]:
        out.append("timeline_around differs")
    if b.partial:
        out.append(f"partial: {b.missing}")
    if len(a.hits) != len(b.hits):
        return out + [f"{len(a.hits)} hits != {len(b.hits)}"]
    for x, y in zip(a.hits, b.hits):
        if abs(x.score - y.score) > SCORE_TOLERANCE:
            return out + [f"rank {x.rank}: {x.id} {x.score!r} != {y.id} {y.score!r}"]
    # Runs of equal scores: the same articles (the last run may be cut by the page end).
    start = 0
    while start < len(a.hits):
        end = start
        while end < len(a.hits) and abs(a.hits[end].score - a.hits[start].score) <= SCORE_TOLERANCE:
            end += 1
        ids_a = {h.id for h in a.hits[start:end]}
        ids_b = {h.id for h in b.hits[start:end]}
        if ids_a != ids_b:
            cut = end == len(a.hits) or (start == 0 and a.page > 1)  # a tie the page cuts
            if not (cut and ids_b <= _tie_set(one, text, a.hits[start].score, kwargs)):
                out.append(f"ranks {start + 1}-{end}: {sorted(ids_a)} != {sorted(ids_b)}")
        start = end
    shown_b = {h.id: h.to_dict() for h in b.hits}
    for hit in a.hits:
        mine, theirs = hit.to_dict(), shown_b.get(hit.id)
        if theirs is None:
            continue
        for key in ("url", "title", "source", "author", "published", "snippet", "cluster", "cluster_size"):
            if mine[key] != theirs[key]:
                out.append(f"{hit.id} {key}: {mine[key]!r} != {theirs[key]!r}")
        if hit.title_html != next(h.title_html for h in b.hits if h.id == hit.id):
            out.append(f"{hit.id} title highlight differs")
    return out


def pool_cut_in_a_tie(index, text: str, kwargs: dict) -> bool:
    """Whether sort="recency"'s pool (the RECENCY_POOL most relevant) ends inside a run of equal
    relevance: which of those articles are in it then depends on import order, in one index too
    (a query of dates only scores every article alike)."""
    from searchkit.engine.scoring import RECENCY_POOL

    ranked = [h.score for page in (1, 2, 3) for h in searchkit.search(
        index, text, **{**kwargs, **ONE, "sort": "relevance", "limit": 100, "page": page}).hits]
    return len(ranked) > RECENCY_POOL and abs(ranked[RECENCY_POOL - 1] - ranked[RECENCY_POOL]) <= SCORE_TOLERANCE


def compare_all(one, sharded, queries: list[str], variants: list[dict]) -> tuple[int, list[str]]:
    """(comparisons made, mismatches as 'query [variant]: difference'). A recency search whose
    pool is cut inside a tie is not comparable (see pool_cut_in_a_tie) and not counted."""
    compared, mismatches = 0, []
    for text in queries:
        for kwargs in variants:
            if kwargs.get("sort") == "recency" and pool_cut_in_a_tie(one, text, kwargs):
                continue
            compared += 1
            try:
                found = differences(one, sharded, text, **kwargs)
            except searchkit.QueryError as exc:
                found = []
                try:
                    searchkit.search(sharded, text, **kwargs)
                    found = [f"one index refused it ({exc}), the sharded one did not"]
                except searchkit.QueryError:
                    pass
            mismatches += [f"{text!r} {kwargs}: {d}" for d in found]
    return compared, mismatches


def export_differences(one, sharded, text: str | None, **kwargs) -> list[str]:
    """How a sharded index's export (every match, every field) differs from one index's.
    Articles that one index ranks exactly alike (equal score, or equal date for a date sort)
    may come in another order, as in differences()."""
    from searchkit.export import matching_articles, ranked_matches

    def listed(index) -> list[dict]:
        rows = []
        for article in matching_articles(index, text, **kwargs):
            row = article.to_dict()
            row.pop("imported")  # when each index took the article in
            rows.append(row)
        return rows

    a, b = listed(one), listed(sharded)
    sort = kwargs.get("sort") or ("relevance" if text else "newest")
    with one.searcher() as searcher:
        ranked = ranked_matches(one, searcher, text, **{**kwargs, "sort": sort})
        fields = {docnum: searcher.stored_fields(docnum) for docnum, _ in ranked}
    key = {fields[d]["id"]: (round(score, 6) if sort in ("relevance", "recency") else fields[d].get("published"))
           for d, score in ranked}
    if [r["id"] for r in a] != [fields[d]["id"] for d, _ in ranked]:
        return ["the test's ranking is not the export's"]
    if sorted(r["id"] for r in a) != sorted(r["id"] for r in b):
        return [f"{len(a)} articles, {len(b)} sharded, not the same ones"]
    out = [f"{i}: {x['id']} ranked {key[x['id']]!r}, {y['id']} {key[y['id']]!r}"
           for i, (x, y) in enumerate(zip(a, b)) if key[x["id"]] != key[y["id"]]]
    theirs = {r["id"]: r for r in b}
    return out + [f"{r['id']} differs" for r in a if r != theirs[r["id"]]]
