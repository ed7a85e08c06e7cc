"""searchkit: full-text search for news articles (import, stemmed Whoosh index, ranked snippets)."""

from .article import Article
from .errors import (DiskFullError, ExtractError, IndexLockedError, IndexMissingError, SchemaMismatchError,
                     SearchkitError)
from .importer import ImportReport, import_paths
from .query import QueryError
from .search import Hit, SearchResult, TimelineBucket, search
from .similar import ArticleNotFoundError, similar
from .store import Index, open_index

__version__ = "0.1.0"

__all__ = [
    "Article", "ArticleNotFoundError", "DiskFullError", "Hit", "TimelineBucket", "similar", "Index",
    "ImportReport", "SearchResult", "ExtractError", "IndexLockedError",
    "IndexMissingError", "QueryError", "SchemaMismatchError", "SearchkitError", "import_paths",
    "open_index", "search", "__version__",
]
