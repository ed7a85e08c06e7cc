"""The old home of engine/legacy.py (the codec of indexes written before schema 3): their TOCs
name its classes by this module, so the names resolve here still."""


def __getattr__(name: str):
    from .engine import legacy

    return getattr(legacy, name)
