"""The web UI and JSON API: a Flask app factory over a searchkit index."""

from __future__ import annotations

import time

from flask import Flask, g

from searchkit.store import open_index

# Content-Security-Policy: everything from this origin, no inline script, no framing.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def create_app(config: dict | None = None) -> Flask:
    """Build the app. config["INDEX"] is the index directory (default "index")."""
    app = Flask(__name__)
    app.config.update(INDEX="index", JSON_SORT_KEYS=False)
    app.config.update(config or {})
    app.extensions["searchkit_index"] = open_index(app.config["INDEX"], check=False)

    from .views import bp

    app.register_blueprint(bp)

    @app.before_request
    def start_timer():
        g.started = time.perf_counter()

    @app.after_request
    def security_headers(response):
        if "started" in g:  # how long the app took, for browsers' dev tools and the render benchmark
            response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - g.started) * 1000:.1f}"
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        return response

    return app
