"""Private helpers of :mod:`symnet.nn.emlp`: typed layouts of reps and the default hidden rep.

A rep is split into its direct summands; equal summands (same ``repr``) form
one *type* with a multiplicity. Equivariant maps between ``m_a`` copies of a
type ``T_a`` and ``m_c`` copies of ``T_c`` are ``sum_k C_k (x) B_k`` with
``B_k`` a basis of the equivariant maps ``T_a -> T_c`` and free channel
matrices ``C_k`` (``m_c x m_a``), so only the bases between *types* are
solved, never the constraints of the whole sum (Finzi, Welling & Wilson
2021 use the same block structure).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import torch
from torch import Tensor

from symnet.groups import Group
from symnet.groups.reps import Rep, Scalar, SumRep, TensorRep

__all__ = ["Layout", "base_reps", "default_hidden", "signature"]


@dataclass(frozen=True, eq=False)
class Layout:
    """A rep split into types: ``entries[i] = (type_rep, multiplicity)``.

    Attributes
    ----------
    entries : tuple of (Rep, int)
        Types in type-major order; the copies of one type are contiguous.
    perm : Tensor
        Long, shape ``(dim,)``: ``x_typed = x[..., perm]`` reorders a vector of
        the original rep into type-major order.
    inverse : Tensor
        Long, shape ``(dim,)``: ``x = x_typed[..., inverse]``.
    """

    entries: tuple[tuple[Rep, int], ...]
    perm: Tensor
    inverse: Tensor

    @property
    def dim(self) -> int:
        """Total dimension."""
        return sum(r.dim * m for r, m in self.entries)

    @property
    def identity(self) -> bool:
        """Whether the type-major order is the original order."""
        return bool(torch.equal(self.perm, torch.arange(self.dim)))

    def offsets(self) -> list[int]:
        """Start of each entry in type-major order (and the total at the end)."""
        out = [0]
        for r, m in self.entries:
            out.append(out[-1] + r.dim * m)
        return out


def summands(rep: Rep) -> list[Rep]:
    """The direct summands of ``rep`` (itself when it is not a :class:`SumRep`)."""
    return list(rep.reps) if isinstance(rep, SumRep) else [rep]


def layout(rep: Rep) -> Layout:
    """Split ``rep`` into types, first appearance first, with the reordering permutation."""
    order: dict[str, list[tuple[Rep, int]]] = {}  # repr -> [(rep, start)]
    start = 0
    for r in summands(rep):
        order.setdefault(repr(r), []).append((r, start))
        start += r.dim
    entries, perm = [], []
    for copies in order.values():
        r = copies[0][0]
        entries.append((r, len(copies)))
        for _, s in copies:
            perm.extend(range(s, s + r.dim))
    p = torch.tensor(perm, dtype=torch.long)
    return Layout(tuple(entries), p, torch.argsort(p))


def base_reps(*reps: Rep) -> list[Rep]:
    """The non-scalar building blocks of ``reps`` (factors of sums and products), deduplicated."""
    found: dict[str, Rep] = {}

    def walk(r: Rep) -> None:
        if isinstance(r, (SumRep, TensorRep)):
            for s in r.reps:
                walk(s)
        elif not isinstance(r, Scalar):
            found.setdefault(repr(r), r)

    for r in reps:
        walk(r)
    return list(found.values())


def signature(rep: Rep) -> Counter[str] | None:
    """The multiset of building blocks of a type (empty for a scalar), None for sums inside.

    A dual ``b*`` counts as ``b``: the signature only proposes candidate
    bilinear products, whose equivariant maps are then solved for.
    """
    inner = getattr(rep, "rep", None)  # a DualRep's rep
    if isinstance(inner, Rep) and not isinstance(rep, (SumRep, TensorRep)):
        return signature(inner)
    if isinstance(rep, Scalar):
        return Counter()
    if isinstance(rep, SumRep):
        return None
    if isinstance(rep, TensorRep):
        out: Counter[str] = Counter()
        for r in rep.reps:
            s = signature(r)
            if s is None:
                return None
            out += s
        return out
    return Counter([repr(rep)])


def default_hidden(group: Group, rep_in: Rep, rep_out: Rep, width: int) -> Rep:
    """EMLP's "uniform" hidden rep: tensor powers of order 0, 1, 2, about ``width`` dims.

    The base reps ``b_i`` of ``rep_in`` and ``rep_out`` give the types of order
    1 (``b_i``) and 2 (``b_i * b_j``, ``i <= j``). A third of ``width`` goes to
    each order (half each without order 2), split evenly among its types;
    a type gets ``round(share / dim)`` copies and is dropped at 0 copies. The
    non-scalar summands of ``rep_in`` and ``rep_out`` no larger than ``width``
    get at least one copy. Scalars fill the rest (at least one).
    """
    bases = base_reps(rep_in, rep_out)
    orders: list[list[Rep]] = [bases, [a * b for i, a in enumerate(bases) for b in bases[i:]]]
    orders = [o for o in orders if o]
    share = width / (len(orders) + 1)
    mult: dict[str, tuple[Rep, int]] = {}
    for types in orders:
        for t in types:
            m = round(share / len(types) / t.dim) if t.dim <= width else 0
            mult[repr(t)] = (t, m)
    for r in summands(rep_in) + summands(rep_out):
        if not isinstance(r, Scalar) and r.dim <= width:
            t, m = mult.get(repr(r), (r, 0))
            mult[repr(r)] = (t, max(m, 1))
    kept = [(t, m) for t, m in mult.values() if m > 0]
    n_scalar = max(1, width - sum(t.dim * m for t, m in kept))
    out: Rep = n_scalar * Scalar(group)
    for t, m in kept:
        out = out + m * t
    return out
