"""Shared fixtures: every test gets its own temporary index (never the real index/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import searchkit
from searchkit.article import Article, clean
from searchkit.cli import main

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
SEED_ARTICLE = ROOT / "seeds" / "000_709a6672cb74b1d1.txt"

# A tiny literal corpus whose ranking the tests assert exactly.
CORPUS = [
    dict(id="raqqa", title="Fighters escape Raqqa in secret deal",
         body="Thousands of ISIS fighters left Raqqa in a convoy.\n\nThe coalition watched from the air.",
         source="Daily Planet", author="Lois Lane", published="2017-11-14T09:00:00+00:00",
         url="https://planet.example/raqqa"),
    dict(id="mosul", title="Battle for Mosul ends",
         body="Iraqi forces retook Mosul after months of fighting against ISIS.",
         source="Daily Planet", published="2017-07-10T12:00:00+00:00"),
    dict(id="boxer", title="Prize fighter wins title",
         body="The fighter from Leeds won the championship bout on Saturday.",
         source="Sports Desk", published="2016-03-01T20:00:00+00:00"),
    dict(id="budget", title="Budget vote delayed",
         body="Parliament delayed the budget vote until next week. Raqqa was not mentioned.",
         source="Gazette", published="2018-01-05T08:00:00+00:00"),
]


def corpus_articles() -> list[Article]:
    return [clean(Article(**record)) for record in CORPUS]


@pytest.fixture
def index_path(tmp_path: Path) -> Path:
    return tmp_path / "index"


@pytest.fixture
def index(index_path: Path) -> searchkit.Index:
    ix = searchkit.open_index(index_path, create=True)
    ix.write(corpus_articles())
    return ix


@pytest.fixture
def corpus_file(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in CORPUS), "utf-8")
    return path


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def busy_port(runner, index_path, corpus_file):
    """A loopback port another socket is listening on, and an index of the corpus to serve."""
    import socket

    runner.invoke(main, ["--index", str(index_path), "import", str(corpus_file)])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]
