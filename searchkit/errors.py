"""searchkit's errors: each message says what is wrong and how to fix it."""


class SearchkitError(Exception):
    """Base class for errors a user can act on (shown as one line, no traceback)."""


class IndexMissingError(SearchkitError):
    """There is no index at the given path."""


class SchemaMismatchError(SearchkitError):
    """The index was built by another schema version: it needs `searchkit reindex`."""


class IndexLockedError(SearchkitError):
    """Another writer held the index lock for longer than we were willing to wait."""


class DiskFullError(SearchkitError):
    """The disk filled up during a write: the write was undone, the index is as it was."""


class ExtractError(SearchkitError):
    """A file (or one record in it) could not be turned into an article."""

    def __init__(self, reason: str, where: str = "", key: str = "") -> None:
        super().__init__(f"{where}: {reason}" if where else reason)
        self.reason = reason
        self.where = where
        self.key = key  # the failed record's key (extract/records.py), so a re-run can skip it

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}" if self.where else self.reason

    def __reduce__(self):  # a worker process's error crosses back whole
        return type(self), (self.reason, self.where, self.key)


class NotArticlesError(ExtractError):
    """A readable file that holds no articles (a CSV of ids, say): skipped with a note when a
    directory walk finds it, a failure when named on its own."""
