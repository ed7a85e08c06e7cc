"""searchkit's engine: the index format, its Whoosh codec, segment reading and writing.

Nothing above this package reads segment files: search code asks a SegmentReader
(engine.segment) for arrays.
"""
