"""Verlet neighbour lists: a cell list with a skin, rebuilt only when needed.

The list holds every pair within ``cutoff + skin``. While no particle has moved
more than ``skin / 2`` since the build, two particles have closed in by at most
``skin``, so every pair now within ``cutoff`` is still in the list (the skin
guarantee); :meth:`NeighbourList.update` rebuilds (by
:func:`~symnet.systems.neighbours.cell_list_pairs`) as soon as that fails.
Energies over the list must mask the pairs beyond ``cutoff``
(:func:`~symnet.systems.neighbours.pair_energy` does).

Examples
--------
>>> import torch
>>> from symnet.groups import PeriodicBox
>>> from symnet.systems.neighbours import NeighbourList
>>> box = PeriodicBox(6.0, dim=3)
>>> q = torch.rand(100, 3, generator=torch.Generator().manual_seed(0)) * 6.0
>>> nl = NeighbourList(cutoff=2.0, skin=0.5, box=box)
>>> _ = nl.update(q)
>>> _ = nl.update(q + 0.1)  # moved 0.17 < skin / 2: the list is kept
>>> nl.builds
1
>>> _ = nl.update(q + 0.2)  # moved 0.35 > skin / 2: rebuilt
>>> nl.builds
2
"""

from __future__ import annotations

import torch
from torch import Tensor

from symnet._functorch import plain_values, vmapped
from symnet._validate import real
from symnet.groups.box import PeriodicBox
from symnet.systems.neighbours._checks import (
    check_box,
    check_cutoff,
    check_finite,
    check_positions,
)
from symnet.systems.neighbours.cells import cell_list_pairs
from symnet.systems.neighbours.pairs import Pairs

__all__ = ["NeighbourList"]


