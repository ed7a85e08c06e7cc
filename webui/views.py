"""Routes: the search page, article pages, the JSON API and a health check."""

from __future__ import annotations

import re
from html import escape

from flask import Blueprint, abort, current_app, jsonify, render_template, request, url_for
from markupsafe import Markup

from searchkit.errors import SearchkitError
from searchkit.query import QueryError, parse
from searchkit.search import SORTS, search
from searchkit.similar import ArticleNotFoundError, similar
from searchkit.snippets import highlight, render_html

bp = Blueprint("web", __name__)
_URL = re.compile(r"https?://[^\s<>\"']+")


def _index():
    return current_app.extensions["searchkit_index"]


def _int(name: str, default: int, low: int, high: int) -> int:
    try:
        return max(low, min(high, int(request.args.get(name, default))))
    except ValueError:
        return default


def _run_search():
    """(result, error message) for the request's parameters."""
    q = request.args.get("q", "")[:1000]
    sort = request.args.get("sort", "relevance")
    if sort not in SORTS:
        sort = "relevance"
    params = dict(limit=_int("limit", 10, 1, 100), page=_int("page", 1, 1, 1000), sort=sort,
                  since=request.args.get("since") or None, until=request.args.get("until") or None,
                  source=request.args.get("source") or None)
    if not q.strip():
        return None, ""
    try:
        return search(_index(), q, **params), ""
    except QueryError as exc:
        return None, str(exc)
    except ValueError as exc:
        return None, f"bad parameter: {exc}"


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


@bp.route("/")
@bp.route("/search")
def search_page():
    result, error = _run_search()
    return render_template("search.html", result=result, error=error, q=request.args.get("q", ""),
                           sort=request.args.get("sort", "relevance"), sorts=SORTS)


@bp.route("/article/<path:article_id>")
def article_page(article_id: str):
    try:
        article = _index().get(article_id)
    except SearchkitError:
        article = None
    if article is None:
        abort(404)
    q = request.args.get("q", "")[:1000]
    stems: set[str] = set()
    if q.strip():
        try:
            with _index().searcher() as searcher:
                stems = parse(q, searcher.schema).stems
        except QueryError:
            pass
    paragraphs = [Markup(render_html(highlight(p, stems))) for p in article.body.split("\n\n")]
    return render_template("article.html", article=article, paragraphs=paragraphs, q=q,
                           title=Markup(render_html(highlight(article.title, stems))))


@bp.route("/api/search")
def api_search():
    result, error = _run_search()
    if error:
        return jsonify({"error": error}), 400
    if result is None:
        return jsonify({"error": "missing parameter q: /api/search?q=words"}), 400
    data = result.to_dict()
    data["links"] = _page_links(result)
    return jsonify(data)


def _page_links(result) -> dict:
    """URLs of the previous and next pages of this /api/search (None at either end)."""
    args = request.args.to_dict()

    def page(number: int) -> str:
        return url_for("web.api_search", **{**args, "page": number})

    return {"prev": page(result.page - 1) if result.page > 1 else None,
            "next": page(result.page + 1) if result.page < result.pages else None}


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
