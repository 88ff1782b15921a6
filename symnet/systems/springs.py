"""Particles joined by ideal springs: :class:`TwoBodySpring` and :class:`NBodySprings`.

``L = sum_i 1/2 m_i |v_i|^2 - sum_{pairs} 1/2 k (|x_i - x_j| - l0)^2``
(Goldstein, ch. 1; ``docs/theory.md``, "Ground-truth systems"). Exact symmetries:
translations (charge: total momentum P), rotations (angular momentum), time
shifts (energy) and Galilean boosts (``K = P t - sum_i m_i x_i``);
permutations too when the masses are equal.
"""

from __future__ import annotations

from typing import Any, final

import torch
from torch import Tensor

from symnet.systems._helpers import nonnegative, normal, positive, uniform, unit_vectors
from symnet.systems._pairwise import PairwiseSystem

__all__ = ["TwoBodySpring", "NBodySprings"]


class _Springs(PairwiseSystem):
    """Shared spring potential ``phi(r) = 1/2 k (r - l0)^2``."""

    k: float
    l0: float

    def pair_potential(self, r2: Tensor, mm: Tensor) -> Tensor:
        return 0.5 * self.k * (r2.sqrt() - self.l0) ** 2

    def pair_force(self, r2: Tensor, mm: Tensor) -> Tensor:
        r = r2.sqrt()
        return self.k * (r - self.l0) / r


@final
class TwoBodySpring(_Springs):
    """Two particles joined by a spring of stiffness ``k`` and rest length ``l0``.

    ``L = 1/2 m1 |v1|^2 + 1/2 m2 |v2|^2 - 1/2 k (|x1 - x2| - l0)^2``;
    configurations of shape ``S = (2, dim)``.

    Parameters
    ----------
    m1, m2 : float
        Positive masses.
    k : float
        Positive spring constant.
    l0 : float
        Rest length, ``>= 0``.
    dim : int
        Spatial dimension, ``>= 1``.

    Notes
    -----
    :meth:`sample_states`: centre of mass ``~ N(0, 0.5^2 I)``; separation
    ``x1 - x2`` along a uniform direction with length ``~ U[0.5, 1.5] l0``
    (``U[0.5, 1.5]`` when ``l0 = 0``); velocities ``~ N(0, 0.5^2 I)``.

    Examples
    --------
    >>> from symnet.systems import TwoBodySpring
    >>> sys = TwoBodySpring()
    >>> q, qdot = sys.sample_states(5)
    >>> q.shape, sys.lagrangian(q, qdot).shape
    (torch.Size([5, 2, 3]), torch.Size([5]))
    >>> sys.symmetries
    [Translation(3), Rotation(3), TimeShift(), Boost(3, masses=[1, 1]), Permutation()]
    """

    def __init__(
        self, m1: float = 1.0, m2: float = 1.0, k: float = 1.0, l0: float = 1.0, dim: int = 3
    ) -> None:
        m = torch.tensor([positive("m1", m1), positive("m2", m2)], dtype=torch.float64)
        self.k = positive("k", k)
        self.l0 = nonnegative("l0", l0)
        self._setup(2, dim, m)

    def _params(self) -> dict[str, Any]:
        return {
            "m1": float(self.masses[0]),
            "m2": float(self.masses[1]),
            "k": self.k,
            "l0": self.l0,
            "dim": self.dim,
        }

    def _sample_states(self, n: int, rng: torch.Generator | None) -> tuple[Tensor, Tensor]:
        """``n`` states ``(q, qdot)`` of shape ``(n, 2, dim)``; distribution in the class notes."""
        com = normal((n, self.dim), 0.5, rng)
        length = uniform((n, 1), 0.5, 1.5, rng) * (self.l0 if self.l0 > 0 else 1.0)
        sep = unit_vectors(n, self.dim, rng) * length
        m1, m2 = self.masses[0], self.masses[1]
        x1 = com + m2 / (m1 + m2) * sep
        x2 = com - m1 / (m1 + m2) * sep
        q = torch.stack([x1, x2], dim=1)
        return q, normal((n, 2, self.dim), 0.5, rng)


@final
class NBodySprings(_Springs):
    """N particles with every pair joined by the same spring (``k``, ``l0``).

    ``L = sum_i 1/2 m_i |v_i|^2 - sum_{i<j} 1/2 k (|x_i - x_j| - l0)^2``;
    configurations of shape ``S = (N, dim)``.

    Parameters
    ----------
    N : int
        Number of particles, ``>= 2``.
    dim : int
        Spatial dimension.
    k : float
        Positive spring constant.
    l0 : float
        Rest length, ``>= 0``.
    masses : float or sequence of float, optional
        A scalar or ``N`` positive masses; default all 1. Permutations are
        symmetries exactly when all masses are equal.

    Notes
    -----
    :meth:`sample_states`: positions ``~ N(0, I)``, velocities
    ``~ N(0, 0.5^2 I)``, all independent.

    Examples
    --------
    >>> from symnet.systems import NBodySprings
    >>> NBodySprings(N=3, masses=[1.0, 2.0, 3.0]).broken
    [Generator('dilation'), Permutation()]
    """

    def __init__(
        self,
        N: int = 4,
        dim: int = 3,
        k: float = 1.0,
        l0: float = 1.0,
        masses: float | Any | None = None,
    ) -> None:
        self.k = positive("k", k)
        self.l0 = nonnegative("l0", l0)
        self._setup(N, dim, masses)

    def _params(self) -> dict[str, Any]:
        return {"N": self.N, "dim": self.dim, "k": self.k, "l0": self.l0, "masses": self.masses}

    def _sample_states(self, n: int, rng: torch.Generator | None) -> tuple[Tensor, Tensor]:
        """``n`` states ``(q, qdot)`` of shape ``(n, N, dim)``; distribution in the class notes."""
        q = normal((n, self.N, self.dim), 1.0, rng)
        return q, normal((n, self.N, self.dim), 0.5, rng)
