"""Private: the neighbour lists a potential keeps, one per batch shape, dtype and device.

Shared by the periodic systems (:mod:`symnet.systems._periodic_pairs`) and
:class:`symnet.nn.PairPotential`. Using the cache never changes a result: a
:class:`~symnet.systems.neighbours.NeighbourList` rebuilds whenever a particle
has moved more than ``skin / 2`` from the positions it was built at.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from symnet._functorch import vmapped
from symnet.groups.box import PeriodicBox
from symnet.systems.neighbours.verlet import NeighbourList

__all__ = ["ListCache"]


class ListCache:
    """Up to ``size`` :class:`NeighbourList` objects, the least recently used dropped first.

    Parameters
    ----------
    cutoff, skin : float
        Of every list.
    box : PeriodicBox or None
        Of every list.
    size : int
        Lists kept (default 8).
    """

    def __init__(self, cutoff: float, skin: float, box: PeriodicBox | None, size: int = 8) -> None:
        self.cutoff, self.skin, self.box, self.size = cutoff, skin, box, size
        self._lists: dict[tuple[Any, ...], NeighbourList] = {}

    def __len__(self) -> int:
        return len(self._lists)

    def get(self, q: Tensor) -> NeighbourList:
        """The list for positions shaped like ``q`` (``(B, N, d)`` or ``(N, d)``).

        Under ``torch.func.vmap`` a fresh list that the cache does not keep (its
        ``update`` there neither reads nor builds it): the cached lists of the
        real batch shapes stay as they were.
        """
        if vmapped():
            return NeighbourList(self.cutoff, self.skin, self.box)
        key = (tuple(q.shape), q.dtype, q.device)
        nl = self._lists.pop(key, None)
        if nl is None:
            nl = NeighbourList(self.cutoff, self.skin, self.box)
            while len(self._lists) >= self.size:
                self._lists.pop(next(iter(self._lists)))
        self._lists[key] = nl  # most recently used last
        return nl
