"""Explicit (forward) Euler: first order, not symplectic.

``x1 = x + dt f_x(x, y, t)``, ``y1 = y + dt f_y(x, y, t)``. Included as the
baseline whose energy drifts; see E. Hairer, S. P. Norsett, G. Wanner,
*Solving Ordinary Differential Equations I*, 2nd ed., Springer (1993), ch. I.7.
"""

from __future__ import annotations

from typing import Any, final

from torch import Tensor

from symnet.mechanics.field import VectorField
from symnet.mechanics.methods._base import Integrator

__all__ = ["Euler"]


@final
class Euler(Integrator):
    """Explicit Euler (order 1, one field evaluation per step)."""

    name = "euler"
    order = 1
    symplectic = False
    compilable_step = True

    def step(
        self, field: VectorField, x: Tensor, y: Tensor, t: Tensor, dt: float, cache: Any = None
    ) -> tuple[Tensor, Tensor, Any]:
        """One explicit Euler step."""
        dx, dy = field.derivative(x, y, t)
        return x.add(dx, alpha=dt), y.add(dy, alpha=dt), None
