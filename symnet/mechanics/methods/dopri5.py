"""Dormand-Prince 5(4): adaptive explicit Runge-Kutta, via torchdiffeq.

The embedded pair of Dormand and Prince with local extrapolation (order 5,
error estimate of order 4) controls its own internal step so that the local
error stays below ``atol + rtol |y|``; outputs are interpolated at the rollout
grid. Not symplectic. The solver is ``torchdiffeq.odeint(method="dopri5")``
(differentiable by backpropagation through its internal steps).

References
----------
J. R. Dormand, P. J. Prince, "A family of embedded Runge-Kutta formulae",
J. Comput. Appl. Math. 6 (1980) 19-26.
R. T. Q. Chen et al., "Neural Ordinary Differential Equations", NeurIPS (2018)
(torchdiffeq).
"""

from __future__ import annotations

import math
from typing import Any, final

import torch
from torch import Tensor

from symnet.mechanics._errors import ConvergenceError
from symnet.mechanics.field import VectorField
from symnet.mechanics.methods._base import Integrator

__all__ = ["Dopri5"]


@final
class Dopri5(Integrator):
    """Adaptive Dormand-Prince 5(4) through torchdiffeq (order 5, not symplectic).

    Parameters
    ----------
    **options
        ``rtol`` and ``atol`` (float, default 1e-7 and 1e-9): relative and
        absolute local error tolerances; ``max_num_steps`` (int, default
        2**31 - 1): internal steps allowed between two grid points.
    """

    name = "dopri5"
    order = 5
    symplectic = False
    adaptive = True
    defaults = {"rtol": 1e-7, "atol": 1e-9, "max_num_steps": 2**31 - 1}

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        for key in ("rtol", "atol"):
            if not float(self.options[key]) > 0:
                raise ValueError(f"{key} must be positive, got {self.options[key]}")

    def _odeint(
        self,
        field: VectorField,
        x: Tensor,
        y: Tensor,
        t0: Tensor,
        s: Tensor,
        nonfinite: list[Tensor] | None = None,
    ) -> tuple[Tensor, Tensor]:
        from torchdiffeq import odeint

        def rhs(si: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
            out = field.derivative(state[0], state[1], t0 + si)
            if nonfinite is not None:  # batch elements whose derivative was ever NaN/inf
                ok = torch.isfinite(out[0]).flatten(1).all(1) & torch.isfinite(out[1]).flatten(
                    1
                ).all(1)
                nonfinite[0] = nonfinite[0] | ~ok
            return out

        return odeint(
            rhs,
            (x, y),
            s,
            method="dopri5",
            rtol=float(self.options["rtol"]),
            atol=float(self.options["atol"]),
            options={"max_num_steps": int(self.options["max_num_steps"])},
        )

    def integrate(
        self, field: VectorField, x: Tensor, y: Tensor, t0: Tensor, dt: float, steps: int
    ) -> tuple[Tensor, Tensor]:
        """States at ``t0 + k dt`` for ``k = 0..steps``.

        Returns
        -------
        xs, ys : Tensor, shape (K, B, *S)
            ``K = steps + 1``, or fewer when the solver broke down because
            the field returned NaN/inf; then the last entry is NaN (the
            rollout names the step).

        Raises
        ------
        ConvergenceError
            The solver failed for another reason (e.g. ``max_num_steps``).
        """
        s = dt * torch.arange(steps + 1, dtype=x.dtype, device=x.device)
        try:
            return self._odeint(field, x, y, t0, s)
        except (AssertionError, RuntimeError):
            pass
        # locate the failing interval by restarting the solver on each one (a
        # rare path: its internal steps, hence round-off, differ from the run above)
        xs, ys = [x], [y]
        for k in range(steps):
            nonfinite = [torch.zeros(x.shape[0], dtype=torch.bool, device=x.device)]
            try:
                out = self._odeint(field, xs[-1], ys[-1], t0, s[k : k + 2], nonfinite)
            except (AssertionError, RuntimeError) as err:
                bad = nonfinite[0].reshape(-1, *([1] * (x.dim() - 1)))
                if not bool(bad.any()):
                    raise ConvergenceError(
                        f"dopri5 failed at step {k + 1}: {err}. The states up to step {k} are "
                        "finite; a blow-up or a stiff field makes the internal step collapse "
                        "(loosen rtol/atol, raise max_num_steps, or use a fixed-step method)",
                        step=k + 1,
                    ) from err
                # NaN marks the elements that failed (the others are cut off with them)
                xs.append(torch.where(bad, math.nan, xs[-1]))
                ys.append(torch.where(bad, math.nan, ys[-1]))
                break
            xs.append(out[0][1])
            ys.append(out[1][1])
            if not bool(torch.isfinite(xs[-1]).all() & torch.isfinite(ys[-1]).all()):
                break
        return torch.stack(xs), torch.stack(ys)

    def step(
        self, field: VectorField, x: Tensor, y: Tensor, t: Tensor, dt: float, cache: Any = None
    ) -> tuple[Tensor, Tensor, Any]:
        """One adaptive solve from ``t`` to ``t + dt``."""
        xs, ys = self.integrate(field, x, y, t, dt, 1)
        return xs[-1], ys[-1], None
