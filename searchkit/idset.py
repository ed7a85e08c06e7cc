"""A set of article ids at 8 bytes an id: what an import remembers of every article it took in.

An import remembers each id it read (importer.import_paths, to count a repeat once) and each
it committed (store._BatchRun). As Python sets of str, the ids of a 1M-article import were
~170 MB of the importing process (the strings and two hash tables), a sixth of the whole
import's 1 GiB budget (issue 15). IdSet keeps each id's 64-bit hash (Python's hash() of the
str) in a sorted numpy array; ids added lately wait as hashes in a small set and are folded
in FOLD at a time. A 2 MB bitmap of the hashes' low bits answers most look-ups of an id not
in the set at once (an import looks up every id it reads).

Two different ids share a hash with chance 2**-64 a pair (about 1 in 4 * 10**7 that any two
of a million do), so a yes can be wrong where a no never is: use it where a wrong yes costs
no data (a count), and confirm a yes that leads to a deletion in the index itself.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

FOLD = 16_384  # hashes that wait in a Python set before they are merged into the sorted array
# A bit per value of a hash's low 24 bits (2 MB): most ids not in the set are told so by their
# bit alone (94% at 1M ids), without the binary search (3 us a look-up, twice an article).
_BITS = 24
_MASK = (1 << _BITS) - 1


class IdSet:
    """Article ids, by hash: `add`, `update`, `in` (see the module docstring for what a yes means)."""

    def __init__(self) -> None:
        self._sorted = np.empty(0, dtype=np.int64)
        self._recent: set[int] = set()
        self._bits = bytearray(1 << (_BITS - 3))

    def __contains__(self, article_id: str) -> bool:
        key = hash(article_id)
        low = key & _MASK
        if not self._bits[low >> 3] & (1 << (low & 7)):
            return False
        if key in self._recent:
            return True
        at = int(np.searchsorted(self._sorted, key))
        return at < len(self._sorted) and int(self._sorted[at]) == key

    def add(self, article_id: str) -> None:
        self.update((article_id,))

    def update(self, ids: Iterable[str]) -> None:
        bits = self._bits
        for key in map(hash, ids):
            self._recent.add(key)
            low = key & _MASK
            bits[low >> 3] |= 1 << (low & 7)
        if len(self._recent) >= FOLD:
            self._fold()

    def clear(self) -> None:
        self._sorted = np.empty(0, dtype=np.int64)
        self._recent.clear()
        self._bits = bytearray(len(self._bits))

    def _fold(self) -> None:
        """Merge the recent hashes into the sorted array (a hash there already may repeat:
        harmless to a look-up, and rare)."""
        recent = np.fromiter(self._recent, dtype=np.int64, count=len(self._recent))
        recent.sort()
        self._sorted = np.insert(self._sorted, np.searchsorted(self._sorted, recent), recent)
        self._recent.clear()
