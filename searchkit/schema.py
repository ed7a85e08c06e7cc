"""The Whoosh schema searchkit writes, and the version stored beside it."""

from __future__ import annotations

from whoosh.fields import DATETIME, ID, KEYWORD, STORED, TEXT, Schema

from .engine.scoring import TITLE_BOOST
from .analysis import NewsPositions, analyzer, name_analyzer, news_analyzer

# Bump when the schema or the analyzer changes: old indexes then ask for `searchkit reindex`.
SCHEMA_VERSION = 3  # 3: segments in searchkit's own format (engine/), one postings format


class NewsText(TEXT):
    """Stored, stemmed article text, with its unstemmed words kept for did-you-mean.

    Same terms as TEXT(news_analyzer, spelling=True); the postings (NewsPositions, or
    build.py's builder) and the spelling words come from analysis.analyzer() instead of a
    chain of Token objects, which is most of an import's time in pure Python.
    """

    def __init__(self, boost: float = 1.0) -> None:
        super().__init__(analyzer=news_analyzer(), stored=True, field_boost=boost, spelling=True)
        self.format = NewsPositions(field_boost=boost)

    def spellable_words(self, value):
        if isinstance(value, str):
            return iter(analyzer().spelling_words(value))
        return super().spellable_words(value)


def build_schema() -> Schema:
    """Fields of an indexed article (see article.Article)."""
    return Schema(
        id=ID(stored=True, unique=True),
        url=STORED(),
        title=NewsText(TITLE_BOOST),
        body=NewsText(),
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
