"""Oscillators with explicitly time-dependent Lagrangians: time shifts are broken.

- :class:`DampedOscillator`: the Caldirola-Kanai Lagrangian
  ``L = e^(gamma t) (1/2 m qdot^2 - 1/2 k q^2)``, whose Euler-Lagrange
  equation is ``m qddot = -gamma m qdot - k q`` (``docs/theory.md``,
  "Ground-truth systems").
- :class:`DrivenOscillator`: ``L = 1/2 m qdot^2 - 1/2 k q^2 + q F0 cos(Omega t)``
  (same section).

For both the energy is not conserved; its balance law is the Noether
identity of the broken time shift, ``dh/dt = -dL/dt`` for the energy function
``h = qdot p - L`` (``docs/theory.md``, "Balance law").

References
----------
P. Caldirola, Nuovo Cimento 18 (1941) 393; E. Kanai, Prog. Theor. Phys. 3
(1948) 440. H. Goldstein, C. Poole, J. Safko, *Classical Mechanics*, 3rd ed.
(2002), ch. 2 and 8.
"""

from __future__ import annotations

from typing import Any, final

import torch
from torch import Tensor

from symnet.groups import Generator, TimeShift
from symnet.systems._helpers import finite, nonnegative, normal, positive, time_like
from symnet.systems._point_mass import PointMasses
from symnet.systems.system import Symmetry, System

__all__ = ["DampedOscillator", "DrivenOscillator"]


