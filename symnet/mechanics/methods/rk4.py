"""The classical fourth-order Runge-Kutta method (Kutta 1901).

Four evaluations of the first-order form per step; not symplectic (its energy
error grows linearly in time), but like every Runge-Kutta method it conserves
linear invariants such as total momentum exactly.

References
----------
W. Kutta, "Beitrag zur naeherungsweisen Integration totaler
Differentialgleichungen", Z. Math. Phys. 46 (1901) 435-453.
E. Hairer, S. P. Norsett, G. Wanner, *Solving Ordinary Differential Equations I*,
2nd ed., Springer (1993), section II.1.
"""

from __future__ import annotations

from typing import Any, final

from torch import Tensor

from symnet.mechanics.field import VectorField
from symnet.mechanics.methods._base import Integrator

__all__ = ["RK4"]


@final
class RK4(Integrator):
    """Classical Runge-Kutta 4 (order 4, four field evaluations per step)."""

    name = "rk4"
    order = 4
    symplectic = False
    compilable_step = True

    def step(
        self, field: VectorField, x: Tensor, y: Tensor, t: Tensor, dt: float, cache: Any = None
    ) -> tuple[Tensor, Tensor, Any]:
        """One classical Runge-Kutta step."""
        h2 = 0.5 * dt
        t_half, t_end = (t + h2, t + dt) if field.uses_time else (t, t)
        k1x, k1y = field.derivative(x, y, t)
        k2x, k2y = field.derivative(x.add(k1x, alpha=h2), y.add(k1y, alpha=h2), t_half)
        k3x, k3y = field.derivative(x.add(k2x, alpha=h2), y.add(k2y, alpha=h2), t_half)
        k4x, k4y = field.derivative(x.add(k3x, alpha=dt), y.add(k3y, alpha=dt), t_end)
        sx = k1x.add(k2x.add(k3x), alpha=2.0).add(k4x)
        sy = k1y.add(k2y.add(k3y), alpha=2.0).add(k4y)
        return x.add(sx, alpha=dt / 6.0), y.add(sy, alpha=dt / 6.0), None
