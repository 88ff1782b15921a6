"""Pair lists: the :class:`Pairs` container, the O(N^2) reference and pair energies.

A pair list holds each unordered pair once (``i < j``, a *half* list) with the
periodic image vector ``shift`` such that ``q[j] - q[i] + shift`` is the
minimum-image displacement. :func:`all_pairs` builds it by brute force (the
reference of the tests), :func:`~symnet.systems.neighbours.cell_list_pairs` in
O(N), :class:`~symnet.systems.neighbours.NeighbourList` keeps one with a skin.
:func:`pair_energy` sums a pair potential over a list, differentiably (forces
by autograd).

Examples
--------
>>> import torch
>>> from symnet.groups import PeriodicBox
>>> from symnet.systems.neighbours import all_pairs, pair_energy
>>> box = PeriodicBox(4.0, dim=2)
>>> q = torch.tensor([[0.5, 0.5], [3.5, 0.5], [2.0, 2.0]], dtype=torch.float64)
>>> pairs = all_pairs(q, 1.5, box)
>>> pairs.i, pairs.j, pairs.shift
(tensor([0]), tensor([1]), tensor([[-4.,  0.]], dtype=torch.float64))
>>> pairs.distances(q)
tensor([1.], dtype=torch.float64)
>>> pair_energy(q, pairs, lambda r: 1.0 / r, cutoff=1.5)
tensor(1., dtype=torch.float64)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from symnet._validate import real
from symnet.groups.box import PeriodicBox
from symnet.systems.neighbours._checks import (
    check_box,
    check_cutoff,
    check_finite,
    check_positions,
    separations,
    within,
)

__all__ = ["Pairs", "all_pairs", "pair_energy"]


@dataclass(frozen=True, eq=False, repr=False)
class Pairs:
    """A half list of particle pairs, with periodic image shifts.

    Parameters
    ----------
    i, j : Tensor
        Particle indices, int64, shape ``(P,)``, ``i < j`` (within one configuration).
    batch : Tensor or None
        Index of the configuration of each pair, int64, shape ``(P,)``, when
        the list was built for batched positions ``(B, N, d)``; else ``None``.
    shift : Tensor
        ``(P, d)``, detached: the image vector to add to ``q[j] - q[i]`` to get
        the minimum-image displacement, at the positions the list was built
        (or, for :class:`~symnet.systems.neighbours.NeighbourList`, last
        updated) with; zeros without a box.
    box : PeriodicBox or None
        The periodic box of the list, ``None`` for open boundaries.
    cutoff : float or None
        Every pair closer than this is in the list (``None``: unknown, not checked).
    candidates : int
        Number of candidate pairs whose distance the builder evaluated (its work).

    Notes
    -----
    :meth:`displacements` never trusts ``shift`` under a box: it applies the
    minimum image to ``q[j] - q[i]`` at the positions it is given, so a list
    stays exact while particles move (and cross faces, wrapped or not) between
    rebuilds. Without a box it returns ``q[j] - q[i] + shift``.

    Examples
    --------
    >>> import torch
    >>> from symnet.systems.neighbours import Pairs
    >>> q = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    >>> pairs = Pairs(torch.tensor([0]), torch.tensor([1]), None, torch.zeros(1, 2))
    >>> pairs.displacements(q), pairs.distances(q), len(pairs)
    (tensor([[3., 4.]]), tensor([5.]), 1)
    """

    i: Tensor
    j: Tensor
    batch: Tensor | None
    shift: Tensor
    box: PeriodicBox | None = None
    cutoff: float | None = None
    candidates: int = 0

    def __post_init__(self) -> None:
        for name in ("i", "j", "batch"):
            v = getattr(self, name)
            if name == "batch" and v is None:
                continue
            if not isinstance(v, Tensor) or v.dtype != torch.int64 or v.dim() != 1:
                raise ValueError(f"{name} must be an int64 tensor of shape (P,), got {v!r}")
        P = self.i.shape[0]
        if self.j.shape[0] != P or (self.batch is not None and self.batch.shape[0] != P):
            raise ValueError("i, j and batch must have the same shape (P,)")
        if not isinstance(self.shift, Tensor) or self.shift.dim() != 2 or self.shift.shape[0] != P:
            raise ValueError(f"shift must be a tensor of shape (P={P}, d), got {self.shift!r}")
        check_box(self.box)

    def __len__(self) -> int:
        return int(self.i.shape[0])

    def __repr__(self) -> str:
        batched = "" if self.batch is None else ", batched"
        return f"Pairs({len(self)} pairs{batched}, cutoff={self.cutoff!r}, box={self.box!r})"

    def _flat_indices(self, q: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        q = check_positions(q, self.box)
        if self.batch is None:
            if q.dim() != 2:
                raise ValueError(
                    f"q must have shape (N, d) for an unbatched pair list, got {tuple(q.shape)}"
                )
            return q, self.i, self.j
        if q.dim() != 3:
            raise ValueError(
                f"q must have shape (B, N, d) for a batched pair list, got {tuple(q.shape)}"
            )
        N = q.shape[1]
        base = self.batch * N
        return q.reshape(-1, q.shape[-1]), base + self.i, base + self.j

    def displacements(self, q: Tensor) -> Tensor:
        """Displacements ``q[j] - q[i]`` of every pair, minimum image under a box.

        Parameters
        ----------
        q : Tensor
            Positions, ``(N, d)`` (or ``(B, N, d)`` for a batched list); may be
            unwrapped; not modified.

        Returns
        -------
        Tensor
            ``(P, d)``, differentiable in ``q``.
        """
        flat, i, j = self._flat_indices(q)
        return self._separation(flat, i, j, self.shift)

    def shifted_displacements(self, q: Tensor) -> Tensor:
        """Displacements ``q[j] - q[i] + shift`` with the stored image shifts, ``(P, d)``.

        Cheaper than :meth:`displacements` (no minimum image per pair) and
        equal to it for every pair closer than the list's ``cutoff`` (for the
        pairs of a :class:`~symnet.systems.neighbours.NeighbourList`, whose
        ``update`` keeps the shifts of particles that jumped by a box length,
        between rebuilds; for a pair in the skin it is the displacement
        followed continuously from the build). Use it for energies and forces
        masked at the cutoff; differentiable in ``q``.
        """
        flat, i, j = self._flat_indices(q)
        return flat[j] - flat[i] + self.shift.to(flat)

    def _separation(self, flat: Tensor, i: Tensor, j: Tensor, shift: Tensor) -> Tensor:
        """``flat[j] - flat[i]``: minimum image under the box, else plus ``shift``."""
        dx = flat[j] - flat[i]
        if self.box is None:
            return dx + shift.to(dx)
        with torch.no_grad():  # a constant image shift: autograd sees only the gathers,
            image = self.box.minimum_image(dx) - dx  # gradient 1 as through minimum_image
        return dx + image

    def distances(self, q: Tensor) -> Tensor:
        """Distances ``|displacements(q)|``, shape ``(P,)``, differentiable in ``q``."""
        dx = self.displacements(q)
        return torch.sqrt((dx * dx).sum(-1))


def all_pairs(q: Tensor, cutoff: float, box: PeriodicBox | None = None) -> Pairs:
    """Every pair closer than ``cutoff``, by brute force: the O(N^2) reference.

    Parameters
    ----------
    q : Tensor
        Positions, ``(N, d)`` or ``(B, N, d)`` (then pairs never join two
        configurations); may lie outside the box; not modified.
    cutoff : float
        Pairs with ``|dx|^2 < cutoff^2`` (in ``q``'s dtype) are kept; under a
        box at most half its smallest side.
    box : PeriodicBox, optional
        Periodic box (minimum-image distances); ``None`` for open boundaries.

    Returns
    -------
    Pairs
        Half list (``i < j``), ordered by configuration, then ``i``, then ``j``.
        Time and memory ``O(B N^2)``.

    Examples
    --------
    >>> import torch
    >>> from symnet.systems.neighbours import all_pairs
    >>> q = torch.tensor([[0.0, 0.0], [0.5, 0.0], [3.0, 0.0]])
    >>> p = all_pairs(q, 1.0)
    >>> p.i, p.j, p.candidates
    (tensor([0]), tensor([1]), 3)
    """
    box = check_box(box)
    q = check_positions(q, box)
    cutoff = check_cutoff(cutoff, box)
    x = q.detach()
    check_finite(x)
    batched = x.dim() == 3
    B = x.shape[0] if batched else 1
    N, d = x.shape[-2], x.shape[-1]
    ti, tj = torch.triu_indices(N, N, 1, device=x.device)
    base = (torch.arange(B, device=x.device) * N).unsqueeze(1)
    i = (base + ti).reshape(-1)
    j = (base + tj).reshape(-1)
    flat = x.reshape(B * N, d)
    keep = within(separations(flat, i, j, box, shifts=False)[0], cutoff)
    i, j = i[keep], j[keep]
    shift = separations(flat, i, j, box)[1]
    return _from_flat(i, j, shift, N, batched, box, cutoff, B * ti.shape[0])


def _from_flat(
    i: Tensor,
    j: Tensor,
    shift: Tensor,
    N: int,
    batched: bool,
    box: PeriodicBox | None,
    cutoff: float,
    candidates: int,
) -> Pairs:
    """A :class:`Pairs` from flat indices ``b * N + particle`` (private)."""
    if not batched:
        return Pairs(i, j, None, shift, box, cutoff, int(candidates))
    batch = torch.div(i, max(N, 1), rounding_mode="floor")
    base = batch * N
    return Pairs(i - base, j - base, batch, shift, box, cutoff, int(candidates))


def pair_energy(q: Tensor, pairs: Pairs, phi: Callable[[Tensor], Tensor], cutoff: float) -> Tensor:
    """Sum of ``phi(r)`` over the pairs closer than ``cutoff``, per configuration.

    Pairs at or beyond ``cutoff`` (a neighbour list with a skin holds them)
    contribute exactly zero through a mask, so the computation has no
    data-dependent shapes and is differentiable in ``q`` (forces
    ``-dE/dq`` by autograd). ``phi`` is evaluated at ``r = cutoff`` for the
    masked pairs, so it must be finite there.

    Parameters
    ----------
    q : Tensor
        Positions, ``(N, d)`` or ``(B, N, d)`` matching ``pairs``; may be
        unwrapped (minimum image under the list's box); not modified.
    pairs : Pairs
        A half list complete within ``cutoff`` (``pairs.cutoff >= cutoff``).
    phi : callable
        Pair potential ``phi(r) -> Tensor`` of the shape of ``r``; it must act
        elementwise (it is called on chunks of the pairs, ``r`` of shape ``(P',)``).
    cutoff : float
        Interaction range: a pair counts when ``r^2 < cutoff^2``.

    Returns
    -------
    Tensor
        ``()`` for ``(N, d)`` positions, ``(B,)`` for ``(B, N, d)``.

    Examples
    --------
    >>> import torch
    >>> from symnet.systems.neighbours import cell_list_pairs, pair_energy
    >>> q = torch.tensor([[0.0, 0.0], [1.0, 0.0], [5.0, 0.0]], requires_grad=True)
    >>> pairs = cell_list_pairs(q, 2.0)
    >>> E = pair_energy(q, pairs, lambda r: (r - 2.0) ** 2, cutoff=2.0)
    >>> E
    tensor(1., grad_fn=<...>)
    >>> torch.autograd.grad(E, q)[0]
    tensor([[ 2.,  0.],
            [-2.,  0.],
            [ 0.,  0.]])
    """
    if not isinstance(pairs, Pairs):
        raise TypeError(f"pairs must be a Pairs, got {type(pairs).__name__}")
    if not callable(phi):
        raise TypeError(f"phi must be callable (phi(r) -> Tensor), got {type(phi).__name__}")
    cutoff = real(cutoff, "cutoff", positive=True)
    if pairs.cutoff is not None and cutoff > pairs.cutoff:
        raise ValueError(
            f"cutoff must be at most the radius the pair list is complete within "
            f"({pairs.cutoff!r}), got {cutoff!r}"
        )
    flat, i, j = pairs._flat_indices(q)
    B = q.shape[0] if pairs.batch is not None else 1
    total = flat.new_zeros(B)
    P = len(pairs)
    # chunks of pairs keep the intermediates in cache: at 4e6 pairs this runs 2-3x
    # faster than one pass (time O(P) instead of growing with the cache misses)
    for start in range(0, max(P, 1), _CHUNK):
        part = slice(start, start + _CHUNK)
        dx = pairs._separation(flat, i[part], j[part], pairs.shift[part])
        e = _masked_phi(dx, phi, cutoff)
        if pairs.batch is None:
            total = total + e.sum()
        else:
            total = total.index_add(0, pairs.batch[part], e)
    return total[0] if pairs.batch is None else total


#: Pairs per chunk in :func:`pair_energy`.
_CHUNK = 1 << 17


def _masked_phi(dx: Tensor, phi: Callable[[Tensor], Tensor], cutoff: float) -> Tensor:
    """``phi(|dx|)`` where ``|dx|^2 < cutoff^2``, exactly 0 elsewhere, shape ``dx.shape[:-1]``."""
    r2 = (dx * dx).sum(-1)
    inside = r2 < cutoff * cutoff
    r = torch.sqrt(torch.where(inside, r2, torch.full_like(r2, cutoff * cutoff)))
    e = phi(r)
    if not isinstance(e, Tensor) or e.shape != r.shape:
        raise ValueError(
            f"phi must return a tensor of the shape of r {tuple(r.shape)}, "
            f"got {getattr(e, 'shape', type(e).__name__)}"
        )
    return torch.where(inside, e, torch.zeros_like(e))