class NeighbourList:
    """A Verlet list with skin over a cell list, rebuilt when a particle moved ``skin / 2``.

    Parameters
    ----------
    cutoff : float
        Interaction range of the energies computed over the list.
    skin : float
        Extra range kept in the list (``>= 0``); larger means rarer rebuilds and
        more pairs. Under a box ``cutoff + skin`` is at most half its smallest side.
    box : PeriodicBox, optional
        Periodic box (displacements by minimum image); ``None`` for open boundaries.

    Attributes
    ----------
    builds : int
        Number of builds so far.
    pairs : Pairs or None
        The list returned by the last :meth:`update` (``None`` before the first).

    Notes
    -----
    Positions may be wrapped or unwrapped, and may cross faces between updates:
    the displacement since the build is measured by minimum image under a box.
    :meth:`Pairs.displacements` recomputes the minimum image from the positions
    it is given, never trusting ``shift``; ``shift`` itself is corrected by
    :meth:`update` for the particles that were wrapped since the build (free
    when none was, O(P) otherwise).
    For batched positions ``(B, N, d)`` all configurations are rebuilt
    together when any particle of any of them moved too far. A change of
    shape, dtype or device forces a rebuild.

    Examples
    --------
    >>> import torch
    >>> from symnet.systems.neighbours import NeighbourList, pair_energy
    >>> q = torch.tensor([[0.0, 0.0], [1.0, 0.0], [2.2, 0.0]], requires_grad=True)
    >>> nl = NeighbourList(cutoff=1.1, skin=0.2)
    >>> pairs = nl.update(q)
    >>> len(pairs), pair_energy(q, pairs, lambda r: 1.0 - r, cutoff=1.1)
    (2, tensor(0., grad_fn=<...>))
    """

    def __init__(self, cutoff: float, skin: float, box: PeriodicBox | None = None) -> None:
        self.box = check_box(box)
        self.cutoff = real(cutoff, "cutoff", positive=True)
        self.skin = real(skin, "skin", nonnegative=True)
        check_cutoff(self.cutoff + self.skin, self.box, "cutoff + skin")
        self.builds = 0
        self.pairs: Pairs | None = None
        self._reference: Tensor | None = None
        self._built: Pairs | None = None

    def __repr__(self) -> str:
        return (
            f"NeighbourList(cutoff={self.cutoff!r}, skin={self.skin!r}, box={self.box!r}, "
            f"builds={self.builds})"
        )

    def _motion(self, q: Tensor) -> tuple[bool, Tensor | None]:
        """Whether to rebuild, and each particle's jump in box lengths since the build."""
        q = check_positions(q, self.box)
        ref = self._reference
        if ref is None or ref.shape != q.shape or ref.dtype != q.dtype or ref.device != q.device:
            return True, None
        with torch.no_grad():
            raw = q.detach() - ref
            moved = raw if self.box is None else self.box.minimum_image(raw)
            step = (moved * moved).sum(-1).max()
            if not bool(step <= (0.5 * self.skin) ** 2):  # NaN counts as moved
                return True, None
            if self.box is None:
                return False, None
            L = self.box.lengths.to(raw)
            return False, torch.round((raw - moved) / L)

    def needs_rebuild(self, q: Tensor) -> bool:
        """Whether some particle moved more than ``skin / 2`` since the last build.

        Displacements are measured by minimum image under a box. Also ``True``
        before the first build and when the shape, dtype or device of ``q``
        changed. One host sync; ``q`` is not modified.
        """
        return self._motion(q)[0]

    def update(self, q: Tensor) -> Pairs:
        """The pairs within ``cutoff + skin``, rebuilt only if :meth:`needs_rebuild`.

        Parameters
        ----------
        q : Tensor
            Positions, ``(N, d)`` or ``(B, N, d)``, wrapped or not; not modified.

        Returns
        -------
        Pairs
            Half list complete within ``cutoff`` for ``q`` (``pairs.cutoff`` is
            ``cutoff``). Under a box its ``shift`` follows the particles that
            were wrapped (or moved by whole box lengths) since the build, so
            that ``q[j] - q[i] + shift`` is the minimum-image displacement of
            every pair closer than ``cutoff`` (and the continuous displacement
            since the build of every pair); :meth:`Pairs.displacements` gives
            the minimum image of all.
        """
        if vmapped():
            return self._union_pairs(q)
        rebuild, jumps = self._motion(q)
        if rebuild:
            check_finite(q.detach())
            built = cell_list_pairs(q, self.cutoff + self.skin, self.box)
            self._reference = q.detach().clone()
            self._built = built
            self.builds += 1
            pairs = built
        else:
            pairs = self._built
            if jumps is not None and bool(jumps.any()):
                pairs = _follow_jumps(pairs, jumps, self.box)
        self.pairs = Pairs(
            pairs.i, pairs.j, pairs.batch, pairs.shift, self.box, self.cutoff, pairs.candidates
        )
        return self.pairs

    def _union_pairs(self, q: Tensor) -> Pairs:
        """:meth:`update` under ``torch.func.vmap`` (per-sample derivatives), list untouched.

        No decision can depend on the values of a batched tensor, so the list
        is neither read nor rebuilt: one cell list is built from the plain
        values behind the transform (every configuration the ``vmap`` runs
        over), and the union of its pairs serves each of them. The shifts are
        zero: :meth:`Pairs.displacements` and :func:`pair_energy` take the
        minimum image from the positions. When the values cannot be read (a
        vmapped axis among the last two) every pair ``i < j`` is listed (O(N^2)).
        """
        N = q.shape[-2]
        values = plain_values(q)
        if values is None:
            i, j = torch.triu_indices(N, N, 1, device=q.device)
            candidates = len(i)
        else:
            built = cell_list_pairs(values, self.cutoff + self.skin, self.box)
            key = torch.unique(built.i * N + built.j)
            i, j = torch.div(key, N, rounding_mode="floor"), key.remainder(N)
            candidates = built.candidates
        batch = None
        if q.dim() == 3:
            B = q.shape[0]
            batch = torch.arange(B, device=q.device).repeat_interleave(len(i))
            i, j = i.repeat(B), j.repeat(B)
        shift = torch.zeros(len(i), q.shape[-1], dtype=q.dtype, device=q.device)
        return Pairs(i, j, batch, shift, self.box, self.cutoff, candidates)


def _follow_jumps(pairs: Pairs, jumps: Tensor, box: PeriodicBox) -> Pairs:
    """``pairs`` with shifts corrected for particle jumps ``(..., N, d)`` in box lengths."""
    with torch.no_grad():
        flat = jumps.reshape(-1, jumps.shape[-1])
        i, j = pairs.i, pairs.j
        if pairs.batch is not None:
            base = pairs.batch * jumps.shape[-2]
            i, j = base + i, base + j
        L = box.lengths.to(pairs.shift)
        jumped = flat.ne(0).any(-1)
        touched = torch.nonzero(jumped[i] | jumped[j]).squeeze(1)  # usually few pairs
        i, j = i[touched], j[touched]
        shift = pairs.shift.index_add(0, touched, (flat[i] - flat[j]) * L)
    return Pairs(pairs.i, pairs.j, pairs.batch, shift, pairs.box, pairs.cutoff, pairs.candidates)
