"""One particle in a central potential: :class:`CentralPotential` and :class:`Kepler`.

``L = 1/2 m |v|^2 - V(|x|)`` with configurations of shape ``S = (1, dim)``.
A potential of ``r = |x|`` alone is invariant under rotations about the origin
(charge: angular momentum ``x x p``) and time shifts (energy), but not under
translations (``docs/theory.md``, "Ground-truth systems"). The Kepler problem
``V = -k/r`` has one more conserved vector, the Runge-Lenz vector
``A = p x L - m k x / |x|``, from a symmetry that is not a point symmetry: it
is visible only in Hamiltonian form (``{A, H} = 0``).

Acceleration in closed form: ``a = -(V'(r) / r) x / m``.

References
----------
H. Goldstein, C. Poole, J. Safko, *Classical Mechanics*, 3rd ed. (2002),
ch. 3 (central forces, 3.9: the Laplace-Runge-Lenz vector).
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Callable
from typing import Any, final

import torch
from torch import Tensor
from torch.func import jvp

from symnet.groups import Rotation, TimeShift, Translation
from symnet.systems._helpers import integer, normal, positive, uniform, unit_vectors
from symnet.systems._point_mass import PointMasses
from symnet.systems.system import Symmetry

__all__ = ["CentralForce", "CentralPotential", "Kepler"]


class CentralForce(PointMasses):
    """Abstract base: one particle of mass ``m`` in a potential ``V(r)``, ``S = (1, dim)``.

    Subclasses implement :meth:`radial_potential` and :meth:`radial_force`
    as functions of ``r^2`` (so that potentials smooth at the origin stay
    smooth) and :meth:`sample_states`.
    """

    m: float
    dim: int

    @property
    def config_shape(self) -> tuple[int, ...]:
        """``(1, dim)``."""
        return (1, self.dim)

    @abstractmethod
    def radial_potential(self, r2: Tensor) -> Tensor:
        """``V`` as a function of ``r^2``, elementwise."""

    @abstractmethod
    def radial_force(self, r2: Tensor) -> Tensor:
        """``V'(r) / r`` as a function of ``r^2``, elementwise."""

    def potential(self, q: Tensor) -> Tensor:
        """``V(|x|)``, shape ``(B,)``; ``q`` of shape ``(B, 1, dim)``."""
        return self.radial_potential((q * q).sum((-1, -2)))

    def acceleration(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``a = -(V'(r) / r) x / m``, shape ``(B, 1, dim)``."""
        self.check_state(q, qdot)
        return -self.radial_force((q * q).sum(-1, keepdim=True)) * q / self.m

    @property
    def symmetries(self) -> list[Symmetry]:
        """``[Rotation(dim), TimeShift()]`` (no rotations when ``dim == 1``)."""
        return ([Rotation(self.dim)] if self.dim >= 2 else []) + [TimeShift()]

    @property
    def broken(self) -> list[Symmetry]:
        """``[Translation(dim)]``."""
        return [Translation(self.dim)]


_CENTRAL = ("quartic", "gaussian")


@final
class CentralPotential(CentralForce):
    """A particle in a smooth central potential that is neither ``1/r`` nor ``r^2``.

    - ``"quartic"`` (default): the Mexican hat ``V(r) = r^4/4 - r^2/2``,
      bounded below by ``-1/4`` (its minimum on the sphere ``r = 1``);
    - ``"gaussian"``: the well ``V(r) = -exp(-r^2/2)``, bounded below by -1;
    - a callable ``V(r)``: an elementwise torch function of ``r > 0``.

    Parameters
    ----------
    m : float
        Positive mass.
    V : str or callable
        The potential, see above.
    dim : int
        Spatial dimension.

    Notes
    -----
    :meth:`sample_states`: ``|x| ~ U[0.5, 1.5]`` along a uniform direction,
    velocities ``~ N(0, I)``.

    Examples
    --------
    >>> from symnet.systems import CentralPotential
    >>> sys = CentralPotential()
    >>> sys.symmetries, sys.broken
    ([Rotation(3), TimeShift()], [Translation(3)])
    """

    def __init__(
        self, m: float = 1.0, V: str | Callable[[Tensor], Tensor] = "quartic", dim: int = 3
    ) -> None:
        if isinstance(V, str):
            if V not in _CENTRAL:
                raise ValueError(
                    f"V must be one of {', '.join(map(repr, _CENTRAL))} or a callable V(r), "
                    f"got {V!r}"
                )
        elif not callable(V):
            raise TypeError(f"V must be a string or a callable V(r), got {type(V).__name__}")
        self.m = positive("m", m)
        self.V = V
        self.dim = integer("dim", dim)

    def _params(self) -> dict[str, Any]:
        return {"m": self.m, "V": self.V, "dim": self.dim}

    def radial_potential(self, r2: Tensor) -> Tensor:
        """``V`` as a function of ``r^2``."""
        if self.V == "quartic":
            return 0.25 * r2 * r2 - 0.5 * r2
        if self.V == "gaussian":
            return -torch.exp(-0.5 * r2)
        return self.V(r2.sqrt())

    def radial_force(self, r2: Tensor) -> Tensor:
        """``V'(r) / r``: ``r^2 - 1`` (quartic), ``exp(-r^2/2)`` (gaussian)."""
        if self.V == "quartic":
            return r2 - 1.0
        if self.V == "gaussian":
            return torch.exp(-0.5 * r2)
        r = r2.sqrt()
        return jvp(self.V, (r,), (torch.ones_like(r),))[1] / r

    def _sample_states(self, n: int, rng: torch.Generator | None) -> tuple[Tensor, Tensor]:
        """``n`` states of shape ``(n, 1, dim)``; distribution in the class notes."""
        r = uniform((n, 1), 0.5, 1.5, rng)
        q = (r * unit_vectors(n, self.dim, rng))[:, None, :]
        return q, normal((n, 1, self.dim), 1.0, rng)


@final
class Kepler(CentralForce):
    """The Kepler problem: ``L = 1/2 m |v|^2 + k / |x|``, ``S = (1, dim)``, ``dim`` 2 or 3.

    Parameters
    ----------
    m : float
        Positive mass.
    k : float
        Positive strength of the attraction (``G M m`` for gravity).
    dim : int
        2 or 3.

    Notes
    -----
    :meth:`sample_states` draws bound orbits that stay away from the origin:
    ``r0 = |x| ~ U[0.5, 1.5]`` along a uniform direction; velocity
    ``v_c (f_t e_t + f_r e_r)`` with the circular speed ``v_c = sqrt(k / (m r0))``,
    ``e_r = x / r0``, ``e_t`` a uniform unit vector orthogonal to ``e_r``,
    ``f_t ~ U[0.8, 1.2]`` and ``f_r ~ U[-0.2, 0.2]``. Then the energy is
    ``E <= -0.26 k / r0 < 0`` and the perihelion is at least ``0.45 r0``
    (so above 0.2).

    Examples
    --------
    >>> import torch
    >>> from symnet.systems import Kepler
    >>> sys = Kepler()
    >>> q, qdot = sys.sample_states(4, torch.Generator().manual_seed(0))
    >>> bool((sys.energy(q, qdot) < 0).all())
    True
    """

    def __init__(self, m: float = 1.0, k: float = 1.0, dim: int = 3) -> None:
        self.m = positive("m", m)
        self.k = positive("k", k)
        if dim not in (2, 3) or isinstance(dim, bool):
            raise ValueError(f"dim must be 2 or 3, got {dim!r}")
        self.dim = dim

    def _params(self) -> dict[str, Any]:
        return {"m": self.m, "k": self.k, "dim": self.dim}

    def radial_potential(self, r2: Tensor) -> Tensor:
        """``V = -k / r``."""
        return -self.k / r2.sqrt()

    def radial_force(self, r2: Tensor) -> Tensor:
        """``V'(r) / r = k / r^3``."""
        return self.k / r2**1.5

    def angular_momentum(self, q: Tensor, p: Tensor) -> Tensor:
        """``x x p``: shape ``(B, 3)`` in 3D, ``(B,)`` (the z component) in 2D."""
        x, p = q[:, 0], p[:, 0]
        if self.dim == 2:
            return x[:, 0] * p[:, 1] - x[:, 1] * p[:, 0]
        return torch.linalg.cross(x, p, dim=-1)

    def runge_lenz(self, q: Tensor, p: Tensor) -> Tensor:
        """The Laplace-Runge-Lenz vector ``A = p x L - m k x / |x|``, shape ``(B, dim)``.

        Conserved along every orbit (``{A, H} = 0``); it points to the
        perihelion and ``|A| = m k e`` with the eccentricity ``e``.

        Parameters
        ----------
        q, p : Tensor
            Positions and canonical momenta, shape ``(B, 1, dim)``.
        """
        self.check_state(q, p, ("q", "p"))
        x, pv = q[:, 0], p[:, 0]
        Lmom = self.angular_momentum(q, p)
        if self.dim == 2:
            pxL = torch.stack([pv[:, 1] * Lmom, -pv[:, 0] * Lmom], dim=-1)
        else:
            pxL = torch.linalg.cross(pv, Lmom, dim=-1)
        return pxL - self.m * self.k * x / x.norm(dim=-1, keepdim=True)

    def _sample_states(self, n: int, rng: torch.Generator | None) -> tuple[Tensor, Tensor]:
        """``n`` bound states of shape ``(n, 1, dim)``; distribution in the class notes."""
        r0 = uniform((n, 1), 0.5, 1.5, rng)
        e_r = unit_vectors(n, self.dim, rng)
        z = torch.randn(n, self.dim, generator=rng, dtype=torch.float64)
        if self.dim == 2:
            e_t = torch.stack([-e_r[:, 1], e_r[:, 0]], dim=-1) * torch.where(
                z[:, :1] >= 0, 1.0, -1.0
            )
        else:
            z = z - (z * e_r).sum(-1, keepdim=True) * e_r
            e_t = z / z.norm(dim=-1, keepdim=True)
        vc = torch.sqrt(self.k / (self.m * r0))
        f_t = uniform((n, 1), 0.8, 1.2, rng)
        f_r = uniform((n, 1), -0.2, 0.2, rng)
        v = vc * (f_t * e_t + f_r * e_r)
        return (r0 * e_r)[:, None, :], v[:, None, :]

    def perihelion(self, q: Tensor, qdot: Tensor) -> Tensor:
        """Closest approach to the origin of the bound orbit through each state, shape ``(B,)``.

        ``r_p = a (1 - e)`` with ``a = -k / (2E)`` and ``e = sqrt(1 + 2 E L^2 / (m k^2))``;
        NaN for unbound states (``E >= 0``).
        """
        E = self.energy(q, qdot)
        Lmom = self.angular_momentum(q, self.momentum(q, qdot))
        L2 = Lmom * Lmom if self.dim == 2 else (Lmom * Lmom).sum(-1)
        e = torch.sqrt(torch.clamp(1.0 + 2.0 * E * L2 / (self.m * self.k**2), min=0.0))
        a = -self.k / (2.0 * E)
        return torch.where(E < 0, a * (1.0 - e), torch.full_like(E, math.nan))
