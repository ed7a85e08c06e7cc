"""The web page in a real browser: Debian's chromium under Playwright, against a real
`searchkit serve` on a loopback port over a temporary index of the demo corpus plus the
test corpus (so there are several sources and years)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import searchkit
from browser import DESKTOP, PHONE, chromium, serve
from searchkit.article import Article, clean
from conftest import CORPUS, ROOT

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:playwright")


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> str:
    tmp = tmp_path_factory.mktemp("browser")
    corpus = tmp / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in CORPUS), "utf-8")
    index = tmp / "index"
    exe = Path(sys.executable).with_name("searchkit")
    subprocess.run([str(exe), "--index", str(index), "import", str(ROOT / "seeds"), str(corpus)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # A syndicated copy of the Raqqa story, in its cluster (as the importer's dedupe would put it).
    searchkit.open_index(index).write([clean(Article(
        id="raqqa-wire", title="Fighters escape Raqqa in secret deal", source="Wire Service",
        body=CORPUS[0]["body"], published="2017-11-14T11:00:00+00:00", cluster="raqqa"))])
    with serve(index) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser, base):
    context = browser.new_context(viewport=DESKTOP, base_url=base)
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    yield page
    context.close()
    assert problems == []  # no CSP violation, no script error


def result_ids(page) -> list[str]:
    return [a.get_attribute("href").split("?")[0] for a in page.locator(".hit h2 a").all()]


def test_type_a_query_and_press_enter_updates_results_in_place(page):
    page.goto("/")
    page.evaluate("window.notReloaded = true")
    page.keyboard.press("/")  # focuses the box
    page.keyboard.type("journalist kidnapped")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=journalist+kidnapped")
    first = page.locator(".hit").first
    assert first.locator("h2 a").inner_text() == "Colombia: French Journalist Roméo Langlois Kidnapped"
    assert first.locator("mark").first.inner_text() in ("Journalist", "Kidnapped")
    assert page.locator(".hit mark").count() >= 10
    assert page.evaluate("window.notReloaded") is True  # JavaScript swapped the results in
    assert page.locator("#q").evaluate("el => el === document.activeElement")
    assert page.title() == "journalist kidnapped — searchkit"
    page.go_back()
    page.wait_for_url(re.compile(r"/$"))
    count = page.request.get(page.url.rstrip("/") + "/healthz").json()["articles"]
    assert count > 3000  # the demo corpus, the test corpus and a copy
    assert page.locator("#welcome-heading").inner_text() == f"Search {count:,} news articles"


def test_paginate_and_open_an_article_with_next_match(page, base):
    api = page.request.get(base + "/api/search?q=election").json()
    assert api["total"] > 20
    page.goto("/search?q=election")
    assert page.locator(".count").inner_text().startswith(f"{api['total']:,} results, page 1 of {api['pages']:,}")
    assert result_ids(page) == [f"/article/{h['id']}" for h in api["hits"]]
    page_one = result_ids(page)
    page.get_by_role("link", name="Next →").click()
    page.wait_for_url("**/search?q=election&page=2")
    assert page.locator(".pages [aria-current=page]").inner_text() == "2"
    page_two = result_ids(page)
    assert len(page_one) == len(page_two) == 10 and not set(page_one) & set(page_two)
    page.locator(".hit h2 a").first.click()
    page.wait_for_url(re.compile(r"/article/[^?]+\?q=election&page=2$"))  # the way back keeps the page
    assert page.locator("h1").inner_text() == page.locator("title").inner_text().removesuffix(" — searchkit")
    total = int(page.locator(".matchbar").get_attribute("data-matches"))
    assert total >= 1
    page.get_by_role("button", name="Next match ↓").click()
    assert page.locator("mark.current").get_attribute("id") == "m1"
    assert page.locator(".match-position").inner_text() == f"Match 1 of {total}"
    page.keyboard.press("p")  # wraps to the last match
    assert page.locator("mark.current").get_attribute("id") == f"m{total}"
    assert page.locator(".provenance .license a.license-link").count() == 1  # each story credits its license


def test_follow_the_atom_link(page, base):
    page.goto("/search?q=raqqa&source=Daily+Planet")
    href = page.get_by_role("link", name="Atom feed of this search").get_attribute("href")
    assert href == "/search.atom?q=raqqa&source=Daily+Planet"
    response = page.request.get(base + href)
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    feed = ET.fromstring(response.body())
    assert [e.text for e in feed.iter("{http://www.w3.org/2005/Atom}id")] == [base + href, base + "/article/raqqa"]


def test_works_without_javascript(browser, base):
    context = browser.new_context(viewport=DESKTOP, base_url=base, java_script_enabled=False)
    page = context.new_page()
    page.goto("/")
    page.fill("#q", "fighters")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=fighters")
    assert page.locator(".hit mark").first.inner_text().lower().startswith("fighter")
    page.select_option("#sort", "oldest")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**/search?q=fighters&sort=oldest&since=&until=")  # a plain GET form
    dates = page.locator(".hit time").evaluate_all("els => els.map(e => e.getAttribute('datetime'))")
    assert dates == sorted(dates) and len(dates) >= 3
    page.get_by_role("link", name="Remove filter Sort: Oldest first").click()
    page.wait_for_url("**/search?q=fighters")
    page.locator(".timeline a.bar").last.click()  # SVG links work without a script
    page.wait_for_url(re.compile(r"/search\?q=fighters&since=\d{4}(-\d\d)?&until=\d{4}(-\d\d)?$"))
    page.locator(".facet a").first.click()
    page.wait_for_url(re.compile(r"&source="))
    assert page.locator(".chips li").count() == 3  # the period, the source and "Clear all"
    context.close()


FOCUSED = """() => { const e = document.activeElement;
    return e.getAttribute('href') || e.id || e.tagName.toLowerCase() + ':' + e.textContent.trim(); }"""


def test_keyboard_only_focus_order_and_skip_link(page):
    page.goto("/search?q=raqqa&sort=newest")
    order = []
    for _ in range(9):
        page.keyboard.press("Tab")
        order.append(page.evaluate(FOCUSED))
    # skip link, brand, box, button, feed, the two downloads, the sort chip
    assert order[:8] == ["#main", "/search", "q", "button:Search", "/search.atom?q=raqqa",
                         "/api/export?format=csv&q=raqqa&sort=newest", "/api/export?format=jsonl&q=raqqa&sort=newest",
                         "/search?q=raqqa"]
    assert order[8].startswith("/article/")  # then the results
    page.keyboard.press("Enter")  # open the result that has focus, from the keyboard
    page.wait_for_url(re.compile(r"/article/"))
    assert page.locator("#main").get_attribute("tabindex") == "-1"  # the skip link's target takes focus


def test_phone_width_has_no_sideways_scrolling(browser, base):
    context = browser.new_context(viewport=PHONE, base_url=base, is_mobile=True, has_touch=True)
    page = context.new_page()
    for url in ("/", "/search?q=human+rights+activists", "/article/globalvoices-316447?q=journalist"):
        page.goto(url)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (url, width)
    page.goto("/search?q=human+rights+activists")
    box = page.locator(".refine").bounding_box()
    hit = page.locator(".hit").first.bounding_box()
    assert box["y"] > hit["y"] and box["width"] <= PHONE["width"]  # filters go below the results
    page.get_by_role("link", name="Filters").click()
    assert page.url.endswith("#refine")
    page.locator(".facet a", has_text="Global Voices").tap()
    page.wait_for_url(re.compile(r"&source=Global\+Voices$"))
    page.locator("#q").fill("fighters")
    page.keyboard.press("Enter")  # a new query keeps the filter
    page.wait_for_url("**/search?q=fighters&source=Global+Voices")
    assert page.locator(".hit mark").first.inner_text().lower().startswith("fighter")
    context.close()



def test_click_a_source_facet_then_a_timeline_bar(page):
    page.goto("/search?q=raqqa")
    facet = page.locator(".facet a", has_text="Daily Planet")
    assert facet.locator(".n").inner_text() == "1"
    facet.click()
    page.wait_for_url("**/search?q=raqqa&source=Daily+Planet")
    assert result_ids(page) == ["/article/raqqa"]
    assert page.locator(".chips a").first.inner_text() == "Source: Daily Planet ×"
    page.locator(".facet a.on").click()  # a second click removes the filter
    page.wait_for_url("**/search?q=raqqa")
    assert len(result_ids(page)) > 1
    bars = page.locator(".timeline a.bar")
    labels = bars.evaluate_all("els => els.map(e => e.getAttribute('aria-label'))")
    assert "Nov 2017: 1 match" in labels
    bars.nth(labels.index("Nov 2017: 1 match")).click()
    page.wait_for_url("**/search?q=raqqa&since=2017-11&until=2017-11")
    assert result_ids(page) == ["/article/raqqa"]
    assert page.locator(".chips a").first.inner_text() == "Published 2017-11 ×"
    page.locator(".chips a").first.click()
    page.wait_for_url("**/search?q=raqqa")


def test_did_you_mean_and_n_similar(page):
    page.goto("/search?q=raqa")  # no results, one edit from raqqa: its results at once
    assert page.locator(".suggestion").inner_text() == "Showing results for raqqa — search instead for raqa"
    page.get_by_role("link", name="raqa").click()
    page.wait_for_url("**/search?q=raqa&as_typed=1")
    assert page.locator("#none-heading").inner_text() == "No articles match “raqa”"
    page.get_by_role("link", name="raqqa").click()
    page.wait_for_url("**/search?q=raqqa")
    hit = page.locator(".hit", has=page.locator(".cluster"))
    assert hit.count() == 1
    copies = hit.locator(".cluster li a")
    assert not copies.first.is_visible()
    hit.locator("summary").click()
    assert hit.locator("summary").inner_text() == "1 similar" and copies.first.is_visible()
    shown = hit.locator("h2 a").get_attribute("href").split("?")[0]
    assert {shown, copies.first.get_attribute("href").split("?")[0]} == {"/article/raqqa", "/article/raqqa-wire"}


def test_article_page_lists_similar_articles(page):
    page.goto("/article/raqqa")
    similar = page.locator(".similar li a")
    assert similar.count() == 5
    hrefs = similar.evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert "/article/raqqa-wire" not in hrefs  # its own copy is not "similar"
    first = similar.first.inner_text()
    similar.first.click()
    assert page.locator("h1").inner_text() == first


# Every visible text node: its colour against the first opaque background behind it (WCAG 2 ratio).
CONTRAST = """() => {
  const channel = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  const lum = c => { const [r, g, b] = c.match(/[\\d.]+/g).map(Number); return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b); };
  const background = el => {
    for (; el; el = el.parentElement) {
      const c = getComputedStyle(el).backgroundColor, parts = c.match(/[\\d.]+/g);
      if (parts && (parts.length < 4 || Number(parts[3]) > 0.5)) return c;
    }
    return "rgb(255, 255, 255)";
  };
  const low = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!node.textContent.trim() || el.closest("svg")) continue;
    const box = el.getBoundingClientRect(), style = getComputedStyle(el);
    if (box.width < 2 || box.height < 2 || style.visibility === "hidden") continue;
    const a = lum(style.color), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(style.fontSize), large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) low.push(`${node.textContent.trim().slice(0, 30)}: ${ratio.toFixed(2)}`);
  }
  return low;
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_contrast_is_wcag_aa(page, scheme):
    page.emulate_media(color_scheme=scheme)
    for url in ("/", "/search?q=raqqa+fighters&source=Daily+Planet&sort=newest", "/search?q=election&page=2",
                "/search?q=journalist&since=2012&until=2012",
                "/search?q=zzqqxx", "/article/raqqa?q=raqqa+fighters"):
        page.goto(url)
        page.locator("#q").focus()
        assert page.evaluate(CONTRAST) == [], url
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == {"light": "rgb(255, 255, 255)", "dark": "rgb(18, 20, 23)"}[scheme]


