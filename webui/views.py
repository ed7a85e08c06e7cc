"""Routes: the search page, its Atom feed, article pages, the JSON API and a health check.

Each route reads its parameters (params.py), asks the library, and renders; the work of
searching, ranking and highlighting is searchkit's.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import replace
from html import escape
from urllib.parse import quote, urlencode

from flask import (Blueprint, Response, abort, current_app, jsonify, render_template, request,
                   url_for)
from markupsafe import Markup

from searchkit.display import shown_article
from searchkit.archive import date_presets, newest_published
from searchkit.dates import since_until
from searchkit.errors import SearchkitError
from searchkit.export import EXPORT_FORMATS, export_lines, matching_articles
from searchkit.query import QueryError
from searchkit.search import SORTS, SearchResult, cluster_copies, highlight_terms, search
from searchkit.similar import ArticleNotFoundError, similar
from searchkit.snippets import highlight
from searchkit.wording import plural

from .credits import credit
from .feed import Entry, render_feed
from .params import SORT_LABELS, SearchParams
from .timeline import bars, zoom

bp = Blueprint("web", __name__)
_URL = re.compile(r"https?://[^\s<>\"']+")
FEED_SIZE = 20
SIMILAR_SIZE = 5


def _index():
    return current_app.extensions["searchkit_index"]


def _int(name: str, default: int, low: int, high: int) -> int:
    try:
        return max(low, min(high, int(request.args.get(name, default))))
    except ValueError:
        return default


def _run_search(params: SearchParams) -> tuple[SearchResult | None, str]:
    """(result, error message) for the parameters; (None, "") when there is no query."""
    if not params.q:
        return None, ""
    try:
        return search(_index(), params.q, slow_slots=current_app.extensions["searchkit_slow_slots"],
                      **params.search_kwargs()), ""
    except QueryError as exc:
        return None, str(exc)
    except ValueError as exc:
        return None, f"bad parameter: {exc}"


bp.app_template_filter("plural")(plural)


@bp.app_template_filter("linkify")
def linkify(text: str) -> Markup:
    """Escape text and turn http(s) URLs in it into links."""
    out, last = [], 0
    for m in _URL.finditer(text or ""):
        out.append(escape(text[last:m.start()]))
        url = escape(m.group(0))
        out.append(f'<a href="{url}" rel="noopener noreferrer">{url}</a>')
        last = m.end()
    out.append(escape((text or "")[last:]))
    return Markup("".join(out))


# The characters werkzeug leaves as they are in a query string and in a path part it builds
# (url_for; see search_urls and article_urls).
QUERY_SAFE = "!$'()*,/:;?@"
PATH_SAFE = "!$&'()*+,/:;=@"
ID_MARK = "\x00"  # a placeholder article id (quoted %00), which no real one can be mistaken for


def search_urls() -> Callable[[dict], str]:
    """A function of URL arguments (SearchParams.args) giving the search page's URL, as
    url_for("web.search_page", **args) writes it: the path built once by url_for, the query
    string as werkzeug encodes one (each value of a list as its own parameter, in order). A
    search page links the same search some 20-40 times (timeline bars, pages, presets,
    filters), and url_for's rule look-up and build was a third of the page's rendering."""
    base = url_for("web.search_page")

    def url(args: dict[str, str | list[str]]) -> str:
        pairs = [(name, v) for name, value in args.items()
                 for v in (value if isinstance(value, (list, tuple, set)) else (value,)) if v is not None]
        return f"{base}?{urlencode(pairs, safe=QUERY_SAFE)}" if pairs else base

    return url


def article_urls(args: dict[str, str | list[str]]) -> Callable[[str], str]:
    """A function of an article id giving url_for("web.article_page", article_id=id, **args):
    url_for builds the URL once around a placeholder id, and each id goes in quoted as
    werkzeug quotes a path part. A results page links an article from every hit."""
    before, after = url_for("web.article_page", article_id=ID_MARK, **args).split(quote(ID_MARK), 1)
    return lambda article_id: f"{before}{quote(article_id, safe=PATH_SAFE)}{after}"


def page_numbers(page: int, pages: int) -> list[int]:
    """The page links the pager shows: the first and last pages and two either side of
    `page` (which may lie past the last), in order. Worked out here rather than by filtering
    every page number in the template: a common word's search has thousands of pages."""
    return sorted({1, pages} | set(range(max(1, page - 2), min(pages, page + 2) + 1)))


