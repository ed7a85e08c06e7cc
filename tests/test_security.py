"""Web hardening: escaping of every field, no javascript: links, security headers, request limits,
a read-only server, no debug mode, loopback by default. Through the Flask app and the real server."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from markupsafe import escape as markup_escape

import searchkit
from reliability_support import Client, server_log, serving
from searchkit.article import Article
from searchkit.cli import main
from webui import CSP, MAX_QUERY_CHARS, SECURITY_HEADERS, create_app

PAYLOADS = [
    '<script>alert("x")</script>',
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(2)>",
    '<a href="javascript:alert(3)">click</a>',
    "</textarea></title><iframe src=//evil.example>",
    "{{ 7*7 }} {% raw %}",
]
BAD_URLS = ["javascript:alert(1)", " JaVaScRiPt:alert(1)", "java\nscript:alert(1)", "data:text/html,<script>x</script>",
            "vbscript:msgbox(1)", "//evil.example/x", "/relative", "https://ok.example/\"onmouseover=\"alert(1)"]


class Elements(HTMLParser):
    """Every start tag with its attributes, to check the page's structure rather than its text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def elements(page: str) -> list[tuple[str, dict]]:
    parser = Elements()
    parser.feed(page)
    return parser.tags


def assert_inert(page: str) -> None:
    """No script, frame, svg, img or event handler but the page's own script and timeline chart,
    and every link is within the page, to this site or http(s)."""
    for tag, attrs in elements(page):
        own = ((tag, attrs) == ("script", {"src": "/static/app.js", "defer": None})  # the page's script
               or (tag == "svg" and attrs.get("aria-labelledby") == "timeline-caption"))  # its timeline
        assert own or tag not in ("script", "iframe", "img", "svg", "object", "embed"), (tag, attrs)
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        for name in ("href", "src", "action"):
            # As a browser reads it: control characters and whitespace do not count.
            value = "".join(c for c in attrs.get(name) or "" if c > " ")
            if value:
                assert value.startswith(("/", "#", "https://", "http://")) and not value.startswith("//"), (tag, attrs)
                assert urlsplit(value).scheme in ("", "http", "https"), (tag, attrs)


@pytest.fixture
def hostile(index, index_path) -> Path:
    """The corpus plus one article per payload in every field and one per bad URL, written
    through the library without clean(), as any caller of Index.write could."""
    articles = [Article(id=f"xss{n}", title=f"{payload} raqqa", body=f"First {payload} raqqa.\n\nSecond {payload}.",
                        author=payload, source=payload, url=f"https://ok.example/{n}?q={payload}", tags=[payload])
                for n, payload in enumerate(PAYLOADS)]
    articles += [Article(id=f"url{n}", title="raqqa link", body="raqqa", url=url, source="Links")
                 for n, url in enumerate(BAD_URLS)]
    index.write(articles)
    return index_path


@pytest.fixture
def client(hostile):
    return create_app({"INDEX": str(hostile)}).test_client()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_in_every_field_and_the_query_are_escaped(client, payload):
    n = PAYLOADS.index(payload)
    for path in (f"/search?q={quote(payload + ' raqqa')}", f"/search?q=raqqa&limit=100",
                 f"/article/xss{n}?q={quote(payload)}", f"/article/xss{n}"):
        response = client.get(path)
        assert response.status_code == 200, path
        page = response.get_data(as_text=True)
        assert_inert(page)
        assert payload not in page or not any(c in payload for c in "<>\"'"), path
    article = client.get(f"/article/xss{n}").get_data(as_text=True)
    escaped = payload.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;").replace("'", "&#39;")
    assert f'<span class="author">by {escaped}</span>' in article
    data = client.get(f"/api/search?q={quote(payload + ' raqqa')}&limit=100").get_json()
    hit = next(h for h in data["hits"] if h["id"] == f"xss{n}")
    assert (hit["title"], hit["author"], hit["source"]) == (f"{payload} raqqa", payload, payload)
    assert "<" not in hit["snippet"].replace("<mark>", "").replace("</mark>", "")


