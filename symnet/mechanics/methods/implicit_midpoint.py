"""The implicit midpoint rule: second order, symplectic for every Hamiltonian.

``z1 = z + dt f((z + z1) / 2, t + dt/2)`` on ``z = (x, y)``. It is the
one-stage Gauss collocation method: symplectic for any Hamiltonian in
``(q, p)`` (separable or not), symmetric, and it conserves every quadratic
invariant. Applied to an acceleration field in ``(q, v)`` it preserves any
constant symplectic form, e.g. for constant masses and a uniform magnetic
field; with a position-dependent mass matrix, integrate the Hamiltonian form
to keep exact symplecticity.

The implicit equation is solved for the midpoint ``Z = (z + z1) / 2`` by
fixed-point iteration ``Z <- z + dt/2 f(Z, t + dt/2)``; it converges when
``dt/2`` times the Lipschitz constant of ``f`` is below 1. The first step
starts from an explicit Euler half step; later steps extrapolate the midpoint
derivatives of the two previous steps (passed on as the step ``cache``), which
saves the evaluation at the state and about one iteration. For an
acceleration field only the midpoint velocity is iterated (the midpoint
position follows from it). The iteration stops when the estimated error of
the newest iterate (from the last change and the measured contraction rate),
relative to the size of the state and of the predicted midpoint, is at most
``tol``; after ``max_iter`` iterations without that a
:class:`~symnet.mechanics.ConvergenceError` is raised (a rollout adds the step).
That decision is made on the host: each iteration reads one number from the
device (the change, together with the size of the state on the first).

References
----------
E. Hairer, C. Lubich, G. Wanner, *Geometric Numerical Integration*, 2nd ed.,
Springer (2006), sections I.1.4, IV.2, VI.4 and VIII.6 (fixed-point iteration).
"""

from __future__ import annotations

import math
from typing import Any, final

import torch
from torch import Tensor

from symnet._validate import integer, real
from symnet.mechanics._errors import ConvergenceError
from symnet.mechanics.field import VectorField
from symnet.mechanics.methods._base import Integrator

__all__ = ["ImplicitMidpoint"]


def _inf_norm(*xs: Tensor) -> Tensor:
    """Largest absolute entry of the tensors, a 0-d tensor on their device (no graph)."""
    norms = [torch.linalg.vector_norm(x.detach(), ord=math.inf) for x in xs]
    return norms[0] if len(norms) == 1 else torch.stack(norms).amax()


def _read(change: Tensor, size: Tensor | float) -> tuple[float, float]:
    """``(change / size, size)`` as floats: one host read per iteration.

    ``size`` is a tensor on the first iteration (read with the first change);
    a float after. A non-finite size makes the change NaN.
    """
    if isinstance(size, Tensor):
        both = torch.stack([change, size]).tolist()  # one synchronisation
        size = (both[1] if both[1] > 0 else 1.0) if math.isfinite(both[1]) else math.nan
        return both[0] / size, size
    return float(change) / size, size


