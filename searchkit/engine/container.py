"""The Whoosh index each generation directory holds, as store.py uses it: open, create, write,
search, and the dates of its columns. Whoosh stays the container (TOC, segments, deletions);
the engine is the only part of searchkit that imports it.
"""

from __future__ import annotations

from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC, EmptyIndexError, Index, clean_files, create_in, open_dir
from whoosh.searching import Searcher
from whoosh.util.times import long_to_datetime
from whoosh.writing import IndexingError, IndexWriter

__all__ = ["EmptyIndexError", "FileStorage", "Index", "IndexWriter", "IndexingError", "Searcher", "TOC",
           "clean_files", "create_in", "long_to_datetime", "open_dir"]
