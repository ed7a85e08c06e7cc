"""The development / held-out split of ../shared/data/extraction-dev (bench/extract/split.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SPLIT_PY = Path(__file__).resolve().parent.parent / "bench" / "extract" / "split.py"


def load_split_module():
    spec = importlib.util.spec_from_file_location("extract_split", SPLIT_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_split_is_stable_same_seed_same_files():
    split = load_split_module()
    names = split.corpus_names()
    pinned = split.pinned_pages()
    committed = split.load()
    made = split.make_split(names, committed["seed"], pinned)
    assert made == committed  # the committed file is what the documented method gives
    assert split.make_split(list(reversed(names)), committed["seed"], pinned) == made  # order does not matter
    assert split.make_split(names, committed["seed"] + 1, pinned)["held_out"] != made["held_out"]


def test_split_parts_cover_the_corpus_once_and_keep_the_tuned_pages_in_development():
    split = load_split_module()
    committed = split.load()
    development, held_out = set(committed["development"]), set(committed["held_out"])
    assert not development & held_out
    assert development | held_out == set(split.corpus_names())
    assert len(split.pinned_pages()) == 17 and split.pinned_pages() <= development
    assert 0.28 < len(held_out) / (len(development) + len(held_out)) < 0.38
    # A page's part depends on its own name only: dropping other pages moves nobody.
    some = sorted(development | held_out)[::7]
    assert set(split.make_split(some, committed["seed"], split.pinned_pages())["held_out"]) == held_out & set(some)