def test_javascript_and_other_unsafe_urls_are_never_linked(client, hostile):
    for n, url in enumerate(BAD_URLS):
        page = client.get(f"/article/url{n}").get_data(as_text=True)
        assert_inert(page)
        assert "Original:" not in page, url
    results = client.get("/search?q=link&limit=100").get_data(as_text=True)
    assert_inert(results)
    assert results.count('<li class="hit">') == len(BAD_URLS)
    assert 'class="original"' not in results
    hits = client.get("/api/search?q=link&limit=100").get_json()["hits"]
    assert sorted((h["id"], h["url"]) for h in hits) == [(f"url{n}", "") for n in range(len(BAD_URLS))]
    stored = {a.id: a.url for a in searchkit.open_index(hostile).articles() if a.id.startswith("url")}
    assert set(stored.values()) == {""}


ROUTES = ["/", "/search?q=raqqa", "/article/raqqa", "/api/search?q=raqqa", "/healthz", "/static/style.css",
          "/nope", "/article/nope", "/api/nope", "/search?q=" + "a" * (MAX_QUERY_CHARS + 1)]


def test_every_response_carries_the_security_headers(client):
    assert "frame-ancestors 'none'" in CSP and "script-src 'self'" in CSP and "object-src 'none'" in CSP
    for path in ROUTES:
        with client.get(path) as response:
            for name, value in SECURITY_HEADERS.items():
                assert response.headers.get(name) == value, (path, name)
    post = client.post("/search?q=raqqa")
    assert post.headers["Content-Security-Policy"] == CSP


@pytest.mark.parametrize("query,status", [
    ("a" * MAX_QUERY_CHARS, 200), ("a" * (MAX_QUERY_CHARS + 1), 400),
    ("page=1000", 200), ("page=1001", 400), ("page=99999999999999999999", 400), ("page=0", 400), ("page=x", 200),
    ("limit=100", 200), ("limit=101", 400), ("limit=-5", 400), ("limit=²", 200),
    ("source=" + "s" * 200, 200), ("source=" + "s" * 201, 400),
])
def test_limits_on_query_length_page_and_page_size(client, query, status):
    args = query if "=" in query else "q=" + query
    if not args.startswith("q="):
        args = "q=raqqa&" + args
    api = client.get("/api/search?" + args)
    assert api.status_code == status, args
    page = client.get("/search?" + args)
    assert page.status_code == status, args
    if status == 400:
        assert "too" in api.get_json()["error"] and "at " in api.get_json()["error"]
        assert api.get_json()["error"] in page.get_data(as_text=True)


def test_limit_messages_are_exact(client):
    assert client.get("/api/search?q=" + "a" * 1001).get_json() == {
        "error": "query too long (1001 characters): at most 1000"}
    assert client.get("/api/search?q=raqqa&page=1001").get_json() == {"error": "page 1001 is too large: at most 1000"}
    assert client.get("/api/search?q=raqqa&limit=101").get_json() == {"error": "limit 101 is too large: at most 100"}
    ok = client.get("/api/search?q=raqqa&limit=100&page=1000").get_json()
    assert (ok["page"], ok["limit"], ok["hits"]) == (1000, 100, [])


def test_the_server_is_read_only(client, hostile):
    before = len(searchkit.open_index(hostile))
    rules = {rule.rule: rule.methods for rule in client.application.url_map.iter_rules()}
    assert all(methods <= {"GET", "HEAD", "OPTIONS"} for methods in rules.values()), rules
    for path in ["/", "/search?q=raqqa", "/article/raqqa", "/api/search?q=raqqa", "/healthz", "/api/import",
                 "/api/delete?id=raqqa", "/article/raqqa/delete"]:
        for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
            response = client.open(path, method=method, data=b'{"id": "raqqa"}')
            assert response.status_code == 405, (method, path)
            assert response.headers["Allow"] == "GET, HEAD"
    assert client.post("/api/search?q=x").get_json() == {"error": "POST is not allowed: this server is read-only"}
    assert len(searchkit.open_index(hostile)) == before
    assert client.head("/search?q=raqqa").status_code == 200


