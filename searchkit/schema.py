"""The Whoosh schema searchkit writes, and the version stored beside it."""

from __future__ import annotations

from whoosh.fields import DATETIME, ID, KEYWORD, STORED, TEXT, Schema

from .analysis import NewsPositions, name_analyzer, news_analyzer

# Bump when the schema or the analyzer changes: old indexes then ask for `searchkit reindex`.
SCHEMA_VERSION = 1

# Field weights for BM25F: a word in the headline says more than the same word in the body.
TITLE_BOOST = 2.5


def _text(boost: float = 1.0) -> TEXT:
    """Stored, stemmed article text; postings written by the fast NewsPositions format."""
    field = TEXT(analyzer=news_analyzer(), stored=True, field_boost=boost)
    field.format = NewsPositions(field_boost=boost)
    return field


def build_schema() -> Schema:
    """Fields of an indexed article (see article.Article)."""
    return Schema(
        id=ID(stored=True, unique=True),
        url=STORED(),
        title=_text(TITLE_BOOST),
        body=_text(),
        source=TEXT(analyzer=name_analyzer(), stored=True),
        source_key=ID(sortable=True),
        author=TEXT(analyzer=name_analyzer(), stored=True),
        published=DATETIME(stored=True, sortable=True),
        tags=KEYWORD(stored=True, commas=True, lowercase=True, scorable=True),
        language=ID(stored=True),
        license=STORED(),
        imported=DATETIME(stored=True),
        origin=STORED(),
        cluster=ID(stored=True),
    )
