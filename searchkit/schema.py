"""The Whoosh schema searchkit writes, and the version stored beside it."""

from __future__ import annotations

from whoosh.fields import DATETIME, ID, KEYWORD, STORED, TEXT, Schema

from .analysis import name_analyzer, news_analyzer

# Bump when the schema or the analyzer changes: old indexes then ask for `searchkit reindex`.
SCHEMA_VERSION = 2

# Field weights for BM25F: a word in the headline says more than the same word in the body.
TITLE_BOOST = 2.5


def build_schema() -> Schema:
    """Fields of an indexed article (see article.Article)."""
    analyzer = news_analyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        url=STORED(),
        # spelling=True also keeps the unstemmed words (field spell_*) for did-you-mean.
        title=TEXT(analyzer=analyzer, stored=True, field_boost=TITLE_BOOST, spelling=True),
        body=TEXT(analyzer=analyzer, stored=True, spelling=True),
        source=TEXT(analyzer=name_analyzer(), stored=True),
        source_key=ID(sortable=True),
        author=TEXT(analyzer=name_analyzer(), stored=True),
        published=DATETIME(stored=True, sortable=True),
        tags=KEYWORD(stored=True, commas=True, lowercase=True, scorable=True),
        language=ID(stored=True),
        license=STORED(),
        imported=DATETIME(stored=True),
        origin=STORED(),
        cluster=ID(stored=True, sortable=True),  # sortable: results collapse on it
    )
