"""Noether charges and their rates, from a generator alone (no per-group code).

Lagrangian form (REFERENCES.md section 1): with ``p = dL/dqdot`` and
``E = qdot . p - L``, a generator ``(xi, tau, F)`` has the charge
``J = p . xi - E tau - F`` and, along any solution of the Euler-Lagrange
equations, ``dJ/dt = R - dF/dt`` with the Lie derivative
``R = dL/dq . xi + dL/dqdot . xidot + tau dL/dt`` (``tau`` constant). ``R = dF/dt``
is the (quasi-)invariance condition.

Hamiltonian form: ``Q = p . xi - F - tau H`` and ``dQ/dt = {Q, H} + d_t Q
= p . xidot - dF/dt - xi . dH/dq - tau d_t H`` with ``xidot`` prolonged along
``qdot = dH/dp``.

One reverse-mode pass (``torch.func.vjp``) gives the gradients of L (or H) at
a batch of states; every generator's charge and rate then costs one forward
derivative of ``xi``. Scales are sums of the absolute values of the terms, so
that relative errors are scale-free (REFERENCES.md section 3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.func import grad, vjp, vmap

from symnet._util import check_finite, format_shape, with_time
from symnet.groups import Generator

__all__ = [
    "ChargeValues",
    "StateGradients",
    "check_differentiable",
    "gradients",
    "hamiltonian_charge_values",
    "lagrangian_charge_values",
]

_TINY = 1e-300


@dataclass
class StateGradients:
    """A scalar function and its gradients at a batch of states.

    Attributes
    ----------
    value : Tensor
        ``L`` (or ``H``), shape ``(B,)``.
    dq, dv : Tensor
        Gradients with respect to ``q`` and ``qdot`` (or ``p``), shape ``(B, *S)``.
    dt : Tensor
        Explicit time derivative, shape ``(B,)``.
    """

    value: Tensor
    dq: Tensor
    dv: Tensor
    dt: Tensor


@dataclass
class ChargeValues:
    """A generator's charge and its rate at a batch of states (all shape ``(B,)``).

    Attributes
    ----------
    charge : Tensor
        ``J`` (Lagrangian) or ``Q`` (Hamiltonian).
    charge_scale : Tensor
        Sum of absolute values of the charge's terms (``S_Q`` before the max).
    rate : Tensor
        ``dJ/dt`` along solutions: ``R - dF/dt``; zero for an exact symmetry.
    rate_scale : Tensor
        Sum of absolute values of the rate's terms.
    """

    charge: Tensor
    charge_scale: Tensor
    rate: Tensor
    rate_scale: Tensor

    @property
    def invariance_error(self) -> Tensor:
        """Relative Lie derivative ``|rate| / rate_scale``, shape ``(B,)`` (0 where both vanish)."""
        return self.rate.abs() / self.rate_scale.clamp_min(_TINY)


def gradients(fn: Callable, q: Tensor, v: Tensor, t: Tensor, name: str = "L") -> StateGradients:
    """Value and gradients of ``fn(q, v, t)`` (batched, shape ``(B,)``) in one ``vjp``.

    Raises
    ------
    ValueError
        ``fn`` returns a shape other than ``(B,)``, or non-finite values.
    TypeError
        ``fn`` cannot be differentiated with ``torch.func``.
    """
    f = with_time(fn, 2)
    try:
        value, pullback = vjp(f, q, v, t)
    except (RuntimeError, TypeError) as exc:
        text = " ".join(str(exc).split())
        if "dtype" in text and q.dtype == torch.float64:
            # typically a plain function closing over a float32 module: only modules passed
            # as fn itself are cast to float64
            raise TypeError(
                f"{name} could not be evaluated in float64 ({text}); the checker runs in "
                f"float64 and casts a copy of {name} only when {name} is itself an nn.Module: "
                "pass the module (or a module wrapping it), or build the model in float64"
            ) from None
        raise TypeError(
            f"{name} could not be differentiated with torch.func ({text}); it must be written "
            "with differentiable torch operations (no .item(), .numpy() or in-place writes to "
            "inputs)"
        ) from None
    if not isinstance(value, Tensor) or value.shape != (q.shape[0],):
        got = format_shape(value.shape) if isinstance(value, Tensor) else type(value).__name__
        raise ValueError(
            f"{name} must return shape ({q.shape[0]},) for a batch of {q.shape[0]}, got {got}"
        )
    check_finite(value, f"{name}(q, ...)")
    dq, dv, dt = pullback(torch.ones_like(value))
    return StateGradients(value, dq, dv, dt)


def check_differentiable(
    fn: Callable, grads: StateGradients, q: Tensor, v: Tensor, t: Tensor, name: str = "L"
) -> None:
    """Reject a function whose gradients the checker cannot trust.

    Two failures would otherwise pass silently and give wrong charges (and so
    wrong verdicts) when closed-form dynamics are integrated:

    - a gradient cut by ``.item()``, ``float()`` or a numpy round trip, which
      ``vjp`` does not notice: the per-sample function is differentiated
      under ``vmap`` (as the Euler-Lagrange dynamics do), where these raise;
    - gradients that vanish identically (``.detach()`` on the inputs): then
      ``p = 0`` and every charge and rate is zero.

    Parameters
    ----------
    fn : callable
        ``fn(q, v, t)`` (or without ``t``) returning shape ``(B,)``.
    grads : StateGradients
        From :func:`gradients` of ``fn`` at ``(q, v, t)``.
    q, v : Tensor
        Shape ``(B, *S)``.
    t : Tensor
        Shape ``(B,)``.

    Raises
    ------
    TypeError
        ``fn`` cannot be differentiated per sample under ``torch.func.vmap``.
    ValueError
        Its gradient with respect to ``v`` (``qdot`` or ``p``) is zero at every state.
    """
    f = with_time(fn, 2)

    def one(q1: Tensor, v1: Tensor, t1: Tensor) -> Tensor:
        return f(q1.unsqueeze(0), v1.unsqueeze(0), t1.unsqueeze(0)).reshape(())

    n = min(2, q.shape[0])
    try:
        vmap(grad(one, argnums=(0, 1)))(q[:n], v[:n], t[:n])
    except (RuntimeError, TypeError) as exc:
        text = " ".join(str(exc).split())
        first = text.split(". ")[0][:240]
        raise TypeError(
            f"{name} could not be differentiated per sample with torch.func.vmap ({first}); "
            f"{name} must be built from differentiable torch operations, without .item(), "
            "float(), .numpy() or Python control flow on tensor values (use torch.where)"
        ) from None
    var = "qdot" if name == "L" else "p"
    if not bool(grads.dv.any()):
        raise ValueError(
            f"{name} does not depend on {var}: d{name}/d{var} is zero at every state of the "
            f"batch, so every charge would be zero. {name} must be differentiable in {var} "
            "(no .detach() on its inputs)"
        )


def _sum(x: Tensor) -> Tensor:
    return x.reshape(x.shape[0], -1).sum(dim=1)


def _zero(q: Tensor) -> Tensor:
    return torch.zeros(q.shape[0], dtype=q.dtype, device=q.device)


def lagrangian_charge_values(
    grads: StateGradients,
    gen: Generator,
    q: Tensor,
    qdot: Tensor,
    t: Tensor,
    rates: bool = True,
) -> ChargeValues:
    """Lagrangian charge ``J = p . xi - E tau - F`` and its rate ``R - dF/dt``.

    Parameters
    ----------
    grads : StateGradients
        From :func:`gradients` of ``L`` at ``(q, qdot, t)``.
    gen : Generator
        The symmetry.
    q, qdot : Tensor
        Shape ``(B, *S)``.
    t : Tensor
        Shape ``(B,)``.
    rates : bool
        Also compute the rate and its scale (one forward derivative of ``xi``);
        when False they are returned as zeros.
    """
    p, tau = grads.dv, gen.tau
    if rates:
        xi, xidot = gen.prolong(q, qdot, t)
    else:
        xi = gen.xi(q, t)
    p_xi = p * xi
    J, J_scale = _sum(p_xi), _sum(p_xi.abs())
    if tau:
        p_qdot = p * qdot
        J = J - tau * (_sum(p_qdot) - grads.value)
        J_scale = J_scale + abs(tau) * (_sum(p_qdot.abs()) + grads.value.abs())
    if gen.has_boundary:
        F = gen.boundary(q, t)
        J, J_scale = J - F, J_scale + F.abs()
    if not rates:
        return ChargeValues(J, J_scale, _zero(q), _zero(q))
    a, b = grads.dq * xi, p * xidot
    R = _sum(a) + _sum(b)
    R_scale = _sum(a.abs()) + _sum(b.abs())
    if tau:
        R, R_scale = R + tau * grads.dt, R_scale + abs(tau) * grads.dt.abs()
    if gen.has_boundary:
        dF = gen.boundary_rate(q, qdot, t)
        R, R_scale = R - dF, R_scale + dF.abs()
    return ChargeValues(J, J_scale, R, R_scale)


def hamiltonian_charge_values(
    grads: StateGradients,
    gen: Generator,
    q: Tensor,
    p: Tensor,
    t: Tensor,
    rates: bool = True,
) -> ChargeValues:
    """Hamiltonian charge ``Q = p . xi - F - tau H`` and its rate ``{Q, H} + d_t Q``.

    Parameters
    ----------
    grads : StateGradients
        From :func:`gradients` of ``H`` at ``(q, p, t)``: ``dq = dH/dq``, ``dv = dH/dp``.
    gen : Generator
        The symmetry.
    q, p : Tensor
        Shape ``(B, *S)``.
    t : Tensor
        Shape ``(B,)``.
    rates : bool
        Also compute the rate and its scale; when False they are zeros.
    """
    qdot, tau = grads.dv, gen.tau
    if rates:
        xi, xidot = gen.prolong(q, qdot, t)
    else:
        xi = gen.xi(q, t)
    p_xi = p * xi
    Q, Q_scale = _sum(p_xi), _sum(p_xi.abs())
    if tau:
        Q, Q_scale = Q - tau * grads.value, Q_scale + abs(tau) * grads.value.abs()
    if gen.has_boundary:
        F = gen.boundary(q, t)
        Q, Q_scale = Q - F, Q_scale + F.abs()
    if not rates:
        return ChargeValues(Q, Q_scale, _zero(q), _zero(q))
    a, b = p * xidot, xi * grads.dq
    rate = _sum(a) - _sum(b)
    rate_scale = _sum(a.abs()) + _sum(b.abs())
    if tau:
        rate, rate_scale = rate - tau * grads.dt, rate_scale + abs(tau) * grads.dt.abs()
    if gen.has_boundary:
        dF = gen.boundary_rate(q, qdot, t)
        rate, rate_scale = rate - dF, rate_scale + dF.abs()
    return ChargeValues(Q, Q_scale, rate, rate_scale)
