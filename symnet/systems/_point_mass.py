"""Systems with a constant diagonal mass: ``p = m qdot`` and ``T = 1/2 m |qdot|^2``.

Private module. :class:`PointMasses` writes the momentum, the inverse Legendre
map, the kinetic energy, the Hamiltonian ``H = sum p^2 / (2 m) + V(q)`` and
the energy ``E = T + V(q)`` once for every system whose Lagrangian is
``L = T - V(q)`` (or adds a term linear in ``q``, whose subclasses override
the Hamiltonian).
"""

from __future__ import annotations

from abc import abstractmethod

from torch import Tensor

from symnet.systems.system import System

__all__ = ["PointMasses"]


class PointMasses(System):
    """Base of the systems with ``p = m qdot``: the mass-dependent methods, once.

    Subclasses define :meth:`potential` and, when the mass is not the
    attribute ``m``, :meth:`mass`.
    """

    def mass(self, x: Tensor) -> Tensor | float:
        """The mass, broadcastable against ``x`` of shape ``(B, *S)`` (default: ``self.m``)."""
        return self.m  # type: ignore[attr-defined, no-any-return]

    @abstractmethod
    def potential(self, q: Tensor) -> Tensor:
        """``V(q)``, shape ``(B,)``."""

    def kinetic(self, qdot: Tensor) -> Tensor:
        """``T = 1/2 sum m qdot^2``, shape ``(B,)``."""
        return (0.5 * self.mass(qdot) * qdot * qdot).flatten(1).sum(-1)

    def lagrangian(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``L = T - V(q)``, shape ``(B,)``."""
        self.check_state(q, qdot)
        return self.kinetic(qdot) - self.potential(q)

    def momentum(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``p = m qdot``, shape ``(B, *S)``."""
        self.check_state(q, qdot)
        return self.mass(qdot) * qdot

    def velocity(self, q: Tensor, p: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``qdot = p / m``, shape ``(B, *S)``."""
        self.check_state(q, p, ("q", "p"))
        return p / self.mass(p)

    def hamiltonian(self, q: Tensor, p: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``H = sum p^2 / (2 m) + V(q)``, shape ``(B,)``."""
        self.check_state(q, p, ("q", "p"))
        return (0.5 * p * p / self.mass(p)).flatten(1).sum(-1) + self.potential(q)

    def energy(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``E = T + V(q)``, shape ``(B,)`` (the Hamiltonian, in velocities)."""
        self.check_state(q, qdot)
        return self.kinetic(qdot) + self.potential(q)