def test_debug_mode_is_impossible(hostile, monkeypatch):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    app = create_app({"INDEX": str(hostile), "DEBUG": True, "PROPAGATE_EXCEPTIONS": True})
    assert (app.debug, app.config["DEBUG"], app.config["PROPAGATE_EXCEPTIONS"]) == (False, False, False)
    with pytest.raises(RuntimeError, match="runs under `searchkit serve`"):
        app.run(debug=True)


def test_a_damaged_index_is_one_line_503_without_a_traceback(hostile):
    live = hostile / (hostile / "CURRENT").read_text().strip()
    for segment_file in live.glob("MAIN_*.*"):  # every file of every segment
        segment_file.write_bytes(b"\x00garbage" * 64)
    with serving(hostile, env={"FLASK_DEBUG": "1"}) as (host, port, proc):
        client = Client(host, port)
        try:
            page = client.get("/search?q=raqqa")
            api = client.get("/api/search?q=raqqa")
        finally:
            client.close()
    message = json.loads(api[2])["error"]
    assert api[0] == 503
    assert message.startswith(f"cannot read the index at {hostile} (") and message.endswith(
        "): it may be damaged; restore it from a backup or import your articles into a new index "
        "(see docs/operations.md)")
    assert page[0] == 503 and f'<p class="notice" role="alert">{markup_escape(message)}</p>' in page[2]
    for status, headers, body in (page, api):
        assert "Traceback" not in body and "werkzeug" not in body.lower()
        assert headers["content-security-policy"] == CSP


def test_an_unexpected_error_is_a_plain_500_even_when_debug_is_asked_for(hostile, monkeypatch):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    app = create_app({"INDEX": str(hostile), "DEBUG": True})
    app.add_url_rule("/boom", "boom", lambda: 1 // 0)
    app.add_url_rule("/api/boom", "api_boom", lambda: 1 // 0)
    client = app.test_client()
    page, api = client.get("/boom"), client.get("/api/boom")
    assert (page.status_code, api.status_code) == (500, 500)
    assert api.get_json() == {"error": "Something went wrong on the server; the error was logged."}
    assert "Something went wrong on the server; the error was logged." in page.get_data(as_text=True)
    for body in (page.get_data(as_text=True), api.get_data(as_text=True)):
        assert "Traceback" not in body and "ZeroDivisionError" not in body and "werkzeug" not in body.lower()


def test_serve_binds_loopback_by_default(hostile):
    option = next(p for p in main.commands["serve"].params if p.name == "host")
    assert option.default == "127.0.0.1"
    with serving(hostile) as (_, port, proc):
        listening = [line.split()[1] for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
                     if line.split()[3] == "0A" and line.split()[1].endswith(f":{port:04X}")]
        assert listening == [f"0100007F:{port:04X}"]  # 127.0.0.1 only, not 0.0.0.0


def test_serve_warns_when_told_to_listen_beyond_loopback(hostile):
    with serving(hostile, "--host", "0.0.0.0") as (_, port, proc):
        assert server_log(proc) == (
            f"warning: listening on 0.0.0.0, not only this machine: anyone who can reach port {port} "
            f"can search the index (it stays read-only)\nserving {hostile} on http://0.0.0.0:{port}/\n")


def test_terminal_escapes_never_reach_the_terminal(index, index_path, runner):
    """ANSI/OSC sequences in any field are stored without their control characters."""
    index.write([Article(id="ansi", title="Raqqa \x1b[31mred\x1b[0m \x1b]0;pwned\x07title", author="\x1b[2Jeve",
                         body="Body \x1b[1mbold\x1b[0m raqqa\x00 text\x9b31m.", source="\x1b[5mblink", tags=["\x1bx"])])
    result = runner.invoke(main, ["--index", str(index_path), "query", "red", "--limit", "1"])
    assert result.exit_code == 0
    assert "\x1b" not in result.output and "\x07" not in result.output and "\x9b" not in result.output
    article = searchkit.open_index(index_path).get("ansi")
    assert (article.title, article.author, article.body, article.source, article.tags) == (
        "Raqqa [31mred[0m ]0;pwnedtitle", "[2Jeve", "Body [1mbold[0m raqqa text31m.", "[5mblink", ["x"])
