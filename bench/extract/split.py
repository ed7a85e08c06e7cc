"""The one split of ../shared/data/extraction-dev into a development part and a held-out part.

A page is held out when the first 8 bytes of SHA-256("<SEED>/<file name>"), read as an
unsigned big-endian integer, fall below HELD_OUT_SHARE of 2**64; every other page is for
development. Each page's part depends only on its own name and the seed, so the split is the
same on every machine and Python version, and a page added to the corpus later never moves
another one. The 17 pages of ../shared/data/html are forced into the development part: the
earlier rules were written against them, so they cannot measure anything held out.

`python bench/extract/split.py` rewrites split.json (committed); tests check that the file is
what this method gives. Rules are written looking at the development part only; the held-out
part is scored once rules are settled (`make bench-extract`).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1].parent / "shared" / "data"
CORPUS = DATA / "extraction-dev"
SPLIT = HERE / "split.json"
SEED = 21  # the issue that asked for the split
HELD_OUT_SHARE = 1 / 3


def held_out(name: str, seed: int = SEED, pinned: frozenset[str] = frozenset()) -> bool:
    """True if page `name` (its file name under pages/) belongs to the held-out part."""
    if name in pinned:
        return False
    digest = hashlib.sha256(f"{seed}/{name}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") < HELD_OUT_SHARE * 2**64


def pinned_pages(data: Path = DATA) -> frozenset[str]:
    """The extraction-dev names of the 17 pages in ../shared/data/html (kept in development)."""
    return frozenset(p.name + ".gz" for p in (data / "html").glob("*.html"))


def make_split(names: list[str], seed: int = SEED, pinned: frozenset[str] = frozenset()) -> dict:
    """{"seed", "method", "development": [...], "held_out": [...]} for page names `names`."""
    ordered = sorted(names)
    return {
        "seed": seed,
        "held_out_share": round(HELD_OUT_SHARE, 6),
        "method": __doc__.split("\n\n")[1].replace("\n", " "),
        "pinned_to_development": sorted(pinned & set(ordered)),
        "development": [n for n in ordered if not held_out(n, seed, pinned)],
        "held_out": [n for n in ordered if held_out(n, seed, pinned)],
    }


def corpus_names(corpus: Path = CORPUS) -> list[str]:
    return [a["file"] for a in json.loads((corpus / "annotations.json").read_text("utf-8"))]


def load() -> dict:
    """The committed split."""
    return json.loads(SPLIT.read_text("utf-8"))


def main() -> None:
    split = make_split(corpus_names(), SEED, pinned_pages())
    SPLIT.write_text(json.dumps(split, ensure_ascii=False, indent=1) + "\n", "utf-8")
    print(f"{len(split['development'])} development pages, {len(split['held_out'])} held out (seed {SEED})",
          file=sys.stderr)


if __name__ == "__main__":
    main()
