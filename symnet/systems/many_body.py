"""Many interacting particles: :class:`NBodyGravity` and :class:`IdenticalParticles`.

Both have ``L = sum_i 1/2 m_i |v_i|^2 - sum_{i<j} phi(r_ij)`` with a potential
of the distances only: exact symmetries translations, rotations, time shifts and
Galilean boosts (with the boundary term ``sum_i m_i x_i . u``), plus
permutations when all masses are equal (``docs/theory.md``, "Ground-truth systems").

References
----------
S. J. Aarseth, *Gravitational N-Body Simulations*, Cambridge (2003), ch. 2
(Plummer softening ``-G m_i m_j / sqrt(r^2 + eps^2)``).
J. E. Lennard-Jones, "On the determination of molecular fields", Proc. R. Soc.
A 106 (1924) 463.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, final

import torch
from torch import Tensor
from torch.func import jvp

from symnet.systems._helpers import nonnegative, normal, positive, uniform
from symnet.systems._pairwise import PairwiseSystem

__all__ = ["NBodyGravity", "IdenticalParticles"]


@final
class NBodyGravity(PairwiseSystem):
    """Softened Newtonian gravity of N bodies.

    ``L = sum_i 1/2 m_i |v_i|^2 + sum_{i<j} G m_i m_j / sqrt(|x_i - x_j|^2 + eps^2)``;
    configurations of shape ``S = (N, dim)``. The Plummer softening ``eps``
    keeps the forces bounded (``eps = 0`` gives the singular Newtonian
    potential; states then must keep the bodies apart).

    Parameters
    ----------
    N : int
        Number of bodies, ``>= 2``.
    G : float
        Positive gravitational constant.
    masses : float or sequence of float, optional
        A scalar or ``N`` positive masses; default all 1.
    softening : float
        ``eps >= 0``.
    dim : int
        Spatial dimension.

    Notes
    -----
    :meth:`sample_states`: positions ``~ N(0, I)``, velocities
    ``~ N(0, 0.5^2 I)``, all independent.

    Examples
    --------
    >>> from symnet.systems import NBodyGravity
    >>> NBodyGravity()
    NBodyGravity(N=3, G=1, masses=[1, 1, 1], softening=0.1, dim=3)
    """

    def __init__(
        self,
        N: int = 3,
        G: float = 1.0,
        masses: float | Any | None = None,
        softening: float = 0.1,
        dim: int = 3,
    ) -> None:
        self.G = positive("G", G)
        self.softening = nonnegative("softening", softening)
        self._setup(N, dim, masses)

    def _params(self) -> dict[str, Any]:
        return {
            "N": self.N,
            "G": self.G,
            "masses": self.masses,
            "softening": self.softening,
            "dim": self.dim,
        }

    def pair_potential(self, r2: Tensor, mm: Tensor) -> Tensor:
        """``-G m_i m_j / sqrt(r^2 + eps^2)``, shape ``(B, P)``."""
        return -self.G * mm / (r2 + self.softening**2).sqrt()

    def pair_force(self, r2: Tensor, mm: Tensor) -> Tensor:
        """``phi'(r) / r = G m_i m_j / (r^2 + eps^2)^(3/2)``, shape ``(B, P)``."""
        return self.G * mm / (r2 + self.softening**2) ** 1.5

    def _sample_states(self, n: int, rng: torch.Generator | None) -> tuple[Tensor, Tensor]:
        """``n`` states ``(q, qdot)`` of shape ``(n, N, dim)``; distribution in the class notes."""
        q = normal((n, self.N, self.dim), 1.0, rng)
        return q, normal((n, self.N, self.dim), 0.5, rng)


_POTENTIALS = ("lennard-jones", "gaussian")