class _Oscillator1D(System):
    """Shared parts of the one-dimensional oscillators, ``S = (1,)``."""

    m: float
    k: float
    time_dependent = True

    @property
    def config_shape(self) -> tuple[int, ...]:
        """``(1,)``."""
        return (1,)

    def _sample_states(self, n: int, rng: torch.Generator | None) -> tuple[Tensor, Tensor]:
        """``n`` states of shape ``(n, 1)``: ``q`` and ``qdot`` independent ``N(0, 1)``."""
        return normal((n, 1), 1.0, rng), normal((n, 1), 1.0, rng)

    def energy(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """Physical energy of the oscillator ``E = 1/2 m qdot^2 + 1/2 k q^2``, shape ``(B,)``."""
        self.check_state(q, qdot)
        return (0.5 * self.m * qdot * qdot + 0.5 * self.k * q * q).sum(-1)

    @property
    def broken(self) -> list[Symmetry]:
        """``[TimeShift()]`` (``[]`` when the Lagrangian does not depend on time)."""
        return [TimeShift()] if self.time_dependent else []


@final
class DampedOscillator(_Oscillator1D):
    """A damped harmonic oscillator from the Caldirola-Kanai Lagrangian, ``S = (1,)``.

    ``L = e^(gamma t) (1/2 m qdot^2 - 1/2 k q^2)``; canonical momentum
    ``p = e^(gamma t) m qdot``; ``H = e^(-gamma t) p^2 / (2m) + e^(gamma t) k q^2 / 2``.
    :meth:`energy` is the physical energy ``E = 1/2 m qdot^2 + 1/2 k q^2``,
    which decays as ``dE/dt = -gamma m qdot^2`` (``E = e^(-gamma t) H``).

    The time shift is broken, but the time shift combined with the scaling
    ``q -> e^(-gamma s / 2) q`` is an exact symmetry (:attr:`symmetries`:
    the generator ``"scaled_time_shift"`` with ``tau = 1``,
    ``xi = -gamma q / 2``); its conserved charge is
    ``J = -e^(gamma t) (1/2 m qdot^2 + 1/2 k q^2 + gamma m q qdot / 2)``.

    Parameters
    ----------
    m : float
        Positive mass.
    k : float
        Positive stiffness.
    gamma : float
        Damping rate, ``>= 0``.

    Notes
    -----
    :meth:`sample_states`: ``q`` and ``qdot`` independent ``N(0, 1)``.

    Examples
    --------
    >>> from symnet.systems import DampedOscillator
    >>> sys = DampedOscillator()
    >>> sys.symmetries, sys.broken
    ([Generator('scaled_time_shift', tau=1)], [TimeShift()])
    """

    velocity_dependent = True

    def __init__(self, m: float = 1.0, k: float = 1.0, gamma: float = 0.1) -> None:
        self.m = positive("m", m)
        self.k = positive("k", k)
        self.gamma = nonnegative("gamma", gamma)
        self.time_dependent = self.gamma != 0

    def _params(self) -> dict[str, Any]:
        return {"m": self.m, "k": self.k, "gamma": self.gamma}

    def _growth(self, q: Tensor, t: Tensor | float | None) -> Tensor:
        return torch.exp(self.gamma * time_like(t, q))[:, None]

    def lagrangian(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``L = e^(gamma t) (1/2 m qdot^2 - 1/2 k q^2)``, shape ``(B,)``."""
        self.check_state(q, qdot)
        g = self._growth(q, t)
        return (g * (0.5 * self.m * qdot * qdot - 0.5 * self.k * q * q)).sum(-1)

    def acceleration(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``qddot = -gamma qdot - k q / m``, shape ``(B, 1)``."""
        self.check_state(q, qdot)
        return -self.gamma * qdot - self.k * q / self.m

    def momentum(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``p = e^(gamma t) m qdot``, shape ``(B, 1)``."""
        self.check_state(q, qdot)
        return self._growth(q, t) * self.m * qdot

    def velocity(self, q: Tensor, p: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``qdot = e^(-gamma t) p / m``, shape ``(B, 1)``."""
        self.check_state(q, p, ("q", "p"))
        return p / (self._growth(q, t) * self.m)

    def hamiltonian(self, q: Tensor, p: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``H = e^(-gamma t) p^2 / (2 m) + e^(gamma t) k q^2 / 2``, shape ``(B,)``."""
        self.check_state(q, p, ("q", "p"))
        g = self._growth(q, t)
        return (0.5 * p * p / (g * self.m) + 0.5 * g * self.k * q * q).sum(-1)

    @property
    def symmetries(self) -> list[Symmetry]:
        """``[Generator("scaled_time_shift", xi = -gamma q / 2, tau = 1)]``.

        ``[TimeShift()]`` when ``gamma == 0`` (the undamped oscillator).
        """
        if not self.time_dependent:
            return [TimeShift()]
        gamma = self.gamma
        return [Generator("scaled_time_shift", lambda q: -0.5 * gamma * q, tau=1.0)]


@final
class DrivenOscillator(_Oscillator1D, PointMasses):
    """A harmonic oscillator driven by ``F0 cos(Omega t)``, ``S = (1,)``.

    ``L = 1/2 m qdot^2 - 1/2 k q^2 + q F0 cos(Omega t)``, ``p = m qdot``,
    ``H = p^2 / (2m) + 1/2 k q^2 - q F0 cos(Omega t)``. :meth:`energy` is the
    oscillator's own energy ``E = 1/2 m qdot^2 + 1/2 k q^2``
    (``dE/dt = F0 cos(Omega t) qdot``), which differs from ``H`` by the
    drive's potential ``-q F0 cos(Omega t)``. No symmetry is listed.

    Parameters
    ----------
    m : float
        Positive mass.
    k : float
        Positive stiffness.
    F0 : float
        Drive amplitude (any sign).
    Omega : float
        Drive angular frequency (any sign).

    Notes
    -----
    :meth:`sample_states`: ``q`` and ``qdot`` independent ``N(0, 1)``.

    Examples
    --------
    >>> from symnet.systems import DrivenOscillator
    >>> DrivenOscillator()
    DrivenOscillator(m=1, k=1, F0=0.5, Omega=1.3)
    """

    def __init__(self, m: float = 1.0, k: float = 1.0, F0: float = 0.5, Omega: float = 1.3) -> None:
        self.m = positive("m", m)
        self.k = positive("k", k)
        self.F0 = finite("F0", F0)
        self.Omega = finite("Omega", Omega)
        self.time_dependent = self.F0 != 0 and self.Omega != 0

    def _params(self) -> dict[str, Any]:
        return {"m": self.m, "k": self.k, "F0": self.F0, "Omega": self.Omega}

    def drive(self, t: Tensor | float | None, like: Tensor) -> Tensor:
        """The force ``F0 cos(Omega t)``, shape ``(B, 1)`` for ``like`` of shape ``(B, 1)``."""
        return (self.F0 * torch.cos(self.Omega * time_like(t, like)))[:, None]

    def lagrangian(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``L = 1/2 m qdot^2 - 1/2 k q^2 + q F0 cos(Omega t)``, shape ``(B,)``."""
        self.check_state(q, qdot)
        return (0.5 * self.m * qdot * qdot - 0.5 * self.k * q * q + q * self.drive(t, q)).sum(-1)

    def acceleration(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``qddot = (-k q + F0 cos(Omega t)) / m``, shape ``(B, 1)``."""
        self.check_state(q, qdot)
        return (-self.k * q + self.drive(t, q)) / self.m

    def hamiltonian(self, q: Tensor, p: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``H = p^2 / (2 m) + 1/2 k q^2 - q F0 cos(Omega t)``, shape ``(B,)``."""
        self.check_state(q, p, ("q", "p"))
        return (0.5 * p * p / self.m + 0.5 * self.k * q * q - q * self.drive(t, q)).sum(-1)

    @property
    def symmetries(self) -> list[Symmetry]:
        """``[]``: none is listed (``[TimeShift()]`` when ``F0 == 0`` or ``Omega == 0``)."""
        return [] if self.time_dependent else [TimeShift()]

    def potential(self, q: Tensor) -> Tensor:
        """The spring's ``V = 1/2 k q^2``, shape ``(B,)`` (the drive is in :meth:`hamiltonian`)."""
        return (0.5 * self.k * q * q).sum(-1)