def _marked(fragments, counter: list[int]) -> Markup:
    """Fragments as HTML with each match a numbered <mark id="mN"> for the "next match" jump."""
    out = []
    for text, is_match in fragments:
        if is_match:
            counter[0] += 1
            out.append(f'<mark id="m{counter[0]}">{escape(text)}</mark>')
        else:
            out.append(escape(text))
    return Markup("".join(out))


@bp.route("/")
@bp.route("/search")
def search_page():
    """The search page: the help on the query language without a query, else the results."""
    params = SearchParams.from_args(request.args)
    result, error = _run_search(params)
    timeline = detail = []
    if result:
        # A narrowed search draws the whole search's bars around the chosen ones (timeline_around).
        chosen = since_until(params.since, params.until) if params.since or params.until else None
        timeline = bars(result.timeline_around or result.timeline, chosen=chosen)
        detail = bars(result.timeline) if zoom(result.timeline_around, result.timeline) else []
    presets, anchor = date_presets(newest_published(_index()) if result and hasattr(_index(), "arrays") else None)
    copies = cluster_copies(_index(), result.hits, result.query if result else "", params.since or None, params.until or None,
                            params.source or None) if result and not result.timed_out else {}
    # A corrected search shows the correction's results: Download writes those, not the typo's.
    shown = replace(params, q=result.query) if result and result.corrected_from else params
    return render_template(
        "search.html", result=result, error=error, params=params, q=params.q, sorts=SORTS,
        sort_labels=SORT_LABELS, timeline=timeline, timeline_detail=detail, presets=presets, presets_anchor=anchor, copies=copies,
        page_numbers=page_numbers(result.page, result.pages) if result else [], search_url=search_urls(),
        article_count=len(_index()) if not params.q else 0,
        feed_url=url_for("web.search_feed", **params.args(sort="relevance", limit=10)) if params.q else "",
        export_urls={fmt: url_for("web.api_export", format=fmt, **shown.args(limit=10)) for fmt in EXPORT_FORMATS}
        if params.q else {},
        # An article opened from the results highlights the words shown and leads back to this page.
        article_url=article_urls(shown.args(page=shown.page, as_typed=False)))


@bp.route("/search.atom")
def search_feed():
    """The newest matches of a search as Atom: a saved search to follow in a feed reader
    (always newest first, whatever the sort, so new articles come in at the top)."""
    params = SearchParams.from_args(request.args)
    if not params.q:
        abort(400, "missing parameter q: /search.atom?q=words")
    feed_params = SearchParams(q=params.q, sort="newest", since=params.since, until=params.until,
                               source=params.source, limit=FEED_SIZE)
    result, error = _run_search(feed_params)
    if error:
        abort(400, error)
    entries = [
        Entry(id=url_for("web.article_page", article_id=hit.id, _external=True),
              title=hit.title, link=url_for("web.article_page", article_id=hit.id, q=params.q, _external=True),
              original=hit.url, author=hit.author, source=hit.source, published=hit.published,
              summary_html=hit.snippet)
        for hit in result.hits
    ]
    body = render_feed(title=f"searchkit: {params.q}", entries=entries,
                       feed_url=url_for("web.search_feed", _external=True, **params.args(sort="relevance", limit=10)),
                       page_url=url_for("web.search_page", _external=True, **params.args()))
    return Response(body, mimetype="application/atom+xml")


@bp.route("/article/<path:article_id>")
def article_page(article_id: str):
    """One stored article: the query's matches highlighted and numbered, provenance, similar."""
    try:
        article = _index().get(article_id)
    except SearchkitError:
        article = None
    if article is None:
        abort(404)
    article = shown_article(article)
    search_params = SearchParams.from_args(request.args)  # the search it was opened from, for the way back
    q = search_params.q
    stems: set[str] = set()
    phrases: list = []
    if q:
        try:
            stems, phrases = highlight_terms(_index(), q)
        except QueryError:
            pass
    counter = [0]
    title = _marked(highlight(article.display_title, stems, phrases), counter)
    paragraphs = [_marked(highlight(p, stems, phrases), counter) for p in article.body.split("\n\n") if p]
    duplicate_of = None
    if article.cluster and article.cluster != article.id:
        duplicate_of = _index().get(article.cluster)
        duplicate_of = shown_article(duplicate_of) if duplicate_of else None
    return render_template("article.html", article=article, paragraphs=paragraphs, q=q, title=title,
                           credit=credit(article.license),
                           matches=counter[0], duplicate_of=duplicate_of,
                           similar=similar(_index(), article.id, limit=SIMILAR_SIZE),
                           back_url=url_for("web.search_page", **search_params.args(page=search_params.page)) if q else "",
                           back_filters=" · ".join(c.label for c in search_params.chips() if c.kind == "filter"))


