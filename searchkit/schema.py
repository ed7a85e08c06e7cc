"""The old home of engine/schema.py: indexes written before it moved name their schema's
classes (NewsText) by this module in their TOC, so the names resolve here still."""


def __getattr__(name: str):
    from .engine import schema

    return getattr(schema, name)
