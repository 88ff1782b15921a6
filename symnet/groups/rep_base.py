"""The abstract :class:`Rep`: a representation's matrices, its action and its algebra.

A rep bound to a :class:`~symnet.groups.Group` gives the matrices ``rho(g)``
of group elements (:meth:`Rep.matrix`) and ``rho(X)`` of Lie algebra
generators (:meth:`Rep.lie`), acts on rep-valued tensors (:meth:`Rep.act`)
and combines with other reps of the same group: ``a + b`` is the direct sum,
``a * b`` the tensor product, ``k * a`` a multiplicity and ``a.T`` the dual. The building
blocks are in :mod:`symnet.groups.rep_atoms`, the sums and products in
:mod:`symnet.groups.rep_composite`; :mod:`symnet.groups.reps` gathers them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import Tensor

from symnet.groups.group import Element, Group

__all__ = ["Rep"]

_F64 = torch.float64


def _factor_elements(group: Group, g: Element) -> list[tuple[Group, Element]]:
    """Pair each factor of ``group`` with its part of the element ``g``."""
    if len(group.factors) == 1:
        return [(group, g)]
    if not isinstance(g, tuple) or len(g) != len(group.factors):
        raise TypeError(
            f"an element of {group!r} is a tuple of {len(group.factors)} factor elements, "
            f"got {type(g).__name__}"
        )
    return list(zip(group.factors, g, strict=True))


def _element_batch(group: Group, g: Element) -> int:
    return int(group._batch(g))


def _owner(group: Group, name: str) -> Group:
    """The factor of ``group`` that owns the Lie algebra generator ``name``."""
    for f in group.factors:
        if name in f.generator_names():
            return f
    known = ", ".join(group.generator_names()) or "none"
    raise ValueError(f"{group!r} has no generator {name!r}; its generators: {known}")


class Rep(ABC):
    """Abstract base: a finite-dimensional real representation of ``group``.

    Attributes
    ----------
    group : Group
        The group the rep is bound to.
    dim : int
        Dimension of the representation space.
    """

    group: Group
    dim: int

    # ------------------------------------------------------------------ matrices
    @abstractmethod
    def lie(self, name: str) -> Tensor:
        """The matrix ``rho(X)`` of the Lie algebra generator ``name``.

        Parameters
        ----------
        name : str
            A generator of ``group`` (``group.generator_names()``).

        Returns
        -------
        Tensor
            Shape ``(dim, dim)``, float64.
        """

    @abstractmethod
    def matrix(self, g: Element) -> Tensor:
        """The matrices ``rho(g)`` of a batch of finite group elements.

        Parameters
        ----------
        g : Element
            A batch of ``n`` elements of ``group`` (a tuple for product groups).

        Returns
        -------
        Tensor
            Shape ``(n, dim, dim)``, float64.
        """

    def discrete(self, g: Element) -> Tensor:
        """The matrix of one element, such as a discrete generator, shape ``(dim, dim)``.

        Raises
        ------
        ValueError
            ``g`` is a batch of more than one element.
        """
        n = _element_batch(self.group, g)
        if n != 1:
            raise ValueError(f"discrete() takes a single element (batch 1), got a batch of {n}")
        return self.matrix(g)[0]

    def act(self, g: Element, x: Tensor) -> Tensor:
        """Apply ``rho(g)`` to rep-valued tensors: ``x -> x rho(g)^T``.

        Parameters
        ----------
        g : Element
            ``n`` elements (``n == 1`` broadcasts).
        x : Tensor
            Shape ``(n, ..., dim)``.

        Returns
        -------
        Tensor
            Shape of ``x``.
        """
        if x.shape[-1] != self.dim:
            raise ValueError(f"x must have last dimension {self.dim} for {self!r}, got {x.shape}")
        m = self.matrix(g).to(x)
        m = m.reshape(m.shape[0], *([1] * (x.dim() - 2)), self.dim, self.dim)
        return (m @ x.unsqueeze(-1)).squeeze(-1)

    def particles(self) -> int | None:
        """The number ``N`` of the permutation reps inside (None when there is none).

        Raises
        ------
        ValueError
            Two permutation reps of different ``N``.
        """
        ns = {n for n in self._perm_sizes()}
        if len(ns) > 1:
            raise ValueError(f"{self!r} mixes permutation reps of different sizes {sorted(ns)}")
        return ns.pop() if ns else None

    def _perm_sizes(self) -> list[int]:
        return []

    @property
    def T(self) -> Rep:  # noqa: N802 - the dual, as in EMLP
        """The dual rep ``V*``: matrices ``rho(g)^{-T}``, generators ``-rho(X)^T``.

        See :class:`~symnet.groups.rep_dual.DualRep`; ``rep.T.T == rep``.
        """
        from symnet.groups.rep_dual import DualRep

        return DualRep(self)

    # ----------------------------------------------------------------- algebra
    def _check_same_group(self, other: Rep) -> None:
        if self.group != other.group:
            raise ValueError(
                f"cannot combine reps of different groups: {self!r} of {self.group!r} and "
                f"{other!r} of {other.group!r}"
            )

    def __add__(self, other: Rep) -> Rep:
        if not isinstance(other, Rep):
            return NotImplemented
        from symnet.groups.rep_composite import SumRep

        self._check_same_group(other)
        return SumRep(self, other)

    def __radd__(self, other: object) -> Rep:
        if other == 0:  # sum([rep1, rep2])
            return self
        return NotImplemented

    def __mul__(self, other: Rep | int) -> Rep:
        from symnet.groups.rep_atoms import Scalar
        from symnet.groups.rep_composite import TensorRep

        if isinstance(other, int) and not isinstance(other, bool):
            return self._multiple(other)
        if not isinstance(other, Rep):
            return NotImplemented
        self._check_same_group(other)
        if isinstance(self, Scalar):
            return other
        if isinstance(other, Scalar):
            return self
        return TensorRep(self, other)

    def __rmul__(self, other: int) -> Rep:
        if isinstance(other, int) and not isinstance(other, bool):
            return self._multiple(other)
        return NotImplemented

    def __pow__(self, k: int) -> Rep:
        if not isinstance(k, int) or k < 0:
            raise ValueError(f"a tensor power needs an int k >= 0, got {k!r}")
        from symnet.groups.rep_atoms import Scalar

        out: Rep = Scalar(self.group)
        for _ in range(k):
            out = out * self
        return out

    def _multiple(self, k: int) -> Rep:
        if k < 1:
            raise ValueError(f"a multiplicity must be an int >= 1, got {k}")
        from symnet.groups.rep_composite import SumRep

        return self if k == 1 else SumRep(*([self] * k))

    # ---------------------------------------------------------------- identity
    def __eq__(self, other: object) -> bool:
        return isinstance(other, Rep) and (repr(self), self.group) == (repr(other), other.group)

    def __hash__(self) -> int:
        return hash((repr(self), repr(self.group)))
