"""Pendulums in generalized coordinates: :class:`Pendulum` and :class:`DoublePendulum`.

Angles are measured from the downward vertical; the potential's zero is at the
pivot's height for the double pendulum (the convention of Cranmer et al. 2020,
whose relative energy error divides by ``max V = 29.4`` for the defaults,
``docs/theory.md``, "Ground-truth systems") and at the lowest point for the simple pendulum.
Time shifts are symmetries; the shift of all angles is one only without
gravity (``docs/theory.md``, "Ground-truth systems").

References
----------
H. Goldstein, C. Poole, J. Safko, *Classical Mechanics*, 3rd ed. (2002), ch. 1.
S. Greydanus, M. Dzamba, J. Yosinski, "Hamiltonian Neural Networks",
NeurIPS (2019), arXiv:1906.01563.
M. Cranmer, S. Greydanus, S. Hoyer, P. Battaglia, D. Spergel, S. Ho,
"Lagrangian Neural Networks", ICLR workshop (2020), arXiv:2003.04630.
"""

from __future__ import annotations

import math
from typing import Any, final

import torch
from torch import Tensor

from symnet.groups import Generator, TimeShift
from symnet.systems._helpers import nonnegative, positive, uniform
from symnet.systems._point_mass import PointMasses
from symnet.systems.oscillators import shift_generator
from symnet.systems.system import Symmetry, System

__all__ = ["Pendulum", "DoublePendulum"]


