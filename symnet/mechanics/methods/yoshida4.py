"""Yoshida's fourth-order symplectic method: a triple jump of leapfrog steps.

One step of size ``h`` is three Stoermer-Verlet steps of sizes ``w1 h``,
``w0 h``, ``w1 h`` with ``w1 = 1 / (2 - 2^(1/3))`` and
``w0 = -2^(1/3) / (2 - 2^(1/3))`` (``2 w1 + w0 = 1``). The composition of a
symmetric second-order method with these weights is of order four and stays
symplectic. Adjacent half kicks are merged and share their field evaluation,
so a step costs three accelerations for a second-order field.

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
    compilable_step = True

    def step(
        self, field: VectorField, x: Tensor, y: Tensor, t: Tensor, dt: float, cache: Any = None
    ) -> tuple[Tensor, Tensor, Any]:
        """Leapfrog substeps of ``w1 dt, w0 dt, w1 dt``; ``cache`` is the last kick."""
        h = dt
        if field.uses_time:
            t1, t2, t3 = t + W1 * h, t + (W1 + W0) * h, t + h
        else:
            t1 = t2 = t3 = t
        # three kick-drift-kick steps with the adjacent half kicks merged
        kick = field.kick(x, y, t) if cache is None else cache
        y = y.add(kick, alpha=0.5 * W1 * h)
        x = x.add(field.drift(x, y, t + 0.5 * W1 * h if field.uses_time else t), alpha=W1 * h)
        kick = field.kick(x, y, t1)
        y = y.add(kick, alpha=0.5 * (W1 + W0) * h)
        x = x.add(field.drift(x, y, t1 + 0.5 * W0 * h if field.uses_time else t), alpha=W0 * h)
        kick = field.kick(x, y, t2)
        y = y.add(kick, alpha=0.5 * (W0 + W1) * h)
        x = x.add(field.drift(x, y, t2 + 0.5 * W1 * h if field.uses_time else t), alpha=W1 * h)
        kick = field.kick(x, y, t3)
        return x, y.add(kick, alpha=0.5 * W1 * h), kick
