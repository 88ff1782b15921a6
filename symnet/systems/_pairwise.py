"""Particles with pairwise central forces: the shared abstract base.

``L = sum_i 1/2 m_i |v_i|^2 - sum_{i<j} phi(|x_i - x_j|)`` (Goldstein, ch. 1).
The potential depends only on distances, so ``L`` is invariant under
translations and rotations of all particles and under time shifts; it is
Galilean invariant up to the boundary term ``F = sum_i m_i x_i . u``
(``docs/theory.md``, "Quasi-symmetries and boundary terms"); and it is
permutation invariant when all masses (and the pair potential) are equal.
Subclasses give ``phi`` through the squared distance (so that softened
potentials stay smooth at ``r = 0``).

Acceleration in closed form: ``m_i a_i = -sum_{j != i} phi'(r_ij) (x_i - x_j) / r_ij``.
"""

from __future__ import annotations

from abc import abstractmethod

import torch
from torch import Tensor

from symnet.groups import Boost, Generator, Permutation, Rotation, TimeShift, Translation
from symnet.systems._helpers import integer, masses_tensor
from symnet.systems._point_mass import PointMasses
from symnet.systems.system import Symmetry

__all__ = ["PairwiseSystem"]


class PairwiseSystem(PointMasses):
    """Abstract base: N particles in d dimensions with a pair potential.

    Subclasses set ``self.masses`` (float64, shape ``(N,)``) and ``self.dim``
    through :meth:`_setup` and implement :meth:`pair_potential` and
    :meth:`pair_force`.
    """

    masses: Tensor
    dim: int

    def _setup(self, N: int, dim: int, masses: object) -> None:
        self.N = integer("N", N, minimum=2)
        self.dim = integer("dim", dim)
        self.masses = masses_tensor(masses, self.N)
        idx = torch.triu_indices(self.N, self.N, 1)
        self._I, self._J = idx[0], idx[1]

    @property
    def config_shape(self) -> tuple[int, ...]:
        """``(N, dim)``."""
        return (self.N, self.dim)

    @property
    def equal_masses(self) -> bool:
        """Whether all particles have the same mass (then permutations are symmetries)."""
        return bool((self.masses == self.masses[0]).all())

    @abstractmethod
    def pair_potential(self, r2: Tensor, mm: Tensor) -> Tensor:
        """``phi`` of every pair from squared distances ``r2`` (B, P); ``mm = m_i m_j`` (P,)."""

    @abstractmethod
    def pair_force(self, r2: Tensor, mm: Tensor) -> Tensor:
        """``phi'(r) / r`` of every pair, shape ``(B, P)``."""

    # ------------------------------------------------------------------ mechanics
    def _pairs(self, q: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        diff = q[:, self._I.to(q.device)] - q[:, self._J.to(q.device)]
        m = self.masses.to(q)
        return diff, (diff * diff).sum(-1), m[self._I] * m[self._J]

    def potential(self, q: Tensor) -> Tensor:
        """``V(q) = sum_{i<j} phi(r_ij)``, shape ``(B,)``; ``q`` of shape ``(B, N, d)``."""
        _, r2, mm = self._pairs(q)
        return self.pair_potential(r2, mm).sum(-1)

    def acceleration(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``a_i = -(1/m_i) sum_j phi'(r_ij) (x_i - x_j) / r_ij``, shape ``(B, N, d)``."""
        self.check_state(q, qdot)
        diff, r2, mm = self._pairs(q)
        f = -self.pair_force(r2, mm)[..., None] * diff  # force on particle I of each pair
        first, second = self._I.to(q.device), self._J.to(q.device)
        F = torch.zeros_like(q).index_add(1, first, f).index_add(1, second, -f)
        return F / self.masses.to(q)[:, None]

    # ------------------------------------------------------------------ symmetries
    @property
    def symmetries(self) -> list[Symmetry]:
        """Translation(d), Rotation(d) (d >= 2), TimeShift(), Boost(d, masses).

        Plus Permutation() when all masses are equal.
        """
        out: list[Symmetry] = [Translation(self.dim)]
        if self.dim >= 2:
            out.append(Rotation(self.dim))
        out += [TimeShift(), Boost(self.dim, self.masses)]
        if self.equal_masses:
            out.append(Permutation())
        return out

    @property
    def broken(self) -> list[Symmetry]:
        """The dilation ``x_i -> (1 + eps) x_i`` (``Generator.linear("dilation", I)``).

        Plus Permutation() when the masses differ.
        """
        out: list[Symmetry] = [
            Generator.linear("dilation", torch.eye(self.dim, dtype=torch.float64))
        ]
        if not self.equal_masses:
            out.append(Permutation())
        return out

    def mass(self, x: Tensor) -> Tensor:
        """The masses as a ``(N, 1)`` tensor in ``x``'s dtype and device."""
        return self.masses.to(x)[:, None]