@final
class IdenticalParticles(PairwiseSystem):
    """N particles with one pair potential; identical when their masses are equal.

    ``L = sum_i 1/2 m_i |v_i|^2 - sum_{i<j} phi(r_ij)`` with

    - ``"lennard-jones"``: ``phi(r) = 4 epsilon ((sigma/r)^12 - (sigma/r)^6)``;
    - ``"gaussian"``: soft repulsion ``phi(r) = epsilon exp(-r^2 / (2 sigma^2))``;
    - a callable ``phi(r)``: elementwise torch function of distances
      (``epsilon`` and ``sigma`` then only set the sampling scale).

    Configurations of shape ``S = (N, dim)``. With equal masses the
    permutations of the particles are symmetries; with different masses
    ``Permutation()`` is in :attr:`broken`.

    Parameters
    ----------
    N : int
        Number of particles, ``>= 2``.
    dim : int
        Spatial dimension.
    masses : float or sequence of float, optional
        A scalar or ``N`` positive masses; default all 1.
    potential : str or callable
        ``"lennard-jones"`` (default), ``"gaussian"`` or ``phi(r)``.
    epsilon, sigma : float
        Positive energy and length scales.
    velocity_scale : float
        Standard deviation of the sampled velocities, ``>= 0``.

    Notes
    -----
    :meth:`sample_states`: the particles occupy ``N`` distinct random sites of
    a cubic lattice with spacing ``1.2 sigma`` (``ceil(N^(1/dim))`` sites per
    side), each coordinate jittered by ``U[-0.1, 0.1] sigma``, so that every
    distance is at least ``sigma``; velocities ``~ N(0, velocity_scale^2 I)``.

    Examples
    --------
    >>> from symnet.systems import IdenticalParticles
    >>> IdenticalParticles(masses=[1.0, 2.0, 3.0, 4.0]).broken
    [Generator('dilation'), Permutation()]
    """

    def __init__(
        self,
        N: int = 4,
        dim: int = 3,
        masses: float | Any | None = None,
        potential: str | Callable[[Tensor], Tensor] = "lennard-jones",
        epsilon: float = 1.0,
        sigma: float = 1.0,
        velocity_scale: float = 0.5,
    ) -> None:
        if isinstance(potential, str):
            if potential not in _POTENTIALS:
                raise ValueError(
                    f"potential must be one of {', '.join(map(repr, _POTENTIALS))} or a "
                    f"callable phi(r), got {potential!r}"
                )
        elif not callable(potential):
            raise TypeError(f"potential must be a string or a callable, got {type(potential)}")
        self.potential_name = potential
        self.epsilon = positive("epsilon", epsilon)
        self.sigma = positive("sigma", sigma)
        self.velocity_scale = nonnegative("velocity_scale", velocity_scale)
        self._setup(N, dim, masses)

    def _params(self) -> dict[str, Any]:
        return {
            "N": self.N,
            "dim": self.dim,
            "masses": self.masses,
            "potential": self.potential_name,
            "epsilon": self.epsilon,
            "sigma": self.sigma,
            "velocity_scale": self.velocity_scale,
        }

    def pair_potential(self, r2: Tensor, mm: Tensor) -> Tensor:
        """``phi(r)`` of every pair, shape ``(B, P)``."""
        if self.potential_name == "lennard-jones":
            s6 = (self.sigma**2 / r2) ** 3
            return 4.0 * self.epsilon * (s6 * s6 - s6)
        if self.potential_name == "gaussian":
            return self.epsilon * torch.exp(-r2 / (2.0 * self.sigma**2))
        return self.potential_name(r2.sqrt())

    def pair_force(self, r2: Tensor, mm: Tensor) -> Tensor:
        """``phi'(r) / r`` of every pair, shape ``(B, P)``."""
        if self.potential_name == "lennard-jones":
            s6 = (self.sigma**2 / r2) ** 3
            return 24.0 * self.epsilon * (s6 - 2.0 * s6 * s6) / r2
        if self.potential_name == "gaussian":
            return -self.epsilon / self.sigma**2 * torch.exp(-r2 / (2.0 * self.sigma**2))
        r = r2.sqrt()
        return jvp(self.potential_name, (r,), (torch.ones_like(r),))[1] / r

    def _sample_states(self, n: int, rng: torch.Generator | None) -> tuple[Tensor, Tensor]:
        """``n`` states ``(q, qdot)`` of shape ``(n, N, dim)``; distribution in the class notes."""
        side = math.ceil(self.N ** (1.0 / self.dim) - 1e-9)
        grid = torch.cartesian_prod(*[torch.arange(side, dtype=torch.float64)] * self.dim)
        grid = grid.reshape(-1, self.dim)
        sites = torch.rand(n, grid.shape[0], generator=rng).argsort(dim=1)[:, : self.N]
        jitter = uniform((n, self.N, self.dim), -0.1, 0.1, rng)
        q = (1.2 * grid[sites] + jitter) * self.sigma
        return q, normal((n, self.N, self.dim), self.velocity_scale, rng)