@final
class ImplicitMidpoint(Integrator):
    """Implicit midpoint rule by fixed-point iteration (order 2, symplectic).

    Parameters
    ----------
    **options
        ``tol`` (float, default ``100 * eps`` of the dtype: 2.2e-14 in float64,
        1.2e-5 in float32): relative tolerance of the fixed-point iteration;
        ``max_iter`` (int, default 100): iterations allowed per step before
        :class:`~symnet.mechanics.ConvergenceError`.
    """

    name = "implicit_midpoint"
    order = 2
    symplectic = True
    defaults = {"tol": None, "max_iter": 100}

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        tol = self.options["tol"]
        if tol is not None:
            value = real(tol, "tol", finite=False)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"tol must be positive and finite (or None), got {tol!r}")
            self.options["tol"] = value
        max_iter = integer(self.options["max_iter"], "max_iter")
        if max_iter < 1:
            raise ValueError(f"max_iter must be a positive integer, got {max_iter}")
        self.options["max_iter"] = max_iter

    def step(
        self, field: VectorField, x: Tensor, y: Tensor, t: Tensor, dt: float, cache: Any = None
    ) -> tuple[Tensor, Tensor, Any]:
        """One implicit midpoint step; ConvergenceError if the iteration stalls.

        ``cache`` holds the midpoint derivatives of up to two previous steps
        (for the predictor); pass ``None`` after changing ``dt`` or the state.
        """
        tol = self.options["tol"]
        tol = 100.0 * torch.finfo(x.dtype).eps if tol is None else float(tol)
        t_mid = t + 0.5 * dt if field.uses_time else t
        if field.order == 2:
            return self._second_order(field, x, y, t, t_mid, dt, cache, tol)
        return self._first_order(field, x, y, t, t_mid, dt, cache, tol)

    def _second_order(
        self,
        field: VectorField,
        q: Tensor,
        v: Tensor,
        t: Tensor,
        t_mid: Tensor,
        dt: float,
        cache: Any,
        tol: float,
    ) -> tuple[Tensor, Tensor, Any]:
        """Iterate on the midpoint velocity ``V = v + dt/2 a(q + dt/2 V, V)`` only."""
        h2 = 0.5 * dt
        a, history = _predict(cache, lambda: field.kick(q, v, t))
        a0 = a
        V = v.add(a, alpha=h2)
        size: Tensor | float = _inf_norm(q, v, V)  # read with the first change
        change = previous = math.inf
        for _ in range(self.options["max_iter"]):
            a = field.kick(q.add(V, alpha=h2), V, t_mid)
            V_new = v.add(a, alpha=h2)
            (change, size), previous = _read(_inf_norm(V_new - V), size), change
            if math.isnan(size):  # the state or the prediction is NaN/inf
                return q.add(v, alpha=dt), v.add(a0, alpha=dt), None  # the rollout names the step
            V = V_new
            if _converged(change, previous, tol):
                # q1 - q = dt (v + v1) / 2 holds exactly
                return q.add(V, alpha=dt), v.add(a, alpha=dt), (a, *history)
            if not math.isfinite(change):
                self._diverged(field, q, v, t, change)
                return q.add(V, alpha=dt), v.add(a, alpha=dt), None
        raise self._not_converged(change, tol)

    def _first_order(
        self,
        field: VectorField,
        x: Tensor,
        y: Tensor,
        t: Tensor,
        t_mid: Tensor,
        dt: float,
        cache: Any,
        tol: float,
    ) -> tuple[Tensor, Tensor, Any]:
        """Iterate on the midpoint ``Z = z + dt/2 f(Z)`` of both components."""
        h2 = 0.5 * dt
        (px, py), history = _predict(cache, lambda: field.derivative(x, y, t))
        mx, my = x.add(px, alpha=h2), y.add(py, alpha=h2)
        size: Tensor | float = _inf_norm(x, y, mx, my)  # read with the first change
        change = previous = math.inf
        for _ in range(self.options["max_iter"]):
            fx, fy = field.derivative(mx, my, t_mid)
            nx, ny = x.add(fx, alpha=h2), y.add(fy, alpha=h2)
            (change, size), previous = _read(_inf_norm(nx - mx, ny - my), size), change
            if math.isnan(size):  # the state or the prediction is NaN/inf
                return x.add(px, alpha=dt), y.add(py, alpha=dt), None  # the rollout names the step
            mx, my = nx, ny
            if _converged(change, previous, tol):
                return x.add(fx, alpha=dt), y.add(fy, alpha=dt), ((fx, fy), *history)
            if not math.isfinite(change):
                self._diverged(field, x, y, t, change)
                return x.add(fx, alpha=dt), y.add(fy, alpha=dt), None
        raise self._not_converged(change, tol)

    @staticmethod
    def _diverged(field: VectorField, x: Tensor, y: Tensor, t: Tensor, change: float) -> None:
        """Raise unless the field is already non-finite at the state (then the rollout reports)."""
        dx, dy = field.derivative(x, y, t)
        if not bool(torch.isfinite(dx).all() & torch.isfinite(dy).all()):
            return
        raise ConvergenceError(
            "implicit midpoint fixed-point iteration diverged to NaN/inf (or the field "
            "returned NaN/inf at an iterate) although the field is finite at the state; "
            "reduce dt (the iteration needs dt/2 times the Lipschitz constant of the field "
            "below 1)",
            residual=change,
        )

    def _not_converged(self, change: float, tol: float) -> ConvergenceError:
        return ConvergenceError(
            "implicit midpoint fixed-point iteration did not converge in "
            f"{self.options['max_iter']} iterations (last relative change {change:.2e} > "
            f"tol {tol:.2e}); reduce dt (the iteration needs dt/2 times the Lipschitz "
            "constant of the field below 1) or raise max_iter",
            residual=change,
        )


def _predict(cache: Any, evaluate: Any) -> tuple[Any, tuple]:
    """Predicted midpoint derivative and the history to pass on.

    No history: evaluate at the state (explicit Euler half step). One previous
    midpoint derivative: reuse it. Two: extrapolate linearly.
    """
    if not cache:
        return evaluate(), ()
    if len(cache) == 1:
        return cache[0], cache
    last, before = cache
    if isinstance(last, tuple):
        return tuple(b.lerp(a, 2.0) for a, b in zip(last, before, strict=True)), cache[:1]
    return before.lerp(last, 2.0), cache[:1]  # 2 last - before


def _converged(change: float, previous: float, tol: float) -> bool:
    """Stop when the error of the newest iterate is below ``tol``.

    With the contraction rate ``theta = change / previous`` estimated from the
    last two changes, the error left after the newest iterate is about
    ``theta / (1 - theta) * change`` (Hairer, Lubich, Wanner, section VIII.6);
    before a rate is known the change itself must be below ``tol``.
    """
    if change <= tol:
        return True
    if previous < math.inf and change < previous:
        theta = change / previous
        return theta / (1.0 - theta) * change <= tol
    return False
