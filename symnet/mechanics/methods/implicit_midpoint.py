"""The implicit midpoint rule: second order, symplectic for every Hamiltonian.

``z1 = z + dt f((z + z1) / 2, t + dt/2)`` on ``z = (x, y)``. It is the
one-stage Gauss collocation method: symplectic for any Hamiltonian in
``(q, p)`` (separable or not), symmetric, and it conserves every quadratic
invariant. Applied to an acceleration field in ``(q, v)`` it preserves any
constant symplectic form, e.g. for constant masses and a uniform magnetic
field; with a position-dependent mass matrix, integrate the Hamiltonian form
to keep exact symplecticity.

The implicit equation is solved for the midpoint ``Z = (z + z1) / 2`` by
fixed-point iteration ``Z <- z + dt/2 f(Z, t + dt/2)``, started from an
explicit Euler half step; it converges when ``dt/2`` times the Lipschitz
constant of ``f`` is below 1. The iteration stops when the largest change of
``Z``, relative to the size of the state and of its increment, is at most
``tol``; after ``max_iter`` iterations without that a
:class:`~symnet.mechanics.ConvergenceError` is raised (a rollout adds the step).

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

from symnet.mechanics._errors import ConvergenceError
from symnet.mechanics.field import VectorField
from symnet.mechanics.methods._base import Integrator

__all__ = ["ImplicitMidpoint"]


def _inf_norm(x: Tensor) -> Tensor:
    return x.detach().abs().amax() if x.numel() else x.new_zeros(())


@final
class ImplicitMidpoint(Integrator):
    """Implicit midpoint rule by fixed-point iteration (order 2, symplectic).

    Options
    -------
    tol : float, optional
        Relative tolerance of the fixed-point iteration; default
        ``100 * eps`` of the dtype (2.2e-14 in float64, 1.2e-5 in float32).
    max_iter : int, default 100
        Iterations allowed per step before :class:`ConvergenceError`.
    """

    name = "implicit_midpoint"
    order = 2
    symplectic = True
    defaults = {"tol": None, "max_iter": 100}

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        tol, max_iter = self.options["tol"], self.options["max_iter"]
        if tol is not None and not float(tol) > 0:
            raise ValueError(f"tol must be positive, got {tol}")
        if not (isinstance(max_iter, int) and max_iter >= 1):
            raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")

    def step(
        self, field: VectorField, x: Tensor, y: Tensor, t: Tensor, dt: float, cache: Any = None
    ) -> tuple[Tensor, Tensor, Any]:
        """One implicit midpoint step; ConvergenceError if the iteration stalls."""
        tol = self.options["tol"]
        tol = 100.0 * torch.finfo(x.dtype).eps if tol is None else float(tol)
        h2 = 0.5 * dt
        t_mid = t + h2
        dx, dy = field.derivative(x, y, t)
        mx, my = x.add(dx, alpha=h2), y.add(dy, alpha=h2)
        scale = torch.maximum(_inf_norm(x), _inf_norm(y))
        change = math.inf
        for _ in range(self.options["max_iter"]):
            fx, fy = field.derivative(mx, my, t_mid)
            nx, ny = x.add(fx, alpha=h2), y.add(fy, alpha=h2)
            size = torch.maximum(scale, abs(h2) * torch.maximum(_inf_norm(fx), _inf_norm(fy)))
            delta = torch.maximum(_inf_norm(nx - mx), _inf_norm(ny - my))
            change = float(delta / size) if float(size) > 0 else float(delta)
            mx, my = nx, ny
            if change <= tol:
                return mx.mul(2.0).sub(x), my.mul(2.0).sub(y), None
            if not math.isfinite(change):
                if not bool(torch.isfinite(dx).all() & torch.isfinite(dy).all()):
                    # the field is already non-finite at the state: the rollout names the step
                    return mx.mul(2.0).sub(x), my.mul(2.0).sub(y), None
                raise ConvergenceError(
                    "implicit midpoint fixed-point iteration diverged to NaN/inf (or the field "
                    "returned NaN/inf at an iterate) although the field is finite at the "
                    "state; reduce dt (the iteration needs dt/2 times the Lipschitz constant "
                    "of the field below 1)",
                    residual=change,
                )
        raise ConvergenceError(
            "implicit midpoint fixed-point iteration did not converge in "
            f"{self.options['max_iter']} iterations (last relative change {change:.2e} > "
            f"tol {tol:.2e}); reduce dt "
            "(the iteration needs dt/2 times the Lipschitz constant of the field below 1) "
            "or raise max_iter",
            residual=change,
        )
