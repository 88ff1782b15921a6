"""Stoermer-Verlet (leapfrog): second order, symplectic, time-reversible.

Kick-drift-kick on a split field::

    y_half = y + dt/2 kick(x, t)
    x1     = x + dt drift(y_half, t + dt/2)
    y1     = y_half + dt/2 kick(x1, t + dt)

For a second-order field this is velocity Verlet (one acceleration per step:
the last kick's value is reused by the next step); for a separable Hamiltonian
it is the kick-drift-kick leapfrog. It conserves quadratic invariants
``q^T C p`` such as angular momentum exactly.

References
----------
E. Hairer, C. Lubich, G. Wanner, "Geometric numerical integration illustrated
by the Stoermer-Verlet method", Acta Numerica 12 (2003) 399-450.
E. Hairer, C. Lubich, G. Wanner, *Geometric Numerical Integration*, 2nd ed.,
Springer (2006), ch. I.3 and VI.3.
"""

from __future__ import annotations

from typing import Any, final

from torch import Tensor

from symnet.mechanics.field import VectorField
from symnet.mechanics.methods._base import Integrator

__all__ = ["Leapfrog", "kick_drift_kick"]


def kick_drift_kick(
    field: VectorField, x: Tensor, y: Tensor, t: Tensor, h: float, kick0: Tensor | None
) -> tuple[Tensor, Tensor, Tensor]:
    """One Stoermer-Verlet step of size ``h``; returns ``(x1, y1, kick(x1, t + h))``.

    ``kick0`` is ``kick(x, t)`` when already known (first-same-as-last).
    """
    if kick0 is None:
        kick0 = field.kick(x, y, t)
    t_half, t_end = (t + 0.5 * h, t + h) if field.uses_time else (t, t)
    y_half = y.add(kick0, alpha=0.5 * h)
    x1 = x.add(field.drift(x, y_half, t_half), alpha=h)
    kick1 = field.kick(x1, y_half, t_end)
    return x1, y_half.add(kick1, alpha=0.5 * h), kick1


@final
class Leapfrog(Integrator):
    """Stoermer-Verlet / velocity Verlet (order 2, symplectic)."""

    name = "leapfrog"
    order = 2
    symplectic = True
    splitting = True
    compilable_step = True

    def step(
        self, field: VectorField, x: Tensor, y: Tensor, t: Tensor, dt: float, cache: Any = None
    ) -> tuple[Tensor, Tensor, Any]:
        """One kick-drift-kick step; ``cache`` is the last kick."""
        return kick_drift_kick(field, x, y, t, dt, cache)
