"""The web UI and JSON API: a Flask app factory over a searchkit index."""

from __future__ import annotations

from flask import Flask

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

    @app.after_request
    def security_headers(response):
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        return response

    return app
