"""Noether charges and their rates, from a generator alone (no per-group code).

Lagrangian form (docs/theory.md, section 'Noether charges'): with
``p = dL/dqdot`` and ``E = qdot . p - L``, a generator ``(xi, tau, F)`` has the charge
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
that relative errors are scale-free (docs/theory.md, section 'Verdict rules').

This module gathers them: the gradients and the checks of ``L`` (or ``H``)
are in :mod:`symnet.noether._gradients`, the charges and rates in
:mod:`symnet.noether._charge_values` and the masses read from the kinetic
Hessian in :mod:`symnet.noether._masses`.
"""

from __future__ import annotations

from symnet.noether._charge_values import _TINY as _TINY
from symnet.noether._charge_values import (
    ChargeValues,
    hamiltonian_charge_values,
    lagrangian_charge_values,
)
from symnet.noether._charge_values import _sum as _sum
from symnet.noether._charge_values import _zero as _zero
from symnet.noether._gradients import (
    StateGradients,
    check_differentiable,
    check_no_mutation,
    gradients,
    probe_function,
)
from symnet.noether._gradients import _dtype_hint as _dtype_hint
from symnet.noether._gradients import _perturbed_dv as _perturbed_dv
from symnet.noether._masses import _MASS_RTOL as _MASS_RTOL
from symnet.noether._masses import _MASS_STATES as _MASS_STATES
from symnet.noether._masses import _kinetic_hessians as _kinetic_hessians
from symnet.noether._masses import _mass_deviation as _mass_deviation
from symnet.noether._masses import _masses_refused as _masses_refused
from symnet.noether._masses import check_masses, kinetic_masses

__all__ = [
    "ChargeValues",
    "StateGradients",
    "check_differentiable",
    "check_masses",
    "check_no_mutation",
    "gradients",
    "hamiltonian_charge_values",
    "kinetic_masses",
    "lagrangian_charge_values",
    "probe_function",
]
