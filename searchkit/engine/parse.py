"""The query parser: Whoosh's parser configured for searchkit's query language, turning the
text left once query.py has taken out dates and qualifiers into a query tree (tree.py).

Over the search fields, OR by default, with +/- and fuzzy word~; phrases are built by the
caller's phrase function (query.phrase_query keeps stop words' gaps); any field not given as
known is read as words, never as a field.
"""

from __future__ import annotations

from typing import Callable, Sequence

from whoosh import qparser
from whoosh.fields import Schema
from whoosh.qparser import syntax
from whoosh.qparser.plugins import PhrasePlugin

from .tree import Query

PhraseMaker = Callable[[str, str, int, float], Query]  # (field, text, slop, boost) -> a phrase query


def make_parser(schema, search_fields: Sequence[str], known_fields: Sequence[str], phrase: PhraseMaker):
    """A parser (its parse(text) gives a query tree) over `search_fields`, knowing the fields
    `known_fields` of `schema`; a phrase in a search field is made by `phrase`."""

    class PhraseNode(PhrasePlugin.PhraseNode):
        def query(self, parser):
            fieldname = self.fieldname or parser.fieldname
            if fieldname in search_fields:
                return syntax.attach(phrase(fieldname, self.text, self.slop, self.boost), self)
            return super().query(parser)

    class Phrases(PhrasePlugin):
        """Whoosh's phrase syntax, with phrases built by `phrase` (stop-word gaps kept)."""

        class PhraseTagger(PhrasePlugin.PhraseTagger):
            def create(self, parser, match):
                slop = int(match.group("slop")) if match.group("slop") else 1
                return PhraseNode(match.group("text"), match.start("text"), slop)

        def taggers(self, parser):
            return [(self.PhraseTagger(self.expr), 0)]

    known = Schema(**{name: schema[name] for name in known_fields if name in schema.names()})
    parser = qparser.MultifieldParser(list(search_fields), known, group=qparser.OrGroup)
    parser.remove_plugin_class(qparser.PhrasePlugin)
    parser.add_plugin(Phrases())
    parser.add_plugin(qparser.PlusMinusPlugin())
    parser.add_plugin(qparser.FuzzyTermPlugin())
    return parser
