"""Cell lists: every pair within a cutoff in O(N) time and memory, in pure torch.

Space is cut into cells of side at least the cutoff, so a particle's partners
lie in its own cell or in one of the ``3^d`` cells around it. The build:

1. bin the particles into integer cell coordinates (positions wrapped into the
   box under periodic boundaries; cells over the bounding box of each
   configuration otherwise) and give every cell a linear id, offset by
   ``b * C`` for configuration ``b`` of a batch (one pass over all ``B``
   configurations, no loop over them);
2. sort the particles by cell id (``torch.argsort``, stable): the members of
   each occupied cell are then contiguous, found with
   ``torch.unique_consecutive`` (start and count) and looked up with
   ``torch.searchsorted``, so empty cells cost nothing (a dilute open system
   with a huge bounding box stays O(N) in memory);
3. for each of the ``3^d`` neighbour-cell offsets (a Python loop over at most
   27 offsets, nothing else), expand the candidate pairs (the particle at
   sorted position ``s`` and the members of the neighbour cell at sorted
   positions ``> s``, so that each unordered pair is a candidate once) with
   ``torch.repeat_interleave``; a cheap test on the binned positions (one
   coordinate at a time, the neighbour cell's periodic image known from the
   offset, a round-off margin) discards most of them, and the survivors get
   the exact test of :func:`~symnet.systems.neighbours.all_pairs` (same
   displacement, same ``|dx|^2 < cutoff^2``), so both find bitwise the same set.

Memory is O(N) at fixed density: the candidates of one offset at a time,
about ``N`` times the mean cell occupancy.

Under a box with fewer than three cells along an axis the offsets ``-1`` and
``+1`` reach the same cell (two cells) or the cell itself (one cell); the
offsets are deduplicated per axis, so no pair is found twice. The work (the
number of candidates, :attr:`Pairs.candidates`) is about
``N * 3^d * rho * s^d / 2`` for density ``rho`` and cell side ``s``: linear in
``N`` at fixed density.

Examples
--------
>>> import torch
>>> from symnet.groups import PeriodicBox
>>> from symnet.systems.neighbours import all_pairs, cell_list_pairs
>>> box = PeriodicBox([10.0, 8.0, 6.0])
>>> q = torch.rand(200, 3, generator=torch.Generator().manual_seed(0)) * box.lengths
>>> fast, slow = cell_list_pairs(q, 1.5, box), all_pairs(q, 1.5, box)
>>> key = lambda p: set(zip(p.i.tolist(), p.j.tolist()))
>>> key(fast) == key(slow), fast.candidates < slow.candidates
(True, True)
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import Tensor

from symnet.groups.box import PeriodicBox
from symnet.systems.neighbours._checks import (
    check_box,
    check_cutoff,
    check_finite,
    check_positions,
    separations,
    within,
)
from symnet.systems.neighbours.pairs import Pairs, _from_flat

__all__ = ["cell_list_pairs"]

#: Cells are at least ``cutoff * (1 + tol) + tol * scale`` wide, ``tol = _SLACK * eps``,
#: so that rounding in the binning never puts two particles closer than the cutoff
#: two cells apart.
_SLACK = 64
#: Bound on ``B * (cells per configuration)`` so that linear cell ids fit in int64.
_MAX_IDS = 2**60


def _grid(
    x: Tensor, cutoff: float, box: PeriodicBox | None
) -> tuple[Tensor, list[int], Tensor, float]:
    """Cell coordinates of positions ``x`` ``(B, N, d)``: the binning (private).

    Returns the integer cell coordinates ``(B, N, d)``, the cells per axis, the
    positions binned (wrapped into the box, in ``x``'s dtype) and the reach
    ``cutoff * (1 + tol) + tol * scale`` (at most the cell side): every pair
    closer than ``cutoff`` is closer than the reach in the binned positions.
    """
    B, _, d = x.shape
    tol = _SLACK * torch.finfo(x.dtype).eps
    xd = x.to(torch.float64)
    if box is not None:
        L = box.lengths.tolist()
        scale = max(L) + float(xd.abs().max())
        side = cutoff * (1 + tol) + tol * scale
        n = [max(1, math.floor(length / side)) for length in L]
        while B * math.prod(n) > _MAX_IDS:  # absurdly many cells: merge some (still correct)
            k = max(range(d), key=lambda a: n[a])
            n[k] = max(1, n[k] // 2)
        width = torch.tensor(
            [a / b for a, b in zip(L, n, strict=True)], dtype=torch.float64, device=x.device
        )
        pos = box.wrap(x)
        rel = pos.to(torch.float64)
    else:
        pos = x
        origin = xd.amin(dim=1, keepdim=True)
        rel = xd - origin
        extent = rel.amax(dim=(0, 1)).tolist()
        scale = max(extent) + float(xd.abs().max())
        side = [cutoff * (1 + tol) + tol * scale] * d
        n = [math.floor(e / s) + 1 for e, s in zip(extent, side, strict=True)]
        while B * math.prod(n) > _MAX_IDS:
            k = max(range(d), key=lambda a: n[a])
            side[k] *= 2
            n[k] = math.floor(extent[k] / side[k]) + 1
        width = torch.tensor(side, dtype=torch.float64, device=x.device)
    top = torch.tensor(n, device=x.device) - 1
    coords = torch.floor(rel / width).long()
    coords = torch.minimum(coords.clamp(min=0), top)
    reach = cutoff * (1 + tol) + tol * scale
    return coords, n, pos, reach


def _offsets(n: list[int], periodic: bool) -> list[tuple[int, ...]]:
    """Neighbour-cell offsets, deduplicated per axis under periodic boundaries."""
    axes = []
    for m in n:
        if m == 1:
            axes.append((0,))
        elif m == 2 and periodic:
            axes.append((0, 1))  # -1 and +1 reach the same cell
        else:
            axes.append((-1, 0, 1))
    return list(itertools.product(*axes))


def cell_list_pairs(q: Tensor, cutoff: float, box: PeriodicBox | None = None) -> Pairs:
    """Every pair closer than ``cutoff``, by a cell list: O(N) time and memory.

    Finds the same pairs as :func:`~symnet.systems.neighbours.all_pairs` (the
    same test ``|dx|^2 < cutoff^2``, on the same minimum-image displacement),
    in another order.

    Parameters
    ----------
    q : Tensor
        Positions, ``(N, d)`` or ``(B, N, d)`` (all configurations in one pass;
        pairs never join two of them); may lie outside the box (they are
        wrapped for binning only); not modified.
    cutoff : float
        Pair range; under a box at most half its smallest side (then cells can
        number fewer than three per axis: handled without double counting).
    box : PeriodicBox, optional
        Periodic box; ``None`` for open boundaries (cells over the bounding box
        of each configuration).

    Returns
    -------
    Pairs
        Half list (``i < j``) with periodic shifts; ``candidates`` counts the
        distances evaluated.

    Examples
    --------
    >>> import torch
    >>> from symnet.groups import PeriodicBox
    >>> from symnet.systems.neighbours import cell_list_pairs
    >>> q = torch.tensor([[[0.2, 0.2], [2.8, 0.2]], [[0.2, 0.2], [1.5, 1.5]]])
    >>> p = cell_list_pairs(q, 1.0, PeriodicBox(3.0, dim=2))
    >>> p.batch, p.i, p.j, p.shift
    (tensor([0]), tensor([0]), tensor([1]), tensor([[-3.,  0.]]))
    """
    box = check_box(box)
    q = check_positions(q, box)
    cutoff = check_cutoff(cutoff, box)
    batched = q.dim() == 3
    with torch.no_grad():
        x = q.detach()
        check_finite(x)
        if not batched:
            x = x.unsqueeze(0)
        B, N, d = x.shape
        flat = x.reshape(B * N, d)
        empty = torch.zeros(0, dtype=torch.long, device=x.device)
        if N < 2:
            return _from_flat(empty, empty, flat.new_zeros(0, d), N, batched, box, cutoff, 0)
        coords, n, pos, reach = _grid(x, cutoff, box)
        periodic = box is not None
        # under a box with >= 3 cells per axis each neighbour cell is one known image
        images = periodic and min(n) >= 3
        strides = [math.prod(n[a + 1 :]) for a in range(d)]
        C = math.prod(n)
        stride_t = torch.tensor(strides, device=x.device)
        n_t = torch.tensor(n, device=x.device)
        cell = (coords * stride_t).sum(-1) + torch.arange(B, device=x.device).unsqueeze(1) * C
        order = torch.argsort(cell.reshape(-1), stable=True)
        ids, inverse, counts = torch.unique_consecutive(
            cell.reshape(-1)[order], return_inverse=True, return_counts=True
        )
        starts = torch.cumsum(counts, 0) - counts
        cell_coords = coords.reshape(-1, d)[order][starts]  # (U, d)
        cell_base = torch.div(ids, C, rounding_mode="floor") * C
        xs = pos.reshape(-1, d)[order]  # binned positions in cell order
        columns = xs.t().contiguous()  # (d, B * N)
        L = box.lengths.to(xs) if periodic else None
        position = torch.arange(B * N, device=x.device)
        U = ids.shape[0]
        found_i, found_j, found_shift = [], [], []
        candidates = 0
        for offset in _offsets(n, periodic):
            nb = cell_coords + torch.tensor(offset, device=x.device)
            target = xs
            if periodic:
                wrapped = torch.remainder(nb, n_t)
                if images:  # the neighbour cell's image that touches this cell
                    turns = torch.div(nb - wrapped, n_t, rounding_mode="floor")
                    target = xs - (turns.to(xs) * L)[inverse]
                nb, valid = wrapped, None
            else:
                valid = ((nb >= 0) & (nb < n_t)).all(-1)
            key = (nb * stride_t).sum(-1) + cell_base
            k = torch.searchsorted(ids, key).clamp(max=U - 1)
            hit = ids[k] == key
            if valid is not None:
                hit &= valid
            nb_start = torch.where(hit, starts[k], 0)[inverse]  # per sorted particle
            nb_end = torch.where(hit, starts[k] + counts[k], 0)[inverse]
            lo = torch.maximum(nb_start, position + 1)
            cnt = (nb_end - lo).clamp(min=0)
            total = int(cnt.sum())
            if total == 0:
                continue
            candidates += total
            a = torch.repeat_interleave(position, cnt, output_size=total)
            first = torch.cumsum(cnt, 0) - cnt
            b = torch.repeat_interleave(lo - first, cnt, output_size=total)
            b += torch.arange(total, device=x.device)
            # cheap pre-filter in the binned positions, with a round-off margin ...
            if periodic and not images:  # small boxes: any image may be the nearest
                near = within(box.minimum_image(xs[b] - xs[a]), reach)
            else:  # one coordinate at a time: cheaper gathers, no reduction
                r2 = torch.zeros(total, dtype=xs.dtype, device=x.device)
                for axis in range(d):
                    diff = columns[axis].index_select(0, b) - target[:, axis].index_select(0, a)
                    r2.addcmul_(diff, diff)
                near = r2 < reach * reach
            a, b = order[a[near]], order[b[near]]
            # ... then the exact test of all_pairs on the few survivors
            i, j = torch.minimum(a, b), torch.maximum(a, b)
            keep = within(separations(flat, i, j, box, shifts=False)[0], cutoff)
            i, j = i[keep], j[keep]
            found_i.append(i)
            found_j.append(j)
            found_shift.append(separations(flat, i, j, box)[1])
        if not found_i:
            return _from_flat(
                empty, empty, flat.new_zeros(0, d), N, batched, box, cutoff, candidates
            )
        i, j, shift = torch.cat(found_i), torch.cat(found_j), torch.cat(found_shift)
        return _from_flat(i, j, shift, N, batched, box, cutoff, candidates)
