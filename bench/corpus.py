"""Seeded article-length corpora built from the real Reuters headlines in news-large.

news-large (../shared/data/news-large) has 1M real headlines with dates and URLs but no
bodies. Each generated article keeps its record's real id, title, date, source and URL, and
gets a body of *other* real headlines recombined into sentences and paragraphs:

- body length (characters) is drawn from a log-normal fitted to the 2,225 real BBC bodies in
  news-sample (mu 7.59, sigma 0.472 of ln(chars): mean ~2,230, median ~1,930, long right tail);
- sentences are headlines drawn uniformly from a pool of the first POOL records (a fixed set,
  so the Nth article is the same whatever the corpus size: the 10k corpus is a prefix of the
  100k one), each ending with a full stop; 2-5 sentences make a paragraph;
- one random.Random(seed) drives everything, so `python -m bench.corpus 100000` writes the
  same bytes every time.

What this is not: the words are real news words with real (Zipfian) frequencies, but an
article is not about one topic, so phrase and co-occurrence statistics are flatter than in
real articles. news-sample (real BBC full text) is the realism check beside it.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import random
from pathlib import Path
from typing import Iterator

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
NEWS_LARGE = DATA / "news-large" / "articles.jsonl.gz"
NEWS_SAMPLE = DATA / "news-sample" / "articles.jsonl.gz"
CORPUS_DIR = Path(__file__).resolve().parent / "data"
SEED = 8
POOL = 200_000
# ln(body characters) of the BBC articles in news-sample: mean and standard deviation.
LOG_MU, LOG_SIGMA = 7.59, 0.472
MIN_CHARS, MAX_CHARS = 300, 30_000


def read_records(path: Path = NEWS_LARGE, limit: int | None = None) -> Iterator[dict]:
    """The records of a JSON-lines (gzip) file, in file order, at most `limit`."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for n, line in enumerate(handle):
            if limit is not None and n >= limit:
                return
            yield json.loads(line)


def _sentence(headline: str) -> str:
    headline = headline.strip()
    return headline if headline[-1:] in ".?!" else headline + "."


def generate(size: int, seed: int = SEED, source: Path = NEWS_LARGE, pool_size: int = POOL) -> Iterator[dict]:
    """`size` articles: the first `size` records of `source` with recombined-headline bodies."""
    pool = [r["title"] for r in read_records(source, pool_size) if r.get("title")]
    rng = random.Random(seed)
    for record in read_records(source, size):
        target = min(MAX_CHARS, max(MIN_CHARS, int(math.exp(rng.gauss(LOG_MU, LOG_SIGMA)))))
        paragraphs, length = [], 0
        while length < target:
            sentences = [_sentence(rng.choice(pool)) for _ in range(rng.randint(2, 5))]
            paragraph = " ".join(sentences)
            paragraphs.append(paragraph)
            length += len(paragraph) + 2
        yield {
            "id": record["id"], "url": record.get("url") or "", "title": record["title"],
            "body": "\n\n".join(paragraphs), "source": record.get("source") or "",
            "published": record.get("published"),
        }


def corpus_path(size: int, seed: int = SEED, directory: Path = CORPUS_DIR) -> Path:
    return directory / f"reuters-{size}-seed{seed}.jsonl.gz"


def _cached_sizes(seed: int, directory: Path) -> list[int]:
    """Sizes of the finished corpus files for `seed` in `directory`, smallest first."""
    sizes = []
    for found in directory.glob(f"reuters-*-seed{seed}.jsonl.gz"):
        middle = found.name[len("reuters-"):-len(f"-seed{seed}.jsonl.gz")]
        if middle.isdigit():
            sizes.append(int(middle))
    return sorted(sizes)


def ensure_corpus(size: int, seed: int = SEED, directory: Path = CORPUS_DIR,
                  source: Path = NEWS_LARGE, pool_size: int = POOL) -> Path:
    """The generated corpus file for `size` (written once, then reused).

    Files are named by size and seed, so one directory can serve several checkouts and runs
    (`python -m bench.run --work DIR` keeps them in DIR/corpora). Because the Nth article does
    not depend on the corpus size, a smaller corpus is cut from a larger cached one when there
    is one (the same bytes as generating it, in a fraction of the time).
    """
    path = corpus_path(size, seed, directory)
    if path.exists():
        return path
    directory.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # concurrent runs never share a tmp
    larger = [n for n in _cached_sizes(seed, directory) if n > size]
    with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=1) as out:
        if larger:
            opener = gzip.open(corpus_path(larger[0], seed, directory), "rt", encoding="utf-8")
            with opener as handle:
                for _, line in zip(range(size), handle):
                    out.write(line)
        else:
            for article in generate(size, seed, source, pool_size):
                out.write(json.dumps(article, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


def sample_corpus(directory: Path = CORPUS_DIR, source: Path = NEWS_SAMPLE) -> Path:
    """news-sample (real BBC full text) as a corpus file every engine can read."""
    path = directory / "bbc-news-sample.jsonl.gz"
    if path.exists():
        return path
    directory.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=1) as out:
        for r in read_records(source):
            out.write(json.dumps({"id": r["id"], "url": r.get("url") or "", "title": r["title"],
                                  "body": r["body"], "source": r.get("source") or "",
                                  "published": r.get("published")}, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


SHARD = 10_000  # articles per file when a corpus is split for `searchkit import DIR`


def shards(path: Path, per_file: int = SHARD) -> Path:
    """The corpus split into plain JSON-lines files of `per_file` articles, in a directory.

    searchkit's importer reads one file into memory and refuses files over 64 MB (a 100k
    corpus is 240 MB), so it imports a directory of parts, as a user with a big archive would.
    """
    target = path.parent / (path.name.split(".")[0] + ".parts")
    if (target / "complete").exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    out, n = None, 0
    for n, record in enumerate(read_records(path)):
        if n % per_file == 0:
            if out:
                out.close()
            out = open(target / f"part-{n // per_file:05d}.jsonl", "w", encoding="utf-8")
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
    if out:
        out.close()
    (target / "complete").write_text(f"{n + 1}\n")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description="Write a seeded article-length corpus.")
    parser.add_argument("size", type=int)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    print(ensure_corpus(args.size, args.seed))


if __name__ == "__main__":
    main()
