"""Yoshida's fourth-order symplectic method: a triple jump of leapfrog steps.

One step of size ``h`` is three Stoermer-Verlet steps of sizes ``w1 h``,
``w0 h``, ``w1 h`` with ``w1 = 1 / (2 - 2^(1/3))`` and
``w0 = -2^(1/3) / (2 - 2^(1/3))`` (``2 w1 + w0 = 1``). The composition of a
symmetric second-order method with these weights is of order four and stays
symplectic. Adjacent kicks share their field evaluation, so a step costs three
accelerations for a second-order field.

References
----------
H. Yoshida, "Construction of higher order symplectic integrators",
Physics Letters A 150 (1990) 262-268.
E. Hairer, C. Lubich, G. Wanner, *Geometric Numerical Integration*, 2nd ed.,
Springer (2006), section II.4 (triple jump).
"""

from __future__ import annotations

from typing import Any, final

from torch import Tensor

from symnet.mechanics.field import VectorField
from symnet.mechanics.methods._base import Integrator
from symnet.mechanics.methods.leapfrog import kick_drift_kick

__all__ = ["Yoshida4"]

_CBRT2 = 2.0 ** (1.0 / 3.0)
W1 = 1.0 / (2.0 - _CBRT2)
W0 = -_CBRT2 / (2.0 - _CBRT2)


@final
class Yoshida4(Integrator):
    """Triple-jump composition of leapfrog (order 4, symplectic)."""

    name = "yoshida4"
    order = 4
    symplectic = True
    splitting = True

    def step(
        self, field: VectorField, x: Tensor, y: Tensor, t: Tensor, dt: float, cache: Any = None
    ) -> tuple[Tensor, Tensor, Any]:
        """Leapfrog substeps of ``w1 dt, w0 dt, w1 dt``; ``cache`` is the last kick."""
        x, y, kick = kick_drift_kick(field, x, y, t, W1 * dt, cache)
        x, y, kick = kick_drift_kick(field, x, y, t + W1 * dt, W0 * dt, kick)
        return kick_drift_kick(field, x, y, t + (W1 + W0) * dt, W1 * dt, kick)
