"""Key terms of a text, for more-like-this: Whoosh's Bo1 expander (divergence from randomness)
over an index reader, or over anything answering the same questions (a sharded index's
collection statistics, shards._CollectionReader)."""

from __future__ import annotations

from whoosh.classify import Expander


def key_terms(reader, fieldname: str, text: str, count: int) -> list[tuple[str, float]]:
    """The `count` terms of `text` that best tell it apart from the collection `reader`
    describes, as (term, weight), weights normalised to the best one's 1.0."""
    expander = Expander(reader, fieldname)
    expander.add_text(text)
    return expander.expanded_terms(count, normalize=True)
