"""Composite reps: direct sums (:class:`SumRep`) and tensor products (:class:`TensorRep`).

Built with the algebra of :class:`~symnet.groups.rep_base.Rep`: ``a + b`` and
``k * a`` give block-diagonal matrices, ``a * b`` Kronecker products
(flattened row-major) and the Kronecker sum of the generators.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from symnet.groups.group import Element
from symnet.groups.rep_base import _F64, Rep, _element_batch

__all__ = ["SumRep", "TensorRep"]


def _batched_kron(a: Tensor, b: Tensor) -> Tensor:
    """Kronecker products of two batches of matrices ``(n, p, q)`` and ``(n, r, s)``."""
    n = max(a.shape[0], b.shape[0])
    out = torch.einsum("nij,nkl->nikjl", a.expand(n, -1, -1), b.expand(n, -1, -1))
    return out.reshape(n, a.shape[1] * b.shape[1], a.shape[2] * b.shape[2])


class SumRep(Rep):
    """The direct sum of reps: block-diagonal matrices (build with ``a + b`` or ``k * a``).

    Parameters
    ----------
    *reps : Rep
        At least one rep, all of the same group; nested sums are flattened.
    """

    def __init__(self, *reps: Rep) -> None:
        flat: list[Rep] = []
        for r in reps:
            flat.extend(r.reps if isinstance(r, SumRep) else [r])
        if not flat:
            raise ValueError("a direct sum needs at least one rep")
        for r in flat[1:]:
            flat[0]._check_same_group(r)
        self.reps = tuple(flat)
        self.group = flat[0].group
        self.dim = sum(r.dim for r in flat)

    def __repr__(self) -> str:
        parts: list[str] = []
        i = 0
        while i < len(self.reps):
            j = i
            while j < len(self.reps) and repr(self.reps[j]) == repr(self.reps[i]):
                j += 1
            parts.append(repr(self.reps[i]) if j - i == 1 else f"{j - i}*{self.reps[i]!r}")
            i = j
        return " + ".join(parts)

    def _perm_sizes(self) -> list[int]:
        return [n for r in self.reps for n in r._perm_sizes()]

    def _blocks(self, mats: Sequence[Tensor]) -> Tensor:
        out = torch.zeros(mats[0].shape[0], self.dim, self.dim, dtype=_F64)
        k = 0
        for r, m in zip(self.reps, mats, strict=True):
            out[:, k : k + r.dim, k : k + r.dim] = m
            k += r.dim
        return out

    def lie(self, name: str) -> Tensor:
        """Block-diagonal generator matrices, shape ``(dim, dim)``."""
        return self._blocks([r.lie(name)[None] for r in self.reps])[0]

    def matrix(self, g: Element) -> Tensor:
        """Block-diagonal matrices, shape ``(n, dim, dim)``."""
        n = _element_batch(self.group, g)
        return self._blocks([r.matrix(g).expand(n, -1, -1) for r in self.reps])


class TensorRep(Rep):
    """The tensor product ``a (x) b`` (build with ``a * b``), flattened row-major.

    ``rho(g) = rho_a(g) (x) rho_b(g)`` and ``rho(X) = rho_a(X) (x) I + I (x) rho_b(X)``.

    Parameters
    ----------
    *reps : Rep
        At least two reps of the same group; nested products are flattened.
    """

    def __init__(self, *reps: Rep) -> None:
        flat: list[Rep] = []
        for r in reps:
            flat.extend(r.reps if isinstance(r, TensorRep) else [r])
        if len(flat) < 2:
            raise ValueError("a tensor product needs at least two reps")
        for r in flat[1:]:
            flat[0]._check_same_group(r)
        self.reps = tuple(flat)
        self.group = flat[0].group
        self.dim = 1
        for r in flat:
            self.dim *= r.dim

    def __repr__(self) -> str:
        return "*".join(f"({r!r})" if isinstance(r, SumRep) else repr(r) for r in self.reps)

    def _perm_sizes(self) -> list[int]:
        return [n for r in self.reps for n in r._perm_sizes()]

    def lie(self, name: str) -> Tensor:
        """The Kronecker sum ``sum_i I (x) rho_i(X) (x) I``, shape ``(dim, dim)``."""
        out = torch.zeros(self.dim, self.dim, dtype=_F64)
        for i, r in enumerate(self.reps):
            left = int(torch.tensor([s.dim for s in self.reps[:i]]).prod())
            right = self.dim // (left * r.dim)
            eye_left, eye_right = torch.eye(left, dtype=_F64), torch.eye(right, dtype=_F64)
            out += torch.kron(torch.kron(eye_left, r.lie(name)), eye_right)
        return out

    def matrix(self, g: Element) -> Tensor:
        """Kronecker products of the factors' matrices, shape ``(n, dim, dim)``."""
        out = self.reps[0].matrix(g)
        for r in self.reps[1:]:
            out = _batched_kron(out, r.matrix(g))
        return out
