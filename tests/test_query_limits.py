"""Every query is bounded (issue 20): fuzzy edits capped, wildcard expansions capped, a time
budget, and expensive queries queued behind a slot so cheap ones stay fast. Each cap says so."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest

import searchkit
from conftest import corpus_articles
from reliability_support import Client, serving
from searchkit.article import Article, clean
from searchkit.query import parse
from searchkit.search import BUSY, MAX_EXPANSIONS, TIMED_OUT

ZETAS = [f"zeta{n:02d}" for n in range(MAX_EXPANSIONS + 10)]


@pytest.fixture(scope="module")
def limits_index(tmp_path_factory) -> searchkit.Index:
    """The test corpus plus one article for each of 60 words zeta00..zeta59."""
    index = searchkit.open_index(tmp_path_factory.mktemp("limits") / "index", create=True)
    index.write(corpus_articles() + [clean(Article(id=word, title=f"Report {word}", body=f"The {word} report."))
                                     for word in ZETAS])
    return index


def test_fuzzy_edits_are_capped_at_two_and_the_notice_says_so(limits_index):
    result = searchkit.search(limits_index, "fightrs~9")
    assert result.notice == "fightrs~9: at most 2 edits for a word this long, searched with 2"
    assert [hit.id for hit in result.hits] == ["boxer", "raqqa"]  # "fighter", "fighters": 1 edit away


def test_a_short_fuzzy_word_gets_the_edits_its_length_allows(limits_index):
    result = searchkit.search(limits_index, "mosl~2")
    assert result.notice == "mosl~2: at most 1 edit for a word this long, searched with 1"
    assert [hit.id for hit in result.hits] == ["mosul"]


def test_a_wildcard_stands_for_at_most_max_expansions_words_and_says_so(limits_index):
    result = searchkit.search(limits_index, "zeta*", limit=100)
    assert result.notice == f"zeta* stands for more than {MAX_EXPANSIONS} words: searched the first {MAX_EXPANSIONS}"
    assert sorted(hit.id for hit in result.hits) == ZETAS[:MAX_EXPANSIONS]
    assert searchkit.search(limits_index, "zeta0*").notice == ""  # ten words: no cap


def test_a_search_past_its_time_budget_returns_what_it_has_and_says_so(limits_index):
    result = searchkit.search(limits_index, "zeta* OR raqqa", time_budget=0.0)
    assert result.timed_out is True
    assert result.notice.startswith(TIMED_OUT.split(":")[0] + ": showing what it found in its first 0.")
    assert result.to_dict()["timed_out"] is True
    unhurried = searchkit.search(limits_index, "zeta* OR raqqa")
    assert unhurried.timed_out is False and unhurried.to_dict()["timed_out"] is False


def test_an_expensive_query_waits_for_a_slow_slot_and_cheap_ones_do_not(limits_index):
    slots = threading.BoundedSemaphore(1)
    slots.acquire()  # another slow search holds the only slot
    started = time.monotonic()
    busy = searchkit.search(limits_index, "zeta*", time_budget=0.2, slow_slots=slots)
    assert time.monotonic() - started < 2
    assert (busy.timed_out, busy.total, busy.hits, busy.notice) == (True, 0, [], BUSY)
    cheap = searchkit.search(limits_index, "raqqa fighters", time_budget=0.2, slow_slots=slots)
    assert (cheap.timed_out, [hit.id for hit in cheap.hits]) == (False, ["raqqa", "boxer", "budget"])
    slots.release()
    assert searchkit.search(limits_index, "zeta*", slow_slots=slots).total == MAX_EXPANSIONS


@pytest.mark.parametrize("text", ['x-published:""', 'profit;published:""', 'x(published:"")', "imported:2017"])
def test_date_fields_are_never_searched_as_words(limits_index, text):
    with limits_index.searcher() as searcher:
        parsed = parse(text, searcher.schema, reader=searcher.reader())
    assert {leaf.fieldname for leaf in parsed.query.leaves() if hasattr(leaf, "fieldname")} <= {"title", "body"}


def test_slow_fuzzy_requests_do_not_starve_the_server(limits_index):
    # fighters~9 built a nine-edit automaton: seconds each, and four of them held every thread.
    with serving(limits_index.path) as (host, port, _):
        def get(path: str) -> tuple[float, int, dict]:
            client = Client(host, port)
            started = time.monotonic()
            status, _, body = client.get(path)
            client.close()
            return time.monotonic() - started, status, json.loads(body)

        get("/healthz")
        with ThreadPoolExecutor(5) as pool:
            slow = [pool.submit(get, f"/api/search?q={quote('fighters~9 goverments~7')}") for _ in range(4)]
            time.sleep(0.05)  # let the slow ones take the server's threads first
            seconds, status, health = get("/healthz")
            answers = [future.result() for future in slow]
    assert (status, health["status"]) == (200, "ok")
    assert seconds < 1, f"/healthz took {seconds:.1f} s behind four fuzzy searches"
    for took, status, data in answers:
        assert status == 200 and data["timed_out"] is False and took < 5
        assert data["notice"].startswith("fighters~9: at most 2 edits")
