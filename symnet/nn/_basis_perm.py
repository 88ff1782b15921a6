"""Closed-form equivariant bases for permutation tensor reps (Maron et al. 2019).

The linear maps ``P^{(x)k} -> P^{(x)l}`` that commute with the permutation
group S_N acting on every index at once are spanned by the indicator tensors
of the set partitions of the ``k + l`` indices with at most ``N`` blocks: the
entry ``W[a_1..a_l, b_1..b_k]`` depends only on which of the indices are
equal (Maron, Ben-Hamu, Shamir & Lipman, "Invariant and equivariant graph
networks", ICLR 2019). There are ``Bell(k + l)`` of them when ``N >= k + l``.

**The canonical basis, without a solve.** The indicators have disjoint
supports that cover ``W``. The reduced row echelon form of their span (pivots
in index order) is therefore the indicators themselves, each with its first
nonzero entry as pivot, ordered by that entry; Gram-Schmidt of mutually
orthogonal vectors only normalises them. So the canonical basis of
:func:`symnet.nn.equivariant_basis` is: the indicators, divided by the square
root of their support sizes, sorted by the row-major index of their first
entry. Nothing is approximated; the entries are exactly ``1 / sqrt(size)``.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__: list[str] = []

_F64 = torch.float64


def _patterns(order: int, n: int) -> Tensor:
    """The equality pattern of every index tuple of ``[n]^order``, row-major, as int codes.

    Position ``j`` of a tuple is labelled by the first position holding the same
    value; the labels, read in base ``order``, identify the set partition.
    """
    if order == 0:
        return torch.zeros(1, dtype=torch.long)
    grids = torch.meshgrid(*([torch.arange(n)] * order), indexing="ij")
    t = torch.stack([g.reshape(-1) for g in grids])  # (order, n^order)
    code = torch.zeros(t.shape[1], dtype=torch.long)
    for j in range(order):
        first = torch.full_like(t[j], j)
        for p in range(j - 1, -1, -1):  # smallest p with t[p] == t[j]
            first = torch.where(t[p] == t[j], p, first)
        code = code * order + first
    return code


def partition_basis(l_out: int, k_in: int, n: int) -> tuple[Tensor, Tensor]:
    """The canonical basis of the S_N-equivariant maps ``P^{(x)k_in} -> P^{(x)l_out}``.

    Parameters
    ----------
    l_out, k_in : int
        Tensor orders of the output and the input.
    n : int
        The number of particles ``N``.

    Returns
    -------
    basis : Tensor
        Shape ``(K, n^l_out * n^k_in)``, float64, rows orthonormal, in canonical order.
    pivots : Tensor
        Shape ``(K,)``: the first nonzero (row-major) entry of each element.
    """
    code = _patterns(l_out + k_in, n)
    _, label = torch.unique(code, return_inverse=True)
    k = int(label.max()) + 1
    pos = torch.arange(code.numel())
    first = torch.full((k,), code.numel(), dtype=torch.long).scatter_reduce(
        0, label, pos, reduce="amin"
    )
    size = torch.zeros(k, dtype=_F64).index_add_(0, label, torch.ones(pos.shape, dtype=_F64))
    order = torch.argsort(first)
    rank = torch.empty_like(order)
    rank[order] = torch.arange(k)
    basis = torch.zeros(k, code.numel(), dtype=_F64)
    basis[rank[label], pos] = size.rsqrt()[label]
    return basis, first[order]
