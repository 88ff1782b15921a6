"""Symplectic Euler: first order, symplectic, for split fields.

Kick then drift: ``y1 = y + dt kick(x, t)``, ``x1 = x + dt drift(y1, t)``
(for a second-order field: ``v1 = v + dt a(q, t)``, ``q1 = q + dt v1``). For a
separable Hamiltonian this is the method "symplectic Euler" of
E. Hairer, C. Lubich, G. Wanner, *Geometric Numerical Integration*, 2nd ed.,
Springer (2006), Theorem VI.3.3.
"""

from __future__ import annotations

from typing import Any, final

from torch import Tensor

from symnet.mechanics.field import VectorField
from symnet.mechanics.methods._base import Integrator

__all__ = ["SymplecticEuler"]


@final
class SymplecticEuler(Integrator):
    """Symplectic Euler, kick-drift (order 1, symplectic).

    One field evaluation per step for second-order fields, two for Hamiltonian ones.
    """

    name = "symplectic_euler"
    order = 1
    symplectic = True
    splitting = True
    compilable_step = True

    def step(
        self, field: VectorField, x: Tensor, y: Tensor, t: Tensor, dt: float, cache: Any = None
    ) -> tuple[Tensor, Tensor, Any]:
        """One kick-then-drift step."""
        y1 = y.add(field.kick(x, y, t), alpha=dt)
        x1 = x.add(field.drift(x, y1, t), alpha=dt)
        return x1, y1, None
