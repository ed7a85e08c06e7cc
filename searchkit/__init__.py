"""searchkit: full-text search for news articles (import, stemmed Whoosh index, ranked snippets).

The importer (and the extraction libraries behind it) loads on first use (PEP 562), so
`searchkit query` does not pay for lxml, trafilatura & co. `search` and `similar` are imported here
because they are also submodules' names: importing the submodule would shadow the function.
"""

from importlib import import_module

from .search import Hit, SearchResult, TimelineBucket, search
from .similar import ArticleNotFoundError, similar

__version__ = "0.1.0"

_EXPORTS = {
    "Article": ".article", "DiskFullError": ".errors", "ExtractError": ".errors",
    "IndexLockedError": ".errors", "IndexMissingError": ".errors", "SchemaMismatchError": ".errors",
    "SearchkitError": ".errors", "ImportReport": ".importer", "import_paths": ".importer",
    "QueryError": ".query", "Index": ".store", "open_index": ".store",
}

__all__ = sorted(_EXPORTS) + ["ArticleNotFoundError", "Hit", "SearchResult", "TimelineBucket", "search",
                              "similar", "__version__"]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'searchkit' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
