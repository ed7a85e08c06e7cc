import pytest

import searchkit
from searchkit.article import Article, clean
from webui import create_app


@pytest.fixture
def client(index, index_path):
    index.write([clean(Article(id="xss", title='<script>alert("t")</script> raqqa',
                               body="Body <img src=x onerror=alert(1)> raqqa.", author="<b>Eve</b>",
                               source="Evil & Co", url="https://evil.example/?a=<x>"))])
    return create_app({"INDEX": str(index_path)}).test_client()


def test_search_page_shows_ranked_highlighted_results(client):
    page = client.get("/search?q=isis+fighters+raqqa").get_data(as_text=True)
    assert page.index("escape <mark>Raqqa</mark> in secret deal") < page.index("Prize <mark>fighter</mark> wins title")
    assert "Thousands of <mark>ISIS</mark> <mark>fighters</mark> left <mark>Raqqa</mark> in a convoy." in page
    assert 'value="isis fighters raqqa"' in page


def test_everything_user_supplied_is_escaped(client):
    page = client.get('/search?q=raqqa+"><script>x</script>').get_data(as_text=True)
    assert "<script>" not in page
    assert "&lt;<mark>script</mark>&gt;alert(&quot;t&quot;)&lt;/<mark>script</mark>&gt; <mark>raqqa</mark>" in page
    article = client.get("/article/xss").get_data(as_text=True)
    assert "<img" not in article and "<b>Eve</b>" not in article and "&lt;b&gt;Eve&lt;/b&gt;" in article


def test_api_search_json(client):
    data = client.get("/api/search?q=raqqa&limit=1").get_json()
    assert (data["total"], data["pages"], data["hits"][0]["id"]) == (3, 3, "xss")
    assert data["hits"][0]["snippet"] == "Body &lt;img src=x onerror=alert(1)&gt; <mark>raqqa</mark>."
    assert client.get("/api/search?q=").status_code == 400
    assert client.get("/api/search?q=the").get_json() == {
        "error": "nothing to search for: the query has only punctuation or very common words"}


def test_article_page_highlights_query_and_404s_unknown(client):
    page = client.get("/article/raqqa?q=convoy").get_data(as_text=True)
    assert "<mark>convoy</mark>" in page
    assert "Lois Lane" in page
    assert client.get("/article/nope").status_code == 404


def test_security_headers_and_health(client):
    response = client.get("/healthz")
    assert response.get_json() == {"status": "ok", "articles": 5}
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_pagination_links(client):
    page = client.get("/search?q=raqqa&limit=1").get_data(as_text=True)
    assert 'rel="next" href="/search?q=raqqa&amp;sort=relevance&amp;page=2"' in page
