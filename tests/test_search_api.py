"""The JSON API fields the web UI builds on: facets, timeline, suggestion, paging links, similar."""

from webui import create_app


def test_api_search_has_facets_timeline_suggestion_and_links(index, index_path):
    client = create_app({"INDEX": str(index_path)}).test_client()
    data = client.get("/api/search?q=isis+fighters+raqqa&limit=2").get_json()
    assert [h["id"] for h in data["hits"]] == ["raqqa", "boxer"]
    assert data["facets"] == {"source": [["Daily Planet", 2], ["Gazette", 1], ["Sports Desk", 1]],
                              "month": [["2016-03", 1], ["2017-07", 1], ["2017-11", 1], ["2018-01", 1]]}
    assert len(data["timeline"]) == 23
    assert data["timeline"][0] == {"label": "2016-03", "start": "2016-03-01T00:00:00+00:00",
                                   "end": "2016-04-01T00:00:00+00:00", "count": 1}
    assert data["suggestion"] is None
    assert data["links"] == {"prev": None, "next": "/api/search?q=isis+fighters+raqqa&limit=2&page=2"}
    assert data["hits"][0]["cluster_size"] == 1
    typo = client.get("/api/search?q=fihgters").get_json()  # two edits: suggested, not applied
    assert (typo["total"], typo["suggestion"], typo["corrected_from"]) == (0, "fighters", None)


def test_api_similar(index, index_path):
    client = create_app({"INDEX": str(index_path)}).test_client()
    data = client.get("/api/similar/raqqa").get_json()
    assert data["id"] == "raqqa"
    assert [h["id"] for h in data["hits"]] == ["boxer", "budget", "mosul"]
    missing = client.get("/api/similar/nope")
    assert missing.status_code == 404
    assert missing.get_json() == {"error": "no article with id 'nope': check the id with `searchkit query`"}
