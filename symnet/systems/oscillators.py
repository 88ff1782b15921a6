"""Harmonic oscillators: isotropic, anisotropic, and the HNN mass-spring.

- :class:`IsotropicOscillator`: ``L = 1/2 m |v|^2 - 1/2 k |x|^2``; rotations
  and time shifts are symmetries, translations are not
  (``docs/theory.md``, "Ground-truth systems").
- :class:`AnisotropicOscillator`: ``L = 1/2 m |v|^2 - 1/2 (kx x^2 + ky y^2)``;
  unequal stiffnesses break the rotation symmetry.
- :class:`MassSpring`: the one-dimensional spring of Greydanus et al. (2019),
  ``H = p^2 + q^2`` for the defaults ``m = 1/2``, ``k = 2``, with their data
  recipe (:meth:`MassSpring.hnn_dataset`).

References
----------
H. Goldstein, C. Poole, J. Safko, *Classical Mechanics*, 3rd ed. (2002), ch. 6.
S. Greydanus, M. Dzamba, J. Yosinski, "Hamiltonian Neural Networks",
NeurIPS (2019), arXiv:1906.01563.
"""

from __future__ import annotations

import math
from typing import Any, final

import torch
from torch import Tensor

from symnet._deprecation import MISSING
from symnet._rng import RNG
from symnet.groups import Generator, Rotation, TimeShift, Translation
from symnet.systems._data import Trajectories
from symnet.systems._helpers import (
    integer,
    nonnegative,
    normal,
    positive,
    renamed_generator,
    uniform,
)
from symnet.systems._point_mass import PointMasses
from symnet.systems.central import CentralForce
from symnet.systems.system import Symmetry

__all__ = ["IsotropicOscillator", "AnisotropicOscillator", "MassSpring"]


def shift_generator(name: str = "shift") -> Generator:
    """``xi(q) = 1`` on every coordinate: a shift of all generalized coordinates."""
    return Generator(name, lambda q: torch.ones_like(q))


@final
class IsotropicOscillator(CentralForce):
    """The isotropic harmonic oscillator ``L = 1/2 m |v|^2 - 1/2 k |x|^2``, ``S = (1, dim)``.

    Parameters
    ----------
    m : float
        Positive mass.
    k : float
        Positive stiffness.
    dim : int
        Spatial dimension, ``>= 2``.

    Notes
    -----
    :meth:`sample_states`: positions and velocities ``~ N(0, I)``.

    Examples
    --------
    >>> from symnet.systems import IsotropicOscillator
    >>> sys = IsotropicOscillator()
    >>> sys.config_shape, sys.symmetries, sys.broken
    ((1, 2), [Rotation(2), TimeShift()], [Translation(2)])
    """

    def __init__(self, m: float = 1.0, k: float = 1.0, dim: int = 2) -> None:
        self.m = positive("m", m)
        self.k = positive("k", k)
        self.dim = integer("dim", dim, minimum=2)

    def _params(self) -> dict[str, Any]:
        return {"m": self.m, "k": self.k, "dim": self.dim}

    def radial_potential(self, r2: Tensor) -> Tensor:
        """``V = 1/2 k r^2``."""
        return 0.5 * self.k * r2

    def radial_force(self, r2: Tensor) -> Tensor:
        """``V'(r) / r = k``."""
        return torch.full_like(r2, self.k)

    def _sample_states(self, n: int, rng: torch.Generator | None) -> tuple[Tensor, Tensor]:
        """``n`` states of shape ``(n, 1, dim)``; distribution in the class notes."""
        q = normal((n, 1, self.dim), 1.0, rng)
        return q, normal((n, 1, self.dim), 1.0, rng)