BARS = "els => els.map(e => [e.dataset.period, Number(e.dataset.count), e.getAttribute('class')])"


def _count(page) -> int:
    return int(page.locator(".count").inner_text().split()[0].replace(",", ""))


def _context_chart(page):
    return page.locator("figure.timeline", has=page.locator("#timeline-caption"))


def test_click_a_timeline_bar_keeps_the_bars_around_and_all_dates_goes_back(page):
    page.goto("/search?q=journalist")
    chart = _context_chart(page)
    whole = chart.locator("a.bar").evaluate_all(BARS)
    assert len(whole) >= 5 and all(len(p) == 4 and cls == "bar" for p, _, cls in whole)  # years, none chosen
    total = _count(page)
    busiest = max(range(len(whole)), key=lambda i: whole[i][1])
    period, count = whole[busiest][:2]
    chart.locator("a.bar").nth(busiest).click()
    page.wait_for_url(f"**/search?q=journalist&since={period}&until={period}")
    assert _count(page) == count < total
    assert chart.locator('a.bar[tabindex="0"]').evaluate_all("els => els.map(e => e.dataset.period)") == [period]
    narrowed = chart.locator("a.bar").evaluate_all(BARS)
    # Every bar of the whole search is still drawn, the chosen one marked, the others pale.
    assert [(p, c) for p, c, _ in narrowed] == [(p, c) for p, c, _ in whole]
    assert [cls for p, _, cls in narrowed] == ["bar on" if p == period else "bar out" for p, _, _ in whole]
    pale = float(chart.locator("a.bar.out .fill").first.evaluate("e => getComputedStyle(e).opacity"))
    assert 0 < pale < 1
    # The chosen year gets a chart of its months, whose bars narrow further.
    detail = page.locator("figure.timeline", has=page.locator("#timeline-detail-caption"))
    months = detail.locator("a.bar").evaluate_all(BARS)
    assert months and all(p.startswith(period + "-") for p, _, _ in months)
    assert sum(c for _, c, _ in months) == count
    page.get_by_role("link", name="← All dates").click()
    page.wait_for_url("**/search?q=journalist")
    assert _count(page) == total
    assert chart.locator("a.bar").evaluate_all(BARS) == whole
    page.go_back()  # the browser's back button returns to the chosen year
    page.wait_for_url(f"**/search?q=journalist&since={period}&until={period}")
    chart.locator("a.bar.on").wait_for()  # the page is swapped in after the address changes
    assert _count(page) == count and chart.locator("a.bar.out").count() == len(whole) - 1


