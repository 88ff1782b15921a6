"""The irreducible building blocks of the reps: :class:`Scalar`, :class:`Vector`, :class:`PermRep`.

Each derives its matrices from the group's own actions on symnet's kinds
(the ``vector`` kind for :class:`Vector`, the ``scalar`` kind for
:class:`PermRep`), factor by factor: the matrix of an element of a product
group is the product of the matrices of its factor elements.
"""

from __future__ import annotations

from abc import abstractmethod

import torch
from torch import Tensor

from symnet.groups.group import Element, Group
from symnet.groups.rep_base import _F64, Rep, _element_batch, _factor_elements, _owner

__all__ = ["Scalar", "Vector", "PermRep"]


class _Atom(Rep):
    """An irreducible building block: the matrix of an element is the product over factors."""

    def __init__(self, group: Group) -> None:
        from symnet.groups.generator import Generator
        from symnet.groups.one_parameter import as_group

        if isinstance(group, Generator):
            group = as_group(group)
        if not isinstance(group, Group):
            raise TypeError(f"group must be a symnet.groups.Group, got {type(group).__name__}")
        self.group = group

    def matrix(self, g: Element) -> Tensor:
        n = _element_batch(self.group, g)
        out = torch.eye(self.dim, dtype=_F64).expand(n, -1, -1)
        for f, gi in _factor_elements(self.group, g):  # g_1 o ... o g_k: matrices multiply
            out = out @ self._factor_matrix(f, gi)
        return out.contiguous()

    def lie(self, name: str) -> Tensor:
        return self._factor_lie(_owner(self.group, name), name)

    @abstractmethod
    def _factor_matrix(self, factor: Group, g: Element) -> Tensor: ...

    @abstractmethod
    def _factor_lie(self, factor: Group, name: str) -> Tensor: ...


class Scalar(_Atom):
    """The trivial representation: dim 1, every matrix is ``[[1]]`` (generators ``[[0]]``).

    Parameters
    ----------
    group : Group
        The group it belongs to.
    """

    dim = 1

    def __repr__(self) -> str:
        return "S"

    @property
    def T(self) -> Rep:  # noqa: N802 - the dual, as in EMLP
        """The trivial rep is its own dual."""
        return self

    def _factor_matrix(self, factor: Group, g: Element) -> Tensor:
        return torch.ones(1, 1, 1, dtype=_F64)

    def _factor_lie(self, factor: Group, name: str) -> Tensor:
        return torch.zeros(1, 1, dtype=_F64)


class Vector(_Atom):
    """The defining representation of the group's rotation factor, dim ``d``.

    ``rho(g)`` is the rotation matrix of ``g``; a generator's matrix is its so(d)
    matrix from :meth:`Rotation.lie_algebra`. Permutations act trivially (use
    ``PermRep(G, N) * Vector(G)`` for one vector per particle); every factor acts
    as on symnet's ``vector`` kind (rotations by ``R``, translations trivially).

    Parameters
    ----------
    group : Group
        A group acting in ``d = group.dim`` dimensions (e.g. with a
        :class:`~symnet.groups.Rotation` factor).

    Raises
    ------
    ValueError
        ``group`` has no rotation factor, or a factor acts affinely on vectors
        (boosts), which no linear representation describes.
    """

    def __init__(self, group: Group) -> None:
        super().__init__(group)
        if self.group.dim is None:
            raise ValueError(
                f"Vector needs a group acting on vectors of R^d (such as one with a Rotation "
                f"factor), got {self.group!r}"
            )
        self.dim = int(self.group.dim)

    def __repr__(self) -> str:
        return "V"

    def _probe(self, factor: Group, fn_name: str, arg: Element | str) -> Tensor:
        """The factor's action on the basis vectors of kind ``vector`` (as rows), transposed."""
        d = self.dim
        act = getattr(factor, fn_name)
        n = 1 if fn_name == "act_infinitesimal" else _element_batch(factor, arg)
        zero = act(arg, torch.zeros(n, 1, d, dtype=_F64), "vector")
        if zero.abs().max() > 0:
            raise ValueError(f"{factor!r} acts affinely on vectors: it has no linear rep")
        rows = act(arg, torch.eye(d, dtype=_F64).expand(n, d, d).clone(), "vector")
        return rows.transpose(-1, -2).contiguous()

    def _factor_matrix(self, factor: Group, g: Element) -> Tensor:
        if factor.permutes_particles:  # not indexed by particles
            return torch.eye(self.dim, dtype=_F64)[None]
        return self._probe(factor, "act", g)

    def _factor_lie(self, factor: Group, name: str) -> Tensor:
        return self._probe(factor, "act_infinitesimal", name)[0].contiguous()


class PermRep(_Atom):
    """The permutation representation of S_N on ``R^N``: ``(rho(sigma) x)_i = x_{sigma(i)}``.

    The matrices come from the group's action on symnet's ``scalar`` kind, so
    the layout agrees with :meth:`Permutation.act`. Continuous factors act as on
    per-particle scalars (trivially).

    Parameters
    ----------
    group : Group
        A group with a factor that permutes particles (:class:`~symnet.groups.Permutation`).
    n : int
        The number of particles ``N``.
    """

    def __init__(self, group: Group, n: int) -> None:
        super().__init__(group)
        if not any(f.permutes_particles for f in self.group.factors):
            raise ValueError(f"PermRep needs a group with a Permutation factor, got {group!r}")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        self.n = self.dim = n

    def __repr__(self) -> str:
        return f"P({self.n})"

    def _perm_sizes(self) -> list[int]:
        return [self.n]

    def _basis(self, batch: int) -> Tensor:
        # N particles with N channels: channel c is the basis vector e_c, so the action
        # on this (n, N, N) tensor is rho(g) itself, column by column.
        return torch.eye(self.n, dtype=_F64).expand(batch, self.n, self.n).clone()

    def _factor_matrix(self, factor: Group, g: Element) -> Tensor:
        if factor.permutes_particles and g.shape[-1] != self.n:
            raise ValueError(
                f"{self!r} needs permutations of {self.n} particles, got shape {tuple(g.shape)}"
            )
        return factor.act(g, self._basis(_element_batch(factor, g)), "scalar")

    def _factor_lie(self, factor: Group, name: str) -> Tensor:
        return factor.act_infinitesimal(name, self._basis(1), "scalar")[0]
