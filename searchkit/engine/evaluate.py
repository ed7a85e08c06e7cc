"""Evaluate a parsed query over posting arrays: which articles match and their scores."""

from __future__ import annotations

from typing import Iterator

from whoosh import query as wq


def _leaf_terms(q: wq.Query, reader) -> Iterator[tuple[str, object]]:
    if isinstance(q, wq.MultiTerm):
        yield from q.expanded_terms(reader)
    elif isinstance(q, wq.Phrase):
        for word in q.words:
            yield q.fieldname, word
    elif isinstance(q, wq.Term):
        yield q.fieldname, q.text
    for child in q.children():
        yield from _leaf_terms(child, reader)


def query_terms(parsed, reader) -> Iterator[tuple[str, str]]:
    """Every (field, term) a parsed query scores with in the index `reader` reads (wildcards
    expanded against its lexicon; date and other non-text terms left out)."""
    schema = reader.schema
    for name, text in _leaf_terms(parsed.query, reader):
        if name in schema and schema[name].scorable:
            yield name, text.decode("utf-8") if isinstance(text, bytes) else text