@bp.route("/api/search")
def api_search():
    """/api/search: the page's parameters, the library's result as JSON, paging links, warnings."""
    params = SearchParams.from_args(request.args)
    result, error = _run_search(params)
    if error:
        return jsonify({"error": error}), 400
    if result is None:
        return jsonify({"error": "missing parameter q: /api/search?q=words"}), 400
    data = result.to_dict()
    data["warnings"] = list(params.problems)  # bad parameters fall back, as on the page, and say so
    data["links"] = _page_links(result)
    return jsonify(data)


def _page_links(result) -> dict:
    """URLs of the previous and next pages of this /api/search (None at either end)."""
    args = request.args.to_dict()

    def page(number: int) -> str:
        return url_for("web.api_search", **{**args, "page": number})

    # Past the last page, "prev" is the last page (page 50 of a one-page result links page 1).
    return {"prev": page(min(result.page - 1, result.pages)) if result.page > 1 else None,
            "next": page(result.page + 1) if result.page < result.pages else None}


@bp.route("/api/export")
def api_export():
    """Every match of a search (the page's parameters; all articles without q), streamed as
    JSON lines (format=jsonl, the default) or CSV (format=csv), as `searchkit export` writes."""
    params = SearchParams.from_args(request.args)
    fmt = request.args.get("format") or "jsonl"
    if fmt not in EXPORT_FORMATS:
        return jsonify({"error": f"unknown format {fmt[:40]!r}: use format=jsonl or format=csv"}), 400
    articles = matching_articles(_index(), params.q or None, since=params.since or None,
                                 until=params.until or None, source=list(params.source) or None,
                                 sort=params.sort if request.args.get("sort") else None)
    try:  # run the search now, so a bad query is a 400, not a download that breaks off
        first = next(articles, None)
    except (QueryError, ValueError) as exc:
        return jsonify({"error": str(exc)}), 400
    lines = export_lines(itertools.chain([first] if first else [], articles), fmt)
    name = "searchkit-" + (re.sub(r"[^a-z0-9]+", "-", params.q.lower()).strip("-")[:60] or "articles")
    mimetype = "text/csv" if fmt == "csv" else "application/x-ndjson"
    return Response(lines, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'})


@bp.route("/api/article/<path:article_id>")
def api_article(article_id: str):
    """The stored article as JSON: every field (origin and cluster included), as `searchkit
    export` writes it; 404 with {"error"} when there is no such article."""
    article = _index().get(article_id)
    if article is None:
        return jsonify({"error": f"no article with id {article_id!r}"}), 404
    return jsonify(article.to_dict())


@bp.route("/api/similar/<path:article_id>")
def api_similar(article_id: str):
    """Articles like this one (its own near-duplicates left out): {"id", "hits"}."""
    try:
        hits = similar(_index(), article_id, limit=_int("limit", 5, 1, 50))
    except ArticleNotFoundError as exc:
        return jsonify({"error": str(exc)}), 404
    return jsonify({"id": article_id, "hits": [h.to_dict() for h in hits]})


@bp.route("/healthz")
def healthz():
    try:
        count = len(_index())
    except SearchkitError as exc:
        return jsonify({"status": "error", "error": str(exc)}), 503
    return jsonify({"status": "ok", "articles": count})


@bp.app_errorhandler(400)
def bad_request(exc):
    if request.path.startswith("/api/") or request.path.endswith(".atom"):
        return jsonify({"error": exc.description}), 400
    return render_template("error.html", message=exc.description), 400


@bp.app_errorhandler(404)
def not_found(_):
    if request.path.startswith("/api/"):
        return jsonify({"error": "not found"}), 404
    return render_template("error.html", message="There is no such page or article."), 404


@bp.app_errorhandler(SearchkitError)
def searchkit_error(exc):
    if request.path.startswith("/api/"):
        return jsonify({"error": str(exc)}), 503
    return render_template("error.html", message=str(exc)), 503