@final
class Pendulum(PointMasses):
    """A simple pendulum, ``S = (1,)``: the angle ``theta`` from the downward vertical.

    ``L = 1/2 m l^2 thetadot^2 - m g l (1 - cos theta)``, ``p = m l^2 thetadot``,
    ``H = p^2 / (2 m l^2) + m g l (1 - cos theta)``.

    Parameters
    ----------
    m, l : float
        Positive mass and length.
    g : float
        Gravitational acceleration, ``>= 0``.
    radius : tuple of float
        Range of the phase-space radius ``sqrt(theta^2 + p^2)`` of sampled
        states (default ``(0.2, 2.0)``).

    Notes
    -----
    Greydanus et al. (2019) quote ``m = l = 1``, ``g = 3`` (the defaults
    here); versions of their released code integrate ``H = 3 (1 - cos q) + p^2``,
    which is ``Pendulum(m=0.5, l=1, g=6)``.

    :meth:`sample_states`: ``(theta, p) = r (cos a, sin a)`` with
    ``r ~ U[radius]``, ``a ~ U[0, 2 pi)``; ``thetadot = p / (m l^2)``. For
    the defaults every sampled state librates (energy below ``2 m g l``).

    Examples
    --------
    >>> from symnet.systems import Pendulum
    >>> Pendulum().broken
    [Generator('angle_shift')]
    """

    def __init__(
        self,
        m: float = 1.0,
        l: float = 1.0,  # noqa: E741
        g: float = 3.0,
        radius: tuple[float, float] = (0.2, 2.0),
    ) -> None:
        self.m = positive("m", m)
        self.l = positive("l", l)
        self.g = nonnegative("g", g)
        lo, hi = (nonnegative("radius", r) for r in radius)
        if lo > hi:
            raise ValueError(f"radius must be an interval (r_min, r_max), got {radius!r}")
        self.radius = (lo, hi)

    def _params(self) -> dict[str, Any]:
        return {"m": self.m, "l": self.l, "g": self.g}

    @property
    def config_shape(self) -> tuple[int, ...]:
        """``(1,)``."""
        return (1,)

    @property
    def inertia(self) -> float:
        """``m l^2``."""
        return self.m * self.l**2

    def potential(self, q: Tensor) -> Tensor:
        """``V = m g l (1 - cos theta)``, shape ``(B,)``."""
        return (self.m * self.g * self.l * (1.0 - torch.cos(q))).sum(-1)

    def acceleration(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``thetaddot = -(g / l) sin theta``, shape ``(B, 1)``."""
        self.check_state(q, qdot)
        return -(self.g / self.l) * torch.sin(q)

    @property
    def symmetries(self) -> list[Symmetry]:
        """``[TimeShift()]``, and the angle shift when ``g == 0``."""
        return [TimeShift()] + ([shift_generator("angle_shift")] if self.g == 0 else [])

    @property
    def broken(self) -> list[Symmetry]:
        """``[Generator("angle_shift")]`` when ``g != 0``."""
        return [shift_generator("angle_shift")] if self.g != 0 else []

    def _sample_states(self, n: int, rng: torch.Generator | None) -> tuple[Tensor, Tensor]:
        """``n`` states of shape ``(n, 1)``; distribution in the class notes."""
        r = uniform((n, 1), *self.radius, rng)
        a = uniform((n, 1), 0.0, 2.0 * math.pi, rng)
        return r * torch.cos(a), r * torch.sin(a) / self.inertia

    def mass(self, x: Tensor) -> float:
        """The moment of inertia ``m l^2`` (``p = m l^2 thetadot``)."""
        return self.inertia


@final
class DoublePendulum(System):
    """The planar double pendulum in the angles ``(theta1, theta2)``, ``S = (2,)``.

    With ``c = cos(theta1 - theta2)``, ``s = sin(theta1 - theta2)``:

    - ``T = 1/2 (m1 + m2) l1^2 w1^2 + 1/2 m2 l2^2 w2^2 + m2 l1 l2 w1 w2 c``
      (``w = thetadot``), i.e. ``T = 1/2 w^T M(theta) w`` with
      ``M = [[(m1 + m2) l1^2, m2 l1 l2 c], [m2 l1 l2 c, m2 l2^2]]``;
    - ``V = -(m1 + m2) g l1 cos theta1 - m2 g l2 cos theta2`` (zero at the
      pivot's height);
    - ``L = T - V``, ``p = M w``, ``H = 1/2 p^T M^-1 p + V``.

    The closed-form accelerations solve ``M wdot = f`` with
    ``f1 = -m2 l1 l2 s w2^2 - (m1 + m2) g l1 sin theta1`` and
    ``f2 = m2 l1 l2 s w1^2 - m2 g l2 sin theta2``;
    ``det M = m2 l1^2 l2^2 (m1 + m2 s^2) > 0`` (Cranmer et al. 2020).

    Parameters
    ----------
    m1, m2, l1, l2 : float
        Positive masses and lengths.
    g : float
        Gravitational acceleration, ``>= 0``.
    velocity_range : float
        Sampled angular velocities are ``U[-velocity_range, velocity_range]``.

    Notes
    -----
    :meth:`sample_states`: angles ``~ U[0, 2 pi)`` and angular velocities
    ``~ U[-10, 10]`` (for ``velocity_range = 10``), independent: the
    training distribution of Cranmer et al. (2020).

    With ``g == 0`` the shift of both angles (``xi = (1, 1)``, charge
    ``p1 + p2``, the total angular momentum) is a symmetry; otherwise it is
    broken. The shift of ``theta1`` alone is always broken.

    Examples
    --------
    >>> from symnet.systems import DoublePendulum
    >>> sys = DoublePendulum()
    >>> sys.potential_max
    29.400000000000002
    >>> sys.symmetries, sys.broken
    ([TimeShift()], [Generator('angle_shift'), Generator('theta1_shift')])
    """

    velocity_dependent = True

    def __init__(
        self,
        m1: float = 1.0,
        m2: float = 1.0,
        l1: float = 1.0,
        l2: float = 1.0,
        g: float = 9.8,
        velocity_range: float = 10.0,
    ) -> None:
        self.m1 = positive("m1", m1)
        self.m2 = positive("m2", m2)
        self.l1 = positive("l1", l1)
        self.l2 = positive("l2", l2)
        self.g = nonnegative("g", g)
        self.velocity_range = nonnegative("velocity_range", velocity_range)

    def _params(self) -> dict[str, Any]:
        return {"m1": self.m1, "m2": self.m2, "l1": self.l1, "l2": self.l2, "g": self.g}

    @property
    def config_shape(self) -> tuple[int, ...]:
        """``(2,)``."""
        return (2,)

    @property
    def potential_max(self) -> float:
        """``max V = (m1 + m2) g l1 + m2 g l2`` (29.4 for the defaults; both bobs up)."""
        return (self.m1 + self.m2) * self.g * self.l1 + self.m2 * self.g * self.l2

    def potential(self, q: Tensor) -> Tensor:
        """``V = -(m1 + m2) g l1 cos theta1 - m2 g l2 cos theta2``, shape ``(B,)``."""
        a = (self.m1 + self.m2) * self.g * self.l1
        return -a * torch.cos(q[:, 0]) - self.m2 * self.g * self.l2 * torch.cos(q[:, 1])

    def mass_matrix(self, q: Tensor) -> Tensor:
        """``M(theta)``, shape ``(B, 2, 2)``."""
        c = torch.cos(q[:, 0] - q[:, 1])
        m11 = torch.full_like(c, (self.m1 + self.m2) * self.l1**2)
        m22 = torch.full_like(c, self.m2 * self.l2**2)
        m12 = self.m2 * self.l1 * self.l2 * c
        return torch.stack([torch.stack([m11, m12], -1), torch.stack([m12, m22], -1)], -2)

    def _kinetic(self, q: Tensor, w: Tensor) -> Tensor:
        return 0.5 * torch.einsum("bi,bij,bj->b", w, self.mass_matrix(q), w)

    def lagrangian(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``L = T - V``, shape ``(B,)``."""
        self.check_state(q, qdot)
        return self._kinetic(q, qdot) - self.potential(q)

    def acceleration(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """Closed-form ``(theta1ddot, theta2ddot)`` (class docstring), shape ``(B, 2)``."""
        self.check_state(q, qdot)
        m1, m2, l1, l2, g = self.m1, self.m2, self.l1, self.l2, self.g
        d = q[:, 0] - q[:, 1]
        c, s = torch.cos(d), torch.sin(d)
        w1, w2 = qdot[:, 0], qdot[:, 1]
        f1 = -m2 * l1 * l2 * s * w2**2 - (m1 + m2) * g * l1 * torch.sin(q[:, 0])
        f2 = m2 * l1 * l2 * s * w1**2 - m2 * g * l2 * torch.sin(q[:, 1])
        M11, M22, M12 = (m1 + m2) * l1**2, m2 * l2**2, m2 * l1 * l2 * c
        det = m2 * l1**2 * l2**2 * (m1 + m2 * s**2)
        return torch.stack([(M22 * f1 - M12 * f2) / det, (M11 * f2 - M12 * f1) / det], -1)

    def momentum(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``p = M(theta) thetadot``, shape ``(B, 2)``."""
        self.check_state(q, qdot)
        return torch.einsum("bij,bj->bi", self.mass_matrix(q), qdot)

    def velocity(self, q: Tensor, p: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``thetadot = M(theta)^-1 p`` (explicit 2 x 2 inverse), shape ``(B, 2)``."""
        self.check_state(q, p, ("q", "p"))
        M = self.mass_matrix(q)
        det = M[:, 0, 0] * M[:, 1, 1] - M[:, 0, 1] ** 2
        w1 = (M[:, 1, 1] * p[:, 0] - M[:, 0, 1] * p[:, 1]) / det
        w2 = (M[:, 0, 0] * p[:, 1] - M[:, 0, 1] * p[:, 0]) / det
        return torch.stack([w1, w2], -1)

    def hamiltonian(self, q: Tensor, p: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``H = 1/2 p^T M^-1 p + V``, shape ``(B,)``."""
        self.check_state(q, p, ("q", "p"))
        return 0.5 * (p * self.velocity(q, p)).sum(-1) + self.potential(q)

    def energy(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``E = T + V``, shape ``(B,)`` (equal to the Hamiltonian)."""
        self.check_state(q, qdot)
        return self._kinetic(q, qdot) + self.potential(q)

    @staticmethod
    def angle_shift() -> Generator:
        """``xi = (1, 1)``: rotate both arms; charge ``p1 + p2``."""
        return shift_generator("angle_shift")

    @staticmethod
    def theta1_shift() -> Generator:
        """``xi = (1, 0)``: rotate the first arm only (never a symmetry for ``m2 > 0``)."""
        return Generator("theta1_shift", lambda q: torch.ones_like(q) * _E1.to(q))

    @property
    def symmetries(self) -> list[Symmetry]:
        """``[TimeShift()]``, plus :meth:`angle_shift` when ``g == 0``."""
        return [TimeShift()] + ([self.angle_shift()] if self.g == 0 else [])

    @property
    def broken(self) -> list[Symmetry]:
        """:meth:`angle_shift` when ``g != 0``, and :meth:`theta1_shift`."""
        return ([self.angle_shift()] if self.g != 0 else []) + [self.theta1_shift()]

    def _sample_states(self, n: int, rng: torch.Generator | None) -> tuple[Tensor, Tensor]:
        """``n`` states of shape ``(n, 2)``; distribution in the class notes."""
        q = uniform((n, 2), 0.0, 2.0 * math.pi, rng)
        v = self.velocity_range
        return q, uniform((n, 2), -v, v, rng)


_E1 = torch.tensor([1.0, 0.0], dtype=torch.float64)