def test_drag_across_timeline_bars_narrows_to_the_range_and_keys_do_too(page):
    page.goto("/search?q=journalist")
    chart = _context_chart(page)
    whole = chart.locator("a.bar").evaluate_all(BARS)
    first, last = 1, len(whole) - 2
    start = chart.locator("a.bar .target").nth(first).bounding_box()
    end = chart.locator("a.bar .target").nth(last).bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + 40)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + 40, steps=8)
    expected = sum(c for _, c, _ in whole[first:last + 1])
    assert chart.locator("a.bar.picking").count() == last - first + 1
    assert chart.locator(".timeline-status").inner_text().endswith(
        f"{expected:,} matches — release, or press Enter, to show them")
    page.mouse.up()
    since, until = whole[first][0], whole[last][0]
    page.wait_for_url(f"**/search?q=journalist&since={since}&until={until}")
    assert _count(page) == expected
    narrowed = chart.locator("a.bar").evaluate_all(BARS)
    assert [(p, c) for p, c, _ in narrowed] == [(p, c) for p, c, _ in whole]
    assert [cls for _, _, cls in narrowed] == ["bar in" if first <= i <= last else "bar out" for i in range(len(whole))]
    page.go_back()
    page.wait_for_url("**/search?q=journalist")
    page.wait_for_function("() => !document.querySelector('.timeline a.bar.out')")
    assert _count(page) > expected
    # From the keyboard: one Tab stop per chart; Shift+arrows stretch a range, Enter shows it.
    assert chart.locator('a.bar[tabindex="0"]').count() == 1
    chart.locator('a.bar[tabindex="0"]').focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    assert chart.locator("a.bar.picking").count() == 3
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/search?q=journalist&since={whole[1][0]}&until={whole[3][0]}")
    assert _count(page) == sum(c for _, c, _ in whole[1:4])


def test_a_timeline_bar_narrows_and_all_dates_goes_back_without_javascript(browser, base):
    context = browser.new_context(viewport=DESKTOP, base_url=base, java_script_enabled=False)
    page = context.new_page()
    page.goto("/search?q=journalist")
    whole = _context_chart(page).locator("a.bar").evaluate_all(BARS)
    _context_chart(page).locator("a.bar").first.click()
    page.wait_for_url(f"**/search?q=journalist&since={whole[0][0]}&until={whole[0][0]}")
    assert _count(page) == whole[0][1]
    assert _context_chart(page).locator("a.bar.out").count() == len(whole) - 1
    page.get_by_role("link", name="← All dates").click()
    page.wait_for_url("**/search?q=journalist")
    assert _context_chart(page).locator("a.bar").evaluate_all(BARS) == whole
    context.close()
