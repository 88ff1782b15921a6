"""The real symplectic group Sp(2n, R) on phase-space vectors ``z = (q_1..q_n, p_1..p_n)``.

An element is a matrix ``M`` with ``M^T J M = J`` for the symplectic form
``J = [[0, I], [-I, 0]]``; it acts as ``z -> M z``. The Lie algebra sp(2n)
consists of the matrices ``A = J S`` with ``S`` symmetric: ``A`` generates the
linear flow ``zdot = J grad H`` of the quadratic Hamiltonian ``H = z^T S z / 2``.
Its ``n (2n + 1)`` generators are named by that Hamiltonian (indices from 0;
without an index when ``n = 1``):

==================  ============================  ==========
name                ``H``                         part
==================  ============================  ==========
``phase_i``         ``(q_i^2 + p_i^2) / 2``       u(n)
``phase_ij``        ``q_i q_j + p_i p_j``         u(n)
``rot_ij``          ``q_i p_j - q_j p_i``         u(n)
``squeeze_i``       ``q_i p_i``                   noncompact
``squeeze_ij``      ``q_i p_j + q_j p_i``         noncompact
``hyper_i``         ``(q_i^2 - p_i^2) / 2``       noncompact
``hyper_ij``        ``q_i q_j - p_i p_j``         noncompact
==================  ============================  ==========

The first ``n^2`` (:meth:`Symplectic.compact_generator_names`) span
u(n) = sp(2n) ∩ so(2n), the generators that are also rotations of
``R^{2n}``; the other ``n (n + 1)`` are symmetric matrices (squeezes).
Sp(2n, R) is connected: no discrete generators. Every element has
determinant 1, so axial vectors transform as vectors and pseudoscalars are
invariant.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from symnet.groups._matrix_group import MatrixGroup
from symnet.groups.group import Element, Group

__all__ = ["Symplectic", "symplectic_form", "symplectic_basis"]


def symplectic_form(n: int, dtype: torch.dtype = torch.float64) -> Tensor:
    """``J = [[0, I_n], [-I_n, 0]]``, shape ``(2n, 2n)``.

    Examples
    --------
    >>> from symnet.groups.symplectic import symplectic_form
    >>> symplectic_form(1)
    tensor([[ 0.,  1.],
            [-1.,  0.]], dtype=torch.float64)
    """
    eye = torch.eye(n, dtype=dtype)
    zero = torch.zeros(n, n, dtype=dtype)
    return torch.cat([torch.cat([zero, eye], 1), torch.cat([-eye, zero], 1)], 0)


def _sym(n: int, i: int, j: int, dtype: torch.dtype) -> Tensor:
    """``E_ii`` (i == j) or ``E_ij + E_ji``, shape ``(n, n)``."""
    m = torch.zeros(n, n, dtype=dtype)
    m[i, j] = m[j, i] = 1.0
    return m


def symplectic_basis(n: int, dtype: torch.dtype = torch.float64) -> tuple[list[str], Tensor, int]:
    """Names and matrices ``A = J S`` of the basis of sp(2n) (see the module table).

    Returns
    -------
    names : list of str
    matrices : Tensor
        Shape ``(n (2n + 1), 2n, 2n)``; the first ``n^2`` are antisymmetric (u(n)).
    n_compact : int
        ``n^2``.

    Examples
    --------
    >>> from symnet.groups.symplectic import symplectic_basis
    >>> names, A, k = symplectic_basis(1)
    >>> names, k
    (['phase', 'squeeze', 'hyper'], 1)
    """
    J = symplectic_form(n, dtype)
    zero = torch.zeros(n, n, dtype=dtype)
    pairs = [(i, i) for i in range(n)] + [(i, j) for i in range(n) for j in range(i + 1, n)]

    def tag(prefix: str, i: int, j: int) -> str:
        if n == 1:
            return prefix
        return f"{prefix}_{i}" if i == j else f"{prefix}_{i}{j}"

    names: list[str] = []
    hams: list[Tensor] = []  # the symmetric S of H = z^T S z / 2

    def add(name: str, a: Tensor, b: Tensor, c: Tensor) -> None:
        names.append(name)
        hams.append(torch.cat([torch.cat([a, b], 1), torch.cat([b.T, c], 1)], 0))

    for i, j in pairs:  # u(n): S = [[a, b], [-b, a]], a symmetric, b antisymmetric
        add(tag("phase", i, j), _sym(n, i, j, dtype), zero, _sym(n, i, j, dtype))
    for i, j in pairs[n:]:
        b = torch.zeros(n, n, dtype=dtype)
        b[i, j], b[j, i] = 1.0, -1.0
        add(tag("rot", i, j), zero, b, zero)
    for i, j in pairs:  # the rest: S = [[a, b], [b, -a]], a and b symmetric
        add(tag("squeeze", i, j), zero, _sym(n, i, j, dtype), zero)
    for i, j in pairs:
        add(tag("hyper", i, j), _sym(n, i, j, dtype), zero, -_sym(n, i, j, dtype))
    return names, J @ torch.stack(hams), n * n


class Symplectic(MatrixGroup, by_name="symplectic"):
    """The symplectic group Sp(2n, R) acting on phase-space vectors ``(q_1..q_n, p_1..p_n)``.

    Elements are matrices ``M`` of shape ``(m, 2n, 2n)`` (float64) with
    ``M^T J M = J`` (:meth:`form`). Acts on ``point`` and ``vector`` tensors
    whose last axis is ``2n`` (``z -> M z``), so ``Vector(Symplectic(n))`` is
    the defining rep. Generators: see :mod:`symnet.groups.symplectic`.
    ``Translation(2n) * Symplectic(n)`` is the affine symplectic group: its
    shifts are conjugated by ``M`` (:meth:`orthogonal_matrix`).

    :meth:`sample` draws ``M = exp(J S_1) exp(J S_2)`` (every element of
    Sp(2n, R) is such a product) with independent symmetric Gaussian ``S_k``
    (off-diagonal entries of standard deviation :attr:`algebra_scale`
    ``/ sqrt(2n)``, diagonal ones ``sqrt(2)`` times that), so that the norm
    ``||J S_k||`` is about ``2 algebra_scale = 1`` whatever ``n``: moderate,
    well-conditioned elements.

    Parameters
    ----------
    n : int
        Degrees of freedom: the group acts on ``R^{2n}``.

    Examples
    --------
    >>> import torch
    >>> from symnet.groups import Symplectic
    >>> G = Symplectic(2)
    >>> len(G.generator_names()), G.compact_generator_names()
    (10, ['phase_0', 'phase_1', 'phase_01', 'rot_01'])
    >>> M, J = G.sample(3, (1, 4), rng=0), G.form()
    >>> bool(torch.allclose(M.transpose(-1, -2) @ J @ M, J.expand(3, 4, 4), atol=1e-12))
    True
    >>> G
    Symplectic(2)
    """

    name = "symplectic"
    #: Scale of the random algebra elements of :meth:`sample`.
    algebra_scale: ClassVar[float] = 0.5
    _unimodular = True
    _batch_letter = "m"
    _vectors = "phase-space vectors"
    _config_needs = ("phase-space vectors (q, p) of R^(2n)", "2n")

    def __init__(self, n: int) -> None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive int (Sp(2n, R) acts on R^(2n)), got {n!r}")
        self.n = n
        self.dim = 2 * n
        self._names, self._mats, self._n_compact = symplectic_basis(n)

    @classmethod
    def _from_width(cls, d: int) -> Group | None:
        """``Symplectic(d // 2)`` for ``S = (N, d)`` with an even ``d >= 2``."""
        return cls(d // 2) if d >= 2 and d % 2 == 0 else None

    def __repr__(self) -> str:
        return f"Symplectic({self.n})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.n,))

    def form(self, dtype: torch.dtype = torch.float64) -> Tensor:
        """The symplectic form ``J = [[0, I], [-I, 0]]``, shape ``(2n, 2n)``."""
        return symplectic_form(self.n, dtype)

    # ---------------------------------------------------------------- generators
    def compact_generator_names(self) -> list[str]:
        """The ``n^2`` generators of u(n) = sp(2n) ∩ so(2n) (antisymmetric matrices)."""
        return self._names[: self._n_compact]

    # ------------------------------------------------------------------ elements
    def inverse(self, g: Element) -> Element:
        """``-J g^T J``, the inverse of a symplectic matrix."""
        self._batch(g)
        J = self.form(g.dtype).to(g.device)
        return -(J @ g.transpose(-1, -2) @ J)

    def _sample(
        self, n: int, config_shape: tuple[int, ...], gen: torch.Generator | None
    ) -> Element:
        """``exp(J S_1) exp(J S_2)`` as documented in the class, shape ``(n, 2n, 2n)``."""
        d = self.dim
        std = self.algebra_scale / d**0.5  # type: ignore[operator]
        z = std * torch.randn(2, n, d, d, generator=gen, dtype=torch.float64)
        S = (z + z.transpose(-1, -2)) / 2**0.5  # diagonal std * sqrt(2), off-diagonal std
        M = torch.linalg.matrix_exp(self.form() @ S)
        return M[0] @ M[1]
