"""Noether charges and their rates at a batch of states, from a generator alone.

Private module. Lagrangian form (docs/theory.md, section 'Noether charges'):
with ``p = dL/dqdot`` and ``E = qdot . p - L``, a generator ``(xi, tau, F)`` has
the charge ``J = p . xi - E tau - F`` and, along any solution of the
Euler-Lagrange equations, ``dJ/dt = R - dF/dt`` with the Lie derivative
``R = dL/dq . xi + dL/dqdot . xidot + tau dL/dt`` (``tau`` constant)
(:func:`lagrangian_charge_values`).

Hamiltonian form: ``Q = p . xi - F - tau H`` and ``dQ/dt = {Q, H} + d_t Q
= p . xidot - dF/dt - xi . dH/dq - tau d_t H`` with ``xidot`` prolonged along
``qdot = dH/dp`` (:func:`hamiltonian_charge_values`).

Both take the gradients of ``L`` (or ``H``) from
:func:`symnet.noether._gradients.gradients`; each generator then costs one
forward derivative of ``xi``. Scales are sums of the absolute values of the
terms, so that relative errors are scale-free (docs/theory.md, section
'Verdict rules').
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from symnet.groups import Generator
from symnet.noether._gradients import StateGradients

__all__ = ["ChargeValues", "hamiltonian_charge_values", "lagrangian_charge_values"]

_TINY = 1e-300


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
