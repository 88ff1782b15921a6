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
from collections.abc import Callable
from typing import Any, final

import torch
from torch import Tensor

from symnet._validate import integer, real
from symnet.mechanics._errors import ConvergenceError
from symnet.mechanics.field import VectorField
from symnet.mechanics.methods._base import Integrator

__all__ = ["Dopri5", "MAX_NUM_STEPS"]


#: Default bound on the internal steps between two grid points (``max_num_steps``).
MAX_NUM_STEPS = 1000
#: Evaluations per read of the solver's time for progress (the stages of one dopri5 step).
TICK_EVERY = 6


@final
class Dopri5(Integrator):
    """Adaptive Dormand-Prince 5(4) through torchdiffeq (order 5, not symplectic).

    Parameters
    ----------
    **options
        ``rtol`` and ``atol`` (positive finite reals, default 1e-7 and 1e-9):
        relative and absolute local error tolerances; ``max_num_steps``
        (positive integer, default 1000): internal steps allowed between two
        grid points (``dt``) before :class:`~symnet.mechanics.ConvergenceError`.
        The bound makes a stiff field (one whose stable step is far below
        ``dt``) fail in about a second instead of running for hours; raise it
        for a field that legitimately needs more than 1000 steps per ``dt``.
    """

    name = "dopri5"
    order = 5
    symplectic = False
    adaptive = True
    defaults = {"rtol": 1e-7, "atol": 1e-9, "max_num_steps": MAX_NUM_STEPS}

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        for key in ("rtol", "atol"):
            value = real(self.options[key], key, finite=False)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{key} must be positive and finite, got {self.options[key]!r}")
            self.options[key] = value
        steps = integer(self.options["max_num_steps"], "max_num_steps")
        if steps < 1:
            raise ValueError(f"max_num_steps must be a positive integer, got {steps}")
        self.options["max_num_steps"] = steps

    def _odeint(
        self,
        field: VectorField,
        x: Tensor,
        y: Tensor,
        t0: Tensor,
        s: Tensor,
        nonfinite: list[Tensor] | None = None,
        last: list[Tensor] | None = None,
        tick: Callable[[Tensor], None] | None = None,
    ) -> tuple[Tensor, Tensor]:
        from torchdiffeq import odeint

        def rhs(si: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
            if last is not None:  # the time of the latest evaluation (no synchronisation)
                last[0] = si
            if tick is not None:
                tick(si)
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
            rtol=self.options["rtol"],
            atol=self.options["atol"],
            options={"max_num_steps": self.options["max_num_steps"]},
        )

    def _too_many_steps(self, err: BaseException, step: int) -> ConvergenceError:
        n = self.options["max_num_steps"]
        default = " (the default)" if n == MAX_NUM_STEPS else ""
        return ConvergenceError(
            f"dopri5 needed more than max_num_steps={n}{default} internal steps between two "
            f"output times at step {step}: the field is stiff there (its stable step is far "
            "below dt) or blows up. Use a fixed-step or implicit method, reduce dt, loosen "
            f"rtol/atol, or raise it (max_num_steps={10 * n}) if the field really needs that "
            f"many steps ({err})",
            step=step,
        )

    def integrate(
        self,
        field: VectorField,
        x: Tensor,
        y: Tensor,
        t0: Tensor,
        dt: float,
        steps: int,
        progress: Callable[[int, int], None] | None = None,
    ) -> tuple[Tensor, Tensor]:
        """States at ``t0 + k dt`` for ``k = 0..steps``.

        ``progress(done, steps)``, when given, is called whenever the solver's
        latest evaluation passes a new grid point (``done`` grid intervals
        covered, increasing, at most ``steps``).

        Returns
        -------
        xs, ys : Tensor, shape (K, B, *S)
            ``K = steps + 1``, or fewer when the solver broke down because
            the field returned NaN/inf; then the last entry is NaN (the
            rollout names the step).

        Raises
        ------
        ConvergenceError
            More than ``max_num_steps`` internal steps between two grid
            points, or another failure of the solver without NaN/inf.
        """
        s = dt * torch.arange(steps + 1, dtype=x.dtype, device=x.device)
        last = [s[0]]
        tick = None if progress is None else _Ticks(progress, dt, steps)
        try:
            return self._odeint(field, x, y, t0, s, last=last, tick=tick)
        except (AssertionError, RuntimeError) as err:
            if "max_num_steps" in str(err):
                # the interval of the latest evaluation; no rerun (it would take as long again)
                k = min(max(int(math.floor(float(last[0]) / dt)) + 1, 1), steps)
                raise self._too_many_steps(err, k) from err
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
                    if "max_num_steps" in str(err):
                        raise self._too_many_steps(err, k + 1) from err
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


class _Ticks:
    """Calls ``progress(done, steps)`` when the solver's time passes a new grid point.

    The time is read from the device at every :data:`TICK_EVERY`-th evaluation
    only (about once per internal step, never once per stage).
    """

    def __init__(self, progress: Callable[[int, int], None], dt: float, steps: int) -> None:
        self.progress = progress
        self.dt = dt
        self.steps = steps
        self.done = 0
        self.calls = 0

    def __call__(self, s: Tensor) -> None:
        self.calls += 1
        if self.calls % TICK_EVERY:
            return
        ratio = float(s.detach()) / self.dt
        done = min(int(math.floor(ratio)), self.steps) if math.isfinite(ratio) else 0
        if done > self.done:
            self.done = done
            self.progress(done, self.steps)
