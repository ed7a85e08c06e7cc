"""A fixed, seeded list of realistic queries drawn from a corpus, written to a file.

Words come from real titles (content words only, so every engine sees a real query and
nothing that its syntax would read as an operator). Kinds, with how many of each:
1, 2, 3 and 5 words; a two-word phrase taken from a title; two words with a source filter;
two words within a date range (one to three years); two words sorted newest first.
Every engine runs the same file (see engines.py for how each kind is translated).
"""

from __future__ import annotations

import argparse
import json
import random
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from .corpus import read_records

SEED = 8
KINDS = {  # kind: (words, how many)
    "words1": (1, 60), "words2": (2, 60), "words3": (3, 60), "words5": (5, 40),
    "phrase": (2, 40), "source": (2, 20), "dates": (2, 20), "newest": (2, 20),
}
_WORD = re.compile(r"[A-Za-z]{3,}")
# Common English words that make poor queries on their own (also engines' stop words).
_SKIP = frozenset("""the and for with from that this into over after says said will are was
were has have had its not but than more new who what when how why about after amid out off
his her their they them our your you all one two via brief update""".split())


@dataclass
class Query:
    qid: str
    kind: str
    words: list[str]
    phrase: bool = False
    source: str | None = None
    since: str | None = None
    until: str | None = None
    sort: str = "relevance"

    @property
    def text(self) -> str:
        """The query as a user types it into searchkit."""
        joined = " ".join(self.words)
        return f'"{joined}"' if self.phrase else joined


def _skip() -> frozenset[str]:
    from searchkit.analysis import stopwords

    return _SKIP | stopwords()


def _content_words(title: str) -> list[str]:
    skip = _skip()
    return [w.lower() for w in _WORD.findall(title) if w.lower() not in skip]


def _adjacent_pair(title: str) -> list[str] | None:
    skip = _skip()
    words = re.findall(r"[A-Za-z]+", title)
    pairs = [(a.lower(), b.lower()) for a, b in zip(words, words[1:])
             if len(a) >= 3 and len(b) >= 3 and a.lower() not in skip and b.lower() not in skip]
    return list(pairs[0]) if pairs else None


def draw(records: list[dict], seed: int = SEED) -> list[Query]:
    """The query list for these records (titles, sources and dates are drawn from them)."""
    rng = random.Random(seed)
    years = sorted({r["published"][:4] for r in records if r.get("published")})
    queries: list[Query] = []
    for kind, (n_words, count) in KINDS.items():
        made = 0
        while made < count:
            record = rng.choice(records)
            if kind == "phrase":
                words = _adjacent_pair(record["title"])
            else:
                pool = _content_words(record["title"] + " " + record.get("body", "")[:400])
                words = rng.sample(pool, n_words) if len(set(pool)) >= n_words and len(pool) >= n_words else None
                if words and len(set(words)) < n_words:
                    words = None
            if not words:
                continue
            made += 1
            q = Query(f"q{len(queries) + 1:03d}", kind, words, phrase=(kind == "phrase"))
            if kind == "source":
                q.source = record.get("source") or None
            elif kind == "dates" and years:
                start = rng.randrange(len(years))
                end = min(len(years) - 1, start + rng.randint(0, 2))
                q.since, q.until = f"{years[start]}-01-01", f"{years[end]}-12-31"
            elif kind == "newest":
                q.sort = "newest"
            queries.append(q)
    return queries


def write(queries: list[Query], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        for q in queries:
            out.write(json.dumps(asdict(q)) + "\n")


def load(path: Path) -> list[Query]:
    with open(path, encoding="utf-8") as handle:
        return [Query(**json.loads(line)) for line in handle if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description="Draw the benchmark queries from a corpus file.")
    parser.add_argument("corpus", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--records", type=int, default=10_000, help="draw from the first N records")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    write(draw(list(read_records(args.corpus, args.records)), args.seed), args.out)


if __name__ == "__main__":
    main()