@final
class AnisotropicOscillator(PointMasses):
    """A planar oscillator with stiffnesses ``kx`` and ``ky``, ``S = (1, 2)``.

    ``L = 1/2 m |v|^2 - 1/2 (kx x^2 + ky y^2)``. With ``kx != ky`` the
    rotations are broken; with ``kx == ky`` it is isotropic and
    ``Rotation(2)`` moves to :attr:`symmetries`.

    Parameters
    ----------
    m : float
        Positive mass.
    kx, ky : float
        Positive stiffnesses along x and y.

    Notes
    -----
    :meth:`sample_states`: positions and velocities ``~ N(0, I)``.

    Examples
    --------
    >>> from symnet.systems import AnisotropicOscillator
    >>> AnisotropicOscillator(kx=1.0, ky=2.0).broken
    [Rotation(2), Translation(2)]
    """

    def __init__(self, m: float = 1.0, kx: float = 1.0, ky: float = 2.0) -> None:
        self.m = positive("m", m)
        self.kx = positive("kx", kx)
        self.ky = positive("ky", ky)

    def _params(self) -> dict[str, Any]:
        return {"m": self.m, "kx": self.kx, "ky": self.ky}

    @property
    def config_shape(self) -> tuple[int, ...]:
        """``(1, 2)``."""
        return (1, 2)

    def _k(self, like: Tensor) -> Tensor:
        return torch.tensor([self.kx, self.ky], dtype=like.dtype, device=like.device)

    def potential(self, q: Tensor) -> Tensor:
        """``V = 1/2 (kx x^2 + ky y^2)``, shape ``(B,)``."""
        return 0.5 * (self._k(q) * q * q).sum((-1, -2))

    def acceleration(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``a = -(kx x, ky y) / m``, shape ``(B, 1, 2)``."""
        self.check_state(q, qdot)
        return -self._k(q) * q / self.m

    @property
    def symmetries(self) -> list[Symmetry]:
        """``[TimeShift()]``, plus ``Rotation(2)`` first when ``kx == ky``."""
        return ([Rotation(2)] if self.kx == self.ky else []) + [TimeShift()]

    @property
    def broken(self) -> list[Symmetry]:
        """``[Rotation(2), Translation(2)]`` (no rotation when ``kx == ky``)."""
        return ([Rotation(2)] if self.kx != self.ky else []) + [Translation(2)]

    def _sample_states(self, n: int, rng: torch.Generator | None) -> tuple[Tensor, Tensor]:
        """``n`` states of shape ``(n, 1, 2)``; distribution in the class notes."""
        q = normal((n, 1, 2), 1.0, rng)
        return q, normal((n, 1, 2), 1.0, rng)


@final
class MassSpring(PointMasses):
    """The one-dimensional mass on a spring of Greydanus et al. (2019), ``S = (1,)``.

    ``L = 1/2 m qdot^2 - 1/2 k q^2``, ``H = p^2 / (2m) + 1/2 k q^2``. The
    defaults ``m = 1/2``, ``k = 2`` give their ``H = p^2 + q^2`` (no factor
    1/2), angular frequency ``sqrt(k/m) = 2``.

    Parameters
    ----------
    m : float
        Positive mass.
    k : float
        Positive stiffness.
    radius : tuple of float
        Range ``(r_min, r_max)``, ``0 <= r_min <= r_max``, of the phase-space
        radius ``sqrt(q^2 + p^2)`` of sampled states (default ``(0.1, 1.0)``).

    Notes
    -----
    :meth:`sample_states`: ``(q, p) = r (cos a, sin a)`` with
    ``r ~ U[radius]`` and ``a ~ U[0, 2 pi)``; ``qdot = p / m``.
    :attr:`broken` holds the shift ``q -> q + eps`` (:func:`shift_generator`).

    Examples
    --------
    >>> import torch
    >>> from symnet.systems import MassSpring
    >>> sys = MassSpring()
    >>> q, p = torch.tensor([[0.6]]), torch.tensor([[0.8]])
    >>> sys.hamiltonian(q, p)
    tensor([1.])
    """

    def __init__(
        self, m: float = 0.5, k: float = 2.0, radius: tuple[float, float] = (0.1, 1.0)
    ) -> None:
        self.m = positive("m", m)
        self.k = positive("k", k)
        lo, hi = (nonnegative("radius", r) for r in radius)
        if lo > hi:
            raise ValueError(f"radius must be an interval (r_min, r_max), got {radius!r}")
        self.radius = (lo, hi)

    def _params(self) -> dict[str, Any]:
        return {"m": self.m, "k": self.k}

    @property
    def config_shape(self) -> tuple[int, ...]:
        """``(1,)``."""
        return (1,)

    def acceleration(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``qddot = -k q / m``, shape ``(B, 1)``."""
        self.check_state(q, qdot)
        return -self.k * q / self.m

    @property
    def symmetries(self) -> list[Symmetry]:
        """``[TimeShift()]``."""
        return [TimeShift()]

    @property
    def broken(self) -> list[Symmetry]:
        """``[shift_generator()]``: ``q -> q + eps``."""
        return [shift_generator()]

    def _sample_states(self, n: int, rng: torch.Generator | None) -> tuple[Tensor, Tensor]:
        """``n`` states of shape ``(n, 1)``; distribution in the class notes."""
        r = uniform((n, 1), *self.radius, rng)
        a = uniform((n, 1), 0.0, 2.0 * math.pi, rng)
        return r * torch.cos(a), r * torch.sin(a) / self.m

    def hnn_dataset(
        self,
        n_traj: int = 50,
        t_end: float = 3.0,
        points: int = 30,
        noise: float = 0.1,
        rng: RNG = None,
        substeps: int = 10,
        *,
        generator: Any = MISSING,
    ) -> Trajectories:
        """The data recipe of Greydanus et al. (2019) for the spring.

        ``n_traj`` trajectories from :meth:`sample_states`, each recorded at
        ``points`` equally spaced times in ``[0, t_end]`` (RK4 with
        ``substeps`` steps between records: the trajectory error is about
        1e-10), Gaussian noise of standard deviation ``noise`` on the
        observed states, exact targets. ``rng`` (an int seed or a
        ``torch.Generator``; ``generator=`` is its deprecated name) draws the
        states and the noise, as in :meth:`generate`.

        Returns
        -------
        Trajectories
            Leading axes ``(points, n_traj)``.
        """
        rng = renamed_generator(generator, rng, "MassSpring.hnn_dataset")
        points = integer("points", points, minimum=2)
        dt = positive("t_end", t_end) / (points - 1)
        return self.generate(n_traj, points - 1, dt, noise=noise, rng=rng, substeps=substeps)

    def potential(self, q: Tensor) -> Tensor:
        """``V = 1/2 k q^2``, shape ``(B,)``."""
        return (0.5 * self.k * q * q).sum(-1)
