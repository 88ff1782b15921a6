"""Neighbour lists in pure torch: pair lists within a cutoff, open or periodic.

- :class:`Pairs`: a half list (``i < j``) with periodic image shifts, whose
  :meth:`~Pairs.displacements` are differentiable minimum-image displacements;
- :func:`all_pairs`: the O(N^2) reference;
- :func:`cell_list_pairs`: the O(N) cell-list build (2-D and 3-D, batched);
- :class:`NeighbourList`: a Verlet list with skin, rebuilt when a particle has
  moved half the skin;
- :func:`pair_energy`: a pair potential summed over a list, per configuration,
  differentiable (forces by autograd);
- :func:`radius_graph`, :func:`edge_index_from_pairs`: directed
  ``torch_geometric``-style graphs with periodic image shifts, for message
  passing (:class:`~symnet.nn.EGNNConv`'s ``edge_shift``).

Examples
--------
>>> import torch
>>> from symnet.groups import PeriodicBox
>>> from symnet.systems.neighbours import NeighbourList, pair_energy
>>> box = PeriodicBox(8.0, dim=3)
>>> q = (torch.rand(64, 3, generator=torch.Generator().manual_seed(1)) * 8.0).double()
>>> q.requires_grad_(True)
tensor(...)
>>> nl = NeighbourList(cutoff=2.5, skin=0.3, box=box)
>>> lj = lambda r: 4.0 * (r**-12 - r**-6)
>>> E = pair_energy(q, nl.update(q), lj, cutoff=2.5)
>>> forces = -torch.autograd.grad(E, q)[0]
>>> forces.shape, nl.builds
(torch.Size([64, 3]), 1)
"""

from __future__ import annotations

from symnet.systems.neighbours.cells import cell_list_pairs
from symnet.systems.neighbours.graph import edge_index_from_pairs, radius_graph
from symnet.systems.neighbours.pairs import Pairs, all_pairs, pair_energy
from symnet.systems.neighbours.verlet import NeighbourList

__all__ = [
    "NeighbourList",
    "Pairs",
    "all_pairs",
    "cell_list_pairs",
    "edge_index_from_pairs",
    "pair_energy",
    "radius_graph",
]
