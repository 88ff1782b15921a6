"""Linear representations of symnet's groups: the kind of a rep-valued tensor.

A :class:`Rep` is one more :class:`~symnet.groups.Kind` of tensor: a tensor
of shape ``(n, ..., dim)`` whose last axis transforms by ``rho(g)``; pass a
rep wherever a kind is expected (``group.act(g, x, rep)``, the symmetry
assertions, a layer's ``in_kinds``). The built-in kinds ``scalar`` and
``vector`` are the layouts ``PermRep(G, N) * (C * Scalar(G))`` and
``PermRep(G, N) * Vector(G)`` flattened.

A representation ``rho`` maps a group element ``g`` to a matrix ``rho(g)`` of
shape ``(dim, dim)`` and a Lie algebra generator ``X`` to ``rho(X)``. The reps
here are bound to a :class:`~symnet.groups.Group` and derive their matrices
from the group's own actions (:meth:`Group.act` and
:meth:`Group.act_infinitesimal` on the ``scalar`` and ``vector`` kinds),
never from per-group tables:

============  =====  =====================================================
rep           dim    acts by
============  =====  =====================================================
``Scalar``    1      nothing (the trivial rep)
``Vector``    d      the group's linear action on vectors of ``R^d`` (the
                     rotation matrix ``R``); particle permutations and
                     translations act trivially
``PermRep``   N      permutation matrices of S_N on ``R^N``; rotations
                     act trivially
``a + b``     a + b  block-diagonal matrices (direct sum)
``k * a``     k a    the direct sum of ``k`` copies
``a * b``     a b    Kronecker products ``rho_a(g) (x) rho_b(g)``, and
                     ``X (x) I + I (x) Y`` for generators (tensor product)
============  =====  =====================================================

``*`` between two reps is the tensor product (as in EMLP); ``*`` with an int
is a multiplicity. Tensor-product vectors are flattened row-major: the
per-particle vectors ``PermRep(G, N) * Vector(G)`` are the ``(N, d)`` layout of
symnet's ``vector`` kind flattened to ``N d`` entries, and ``PermRep(G, N) *
(C * Scalar(G))`` the ``(N, C)`` layout of its ``scalar`` kind.

References
----------
M. Finzi, M. Welling, A. G. Wilson, "A practical method for constructing
equivariant multilayer perceptrons for arbitrary matrix groups", ICML 2021.

Examples
--------
>>> from symnet.groups import Permutation, Rotation
>>> from symnet.groups import PermRep, Scalar, Vector
>>> G = Rotation(3) * Permutation()
>>> V, P = Vector(G), PermRep(G, 4)
>>> rep = P * V + 2 * Scalar(G)
>>> rep, rep.dim
(P(4)*V + 2*S, 14)
>>> name, cycle = G.discrete_generators((4, 3))[1]
>>> name, P.discrete(cycle)
('cycle', tensor([[0., 1., 0., 0.],
        [0., 0., 1., 0.],
        [0., 0., 0., 1.],
        [1., 0., 0., 0.]], dtype=torch.float64))
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import torch
from torch import Tensor

from symnet.groups.group import Element, Group

__all__ = ["Rep", "Scalar", "Vector", "PermRep", "SumRep", "TensorRep"]

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
        self._check_same_group(other)
        return SumRep(self, other)

    def __radd__(self, other: object) -> Rep:
        if other == 0:  # sum([rep1, rep2])
            return self
        return NotImplemented

    def __mul__(self, other: Rep | int) -> Rep:
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
        out: Rep = Scalar(self.group)
        for _ in range(k):
            out = out * self
        return out

    def _multiple(self, k: int) -> Rep:
        if k < 1:
            raise ValueError(f"a multiplicity must be an int >= 1, got {k}")
        return self if k == 1 else SumRep(*([self] * k))

    # ---------------------------------------------------------------- identity
    def __eq__(self, other: object) -> bool:
        return isinstance(other, Rep) and (repr(self), self.group) == (repr(other), other.group)

    def __hash__(self) -> int:
        return hash((repr(self), repr(self.group)))


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


def _batched_kron(a: Tensor, b: Tensor) -> Tensor:
    """Kronecker products of two batches of matrices ``(n, p, q)`` and ``(n, r, s)``."""
    n = max(a.shape[0], b.shape[0])
    out = torch.einsum("nij,nkl->nikjl", a.expand(n, -1, -1), b.expand(n, -1, -1))
    return out.reshape(n, a.shape[1] * b.shape[1], a.shape[2] * b.shape[2])


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
