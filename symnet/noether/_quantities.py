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
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.func import grad, jacfwd, vjp, vmap

from symnet._probe import check_autodiff
from symnet._util import check_finite, dtype_mismatch, format_shape, with_time
from symnet.groups import Generator

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

_TINY = 1e-300
#: Largest relative deviation of the kinetic Hessian from ``diag(m_i) x I_d``.
_MASS_RTOL = 1e-8
#: States at which the kinetic Hessian is evaluated.
_MASS_STATES = 16


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


def _dtype_hint(fn: Callable, dtype: torch.dtype, name: str, cast: bool) -> str:
    hint = dtype_mismatch(fn, dtype)
    if cast:
        # typically a plain function or a method using a float32 module: only modules passed
        # as fn itself are cast to float64
        bound = f"{name} is a method of a module whose parameters are not float64; " if hint else ""
        return (
            f"{bound}the checker runs in float64 and casts a copy of {name} only when {name} is "
            "itself an nn.Module: pass the module (or a module wrapping it), or build the model "
            "in float64"
        )
    if hint:
        return hint
    return (
        f"a model that {name} uses probably has another dtype than the states ({dtype}): cast "
        "the states or the model so that they agree"
    )


def gradients(
    fn: Callable, q: Tensor, v: Tensor, t: Tensor, name: str = "L", *, cast: bool = True
) -> StateGradients:
    """Value and gradients of ``fn(q, v, t)`` (batched, shape ``(B,)``) in one ``vjp``.

    ``cast`` says whether ``fn`` is the checker's float64 cast (it words the
    hint of a dtype error).

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
        if "dtype" in text or ("Double" in text and "Float" in text):
            kind = str(q.dtype).replace("torch.", "")
            raise TypeError(
                f"{name} could not be evaluated in {kind} ({text}); "
                + _dtype_hint(fn, q.dtype, name, cast)
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
      ``p = 0`` and every charge and rate is zero. A zero gradient at the
      given states is valid physics (a system released from rest has
      ``dL/dqdot = 0``), so it is refused only when it is zero at randomly
      perturbed states too.

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
        Its gradient with respect to ``v`` (``qdot`` or ``p``) is zero at every
        state and at perturbed states.
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
    if not bool(grads.dv.any()) and not bool(_perturbed_dv(fn, q, v, t, name).any()):
        raise ValueError(
            f"{name} does not depend on {var}: d{name}/d{var} is zero at every state of the "
            "batch and at randomly perturbed states, so every charge would be zero. "
            f"{name} must be differentiable in {var} (no .detach() on its inputs)"
        )


def _perturbed_dv(fn: Callable, q: Tensor, v: Tensor, t: Tensor, name: str) -> Tensor:
    """The gradient in ``v`` at a few states near ``(q, v)`` (random, unit-scale offsets)."""
    gen = torch.Generator().manual_seed(0)
    n = min(3, q.shape[0])
    out = []
    for x in (q[:n], v[:n]):
        x = x.detach()
        noise = torch.randn(x.shape, generator=gen, dtype=x.dtype).to(x.device)
        out.append(x + 0.1 * (x.abs().mean() + 1.0) * noise)
    try:
        return gradients(fn, out[0], out[1], t[:n].detach(), name).dv
    except (ValueError, TypeError):  # not evaluable near the states: do not refuse on this
        return torch.ones(1)


def check_no_mutation(
    fn: Callable, q: Tensor, v: Tensor, t: Tensor, name: str, arg_names: Sequence[str]
) -> None:
    """Raise ValueError when ``fn`` writes into its inputs (evaluated once on copies).

    A function that fails here is left to :func:`gradients`, which words the error.
    """
    f = with_time(fn, 2)
    args = [x.detach().clone() for x in (q, v, t)]
    try:
        with torch.no_grad():
            f(*args)
    except Exception:  # noqa: BLE001 - reported by gradients() with its own message
        return
    for x, copy, arg in zip((q, v, t), args, (*arg_names, "t"), strict=True):
        if not torch.equal(copy, x.detach()):
            raise ValueError(
                f"{name} modified its input {arg} in place; {name} must not write into its "
                f"arguments (use out-of-place operations: {arg} * 2 instead of {arg}.mul_(2))"
            )


def probe_function(
    fn: Callable,
    q: Tensor,
    v: Tensor,
    t: Tensor,
    name: str = "L",
    arg_names: Sequence[str] = ("q", "qdot"),
    *,
    cast: bool = True,
) -> StateGradients:
    """Every check of ``fn`` the checker makes before trusting it, at states ``(q, v, t)``.

    ``fn`` must not modify its inputs, must return shape ``(B,)`` and finite
    values, be differentiable per sample with ``torch.func``, depend on ``v``,
    and its autodiff gradient must agree with finite differences of its
    values (:func:`symnet._probe.check_autodiff`: no part computed under
    ``torch.no_grad()``, on ``q.detach()`` or through numpy).

    Returns
    -------
    StateGradients
        The value and gradients at ``(q, v, t)``.

    Raises
    ------
    ValueError
        A mutation, a wrong output shape, non-finite values, no dependence on
        ``v``, or a gradient that misses part of the dependence
        (``GradientMismatchError``).
    TypeError
        ``fn`` cannot be evaluated or differentiated with ``torch.func``.
    """
    check_no_mutation(fn, q, v, t, name, arg_names)
    grads = gradients(fn, q, v, t, name, cast=cast)
    check_differentiable(fn, grads, q, v, t, name)
    check_autodiff(fn, q, v, t, name=name, arg_names=tuple(arg_names))
    return grads


def _kinetic_hessians(fn: Callable, q: Tensor, v: Tensor, t: Tensor) -> Tensor:
    """``d2 fn / dv2`` at the first states, shape ``(k, n, n)`` with ``n = prod(S)``."""
    f = with_time(fn, 2)

    def one(q1: Tensor, v1: Tensor, t1: Tensor) -> Tensor:
        return f(q1.unsqueeze(0), v1.unsqueeze(0), t1.unsqueeze(0)).reshape(())

    k = min(_MASS_STATES, q.shape[0])
    hess = vmap(jacfwd(grad(one, argnums=1), argnums=1))(q[:k], v[:k], t[:k])
    n = q[0].numel()
    return hess.reshape(k, n, n)


def _mass_deviation(hess: Tensor, diag: Tensor, d: int) -> Tensor:
    """Relative deviation of each Hessian ``(k, n, n)`` from ``diag(diag) x I_d``."""
    expected = torch.diag_embed(diag.repeat_interleave(d))
    return (hess - expected).abs().amax(dim=(-2, -1)) / diag.abs().max().clamp_min(_TINY)


def _masses_refused(name: str, form: str, why: str) -> ValueError:
    hess = "d2L/dqdot2" if form == "lagrangian" else "d2H/dp2"
    shape = "diag(m_1, ..., m_N) x I_d" if form == "lagrangian" else "diag(1/m_i) x I_d"
    return ValueError(
        f"symmetry 'boost' given by name needs the particle masses, and they cannot be read "
        f"from {name}: the kinetic Hessian {hess} {why}, not {shape} with the same constant "
        "masses at every state. Pass masses= (a positive number or a tensor of shape (N,)) "
        "or a Boost(dim, masses) group"
    )


def kinetic_masses(
    fn: Callable, q: Tensor, v: Tensor, t: Tensor, form: str = "lagrangian", name: str = "L"
) -> Tensor:
    """The particle masses read from the kinetic Hessian at states ``(q, v, t)``.

    For a Lagrangian ``d2L/dqdot2 = diag(m_1, ..., m_N) x I_d``; for a
    Hamiltonian ``d2H/dp2 = diag(1/m_1, ..., 1/m_N) x I_d``. The Hessian is
    evaluated at (up to 16 of) the states and must have that form, with the
    same positive masses at each, to relative precision ``1e-8``.

    Parameters
    ----------
    fn : callable
        ``L`` or ``H`` (float64).
    q, v : Tensor
        States, shape ``(B, N, d)``.
    t : Tensor
        Shape ``(B,)``.
    form : {"lagrangian", "hamiltonian"}

    Returns
    -------
    Tensor
        The masses, shape ``(N,)``, float64.

    Raises
    ------
    ValueError
        The Hessian does not have that form (the masses must then be given).
    """
    N, d = q.shape[1:]
    hess = _kinetic_hessians(fn, q, v, t)
    diag = hess[0].diagonal().reshape(N, d).mean(dim=-1)
    if not bool(torch.isfinite(hess).all()):
        raise _masses_refused(name, form, "is not finite at the initial states")
    if not bool((diag > 0).all()):
        raise _masses_refused(
            name, form, f"has non-positive diagonal blocks {diag.tolist()} at the initial states"
        )
    dev = _mass_deviation(hess, diag, d)
    worst = int(dev.argmax())
    if float(dev[worst]) > _MASS_RTOL:
        raise _masses_refused(
            name,
            form,
            f"at the initial states deviates from it by {float(dev[worst]):.1e} (relative, at "
            f"state {worst})",
        )
    masses = diag if form == "lagrangian" else 1.0 / diag
    return masses.detach().clone()


def check_masses(
    fn: Callable,
    q: Tensor,
    v: Tensor,
    t: Tensor,
    masses: Tensor,
    form: str = "lagrangian",
    name: str = "L",
) -> None:
    """Raise unless the kinetic Hessian at ``(q, v, t)`` still matches ``masses`` (see above)."""
    N, d = q.shape[1:]
    diag = masses if form == "lagrangian" else 1.0 / masses
    dev = _mass_deviation(_kinetic_hessians(fn, q, v, t), diag.to(q), d)
    if not bool(torch.isfinite(dev).all()) or float(dev.max()) > _MASS_RTOL:
        raise _masses_refused(
            name,
            form,
            f"changes along the run (relative deviation {float(dev.max()):.1e} from the masses "
            f"{masses.tolist()} read at the initial states)",
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
