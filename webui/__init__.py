"""The web UI and JSON API: a Flask app factory over a searchkit index.

Hardening lives here, in one place, for every route: the server is read-only (GET and HEAD
only), request parameters are bounded, every response carries the security headers, and an
unexpected error is a plain 500 page — never a traceback, and never Flask's debugger.
"""

from __future__ import annotations

import logging
import re
import threading
import time

from flask import Flask, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from searchkit.analysis import analyze
from searchkit.store import open_any

from .params import MAX_LIMIT, MAX_PAGE

# Content-Security-Policy: everything from this origin, no inline script, no framing.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
READ_ONLY_METHODS = ("GET", "HEAD")
MAX_QUERY_CHARS = 1_000  # longer queries are refused (400) with a message, never truncated
MAX_PARAM_CHARS = 200  # since, until, source, sort, page, limit
MAX_BODY_BYTES = 16 * 1024  # nothing is ever posted; waitress refuses larger bodies too
# waitress's connection handling (`searchkit serve`; README "Serving"). A connection that sends
# nothing for IDLE_SECONDS is closed (checked every 2 s), waiting keep-alive or trickling a
# request alike: waitress's 120 s let 100 idle sockets (its connection_limit) keep everyone else
# out. Open connections cost a descriptor each, not a thread, so the limit is set for many
# real clients; on the open internet a reverse proxy in front takes the slow ones.
IDLE_SECONDS = 10
SERVER_OPTIONS = {"channel_timeout": IDLE_SECONDS, "cleanup_interval": 2, "connection_limit": 1000,
                  "backlog": 1024}
# Expensive searches (wildcards, fuzzy words, many terms: see searchkit.search) run this many at
# a time; the others wait for a slot within their time budget, holding no CPU. Python runs one
# thread at a time, so each slow search running at once slows every cheap one.
SLOW_SEARCHES = 1


class SearchkitApp(Flask):
    """Flask, but its development server (and with it the Werkzeug debugger) cannot be started."""

    def run(self, *args, **kwargs):  # noqa: D102 - refuses by design
        raise RuntimeError("the searchkit web app runs under `searchkit serve` (waitress), "
                           "never Flask's development server or debugger")


def _limit_error() -> str:
    """Why the request's parameters are out of bounds, or "" if they are fine."""
    args = request.args
    if len(args.get("q", "")) > MAX_QUERY_CHARS:
        return f"query too long ({len(args['q'])} characters): at most {MAX_QUERY_CHARS}"
    for name, value in args.items(multi=True):
        if name != "q" and len(value) > MAX_PARAM_CHARS:
            return f"parameter {name} too long: at most {MAX_PARAM_CHARS} characters"
    for name, high in (("page", MAX_PAGE), ("limit", MAX_LIMIT)):
        message = out_of_range(name, args.get(name, ""), high)
        if message:
            return message
    return ""


def out_of_range(name: str, value: str, high: int) -> str:
    """The one rule for page and limit, on the page and in the API: a whole number outside
    1..high is refused (400) with this message; "" when it is in range or not a number at all
    (which falls back to the default with a warning, see params.py)."""
    value = value.strip()
    if not re.fullmatch(r"[-+]?[0-9]+", value):
        return ""
    if int(value) < 1:
        return f"{name} {value} is too small: at least 1"
    if int(value) > high:
        return f"{name} {value} is too large: at most {high}"
    return ""


def create_app(config: dict | None = None) -> Flask:
    """Build the app. config["INDEX"] is the index directory (default "index")."""
    app = SearchkitApp(__name__)
    app.config.update(INDEX="index", JSON_SORT_KEYS=False)
    app.config.update(config or {})
    # Whatever the config or FLASK_DEBUG say: no debug mode, errors handled here, small requests.
    app.debug = False
    app.config.update(DEBUG=False, PROPAGATE_EXCEPTIONS=False, MAX_CONTENT_LENGTH=MAX_BODY_BYTES)
    # OPENED_INDEX: an index the caller opened (a sharded one on its Dask cluster: `serve --cluster`).
    app.extensions["searchkit_index"] = app.config.get("OPENED_INDEX") or open_any(app.config["INDEX"], check=False)
    app.extensions["searchkit_slow_slots"] = threading.BoundedSemaphore(SLOW_SEARCHES)
    # Load the stemmer (NLTK, about 0.5 s) now rather than in the first visitor's search.
    analyze("warm up")

    from .views import bp

    app.register_blueprint(bp)

    def error(message: str, status: int):
        if request.path.startswith("/api/"):
            return jsonify({"error": message}), status
        return render_template("error.html", message=message), status

    @app.before_request
    def start_timer():
        g.started = time.perf_counter()

    @app.before_request
    def read_only_and_bounded():
        if request.method not in READ_ONLY_METHODS:
            body, status = error(f"{request.method} is not allowed: this server is read-only", 405)
            return body, status, {"Allow": ", ".join(READ_ONLY_METHODS)}
        message = _limit_error()
        return error(message, 400) if message else None

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return error(exc.description or exc.name, exc.code or 500)
        logging.getLogger("searchkit.web").exception("error serving %s", request.full_path)
        return error("Something went wrong on the server; the error was logged.", 500)

    @app.after_request
    def security_headers(response):
        response.headers.update(SECURITY_HEADERS)
        if "started" in g:  # how long the app took: for browsers' dev tools and `make bench-web`
            response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - g.started) * 1000:.1f}"
        return response

    return app
