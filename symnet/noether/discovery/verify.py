"""A finite-difference backstop: no finding that the function's own values refute.

The discovery solves for the nullspace of a Lie derivative built from
autodiff gradients. If those gradients miss part of the function's
dependence on its inputs (a term computed under ``torch.no_grad()``, on
``q.detach()``, through numpy, or by a custom ``autograd.Function`` with a
wrong backward), a non-symmetry looks exact. The autodiff probe
(:func:`symnet._probe.check_autodiff`) catches the usual cases up front;
this module checks every *finding* independently, with values only:

- Lagrangian: the central difference of ``L(q + s xi, qdot + s xidot, t + s tau)``
  along the generator, minus the boundary rate ``dF/dt``, where ``xidot`` and
  ``dF/dt`` are themselves central differences of ``xi`` and ``F`` along the
  motion ``(q + s qdot, t + s)``;
- Hamiltonian: the central difference of ``H(q + s dQ/dp, p - s dQ/dq)``
  along the flow of the charge (``{H, Q}``).

Differences use two steps and Richardson extrapolation. The result is
relative to the scale of the function's variation along random directions
of the same (natural-unit) length, and compared with what autodiff claims
for the same direction and states: a finding whose finite-difference
variation exceeds ``max(tol, 10 x autodiff's)`` plus the round-off floor,
at two step sizes, means the function's autodiff gradient disagrees with
its values, and :class:`~symnet._probe.GradientMismatchError` is raised
(the finding is not silently dropped: the other findings rest on the same
wrong gradients).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor
from torch.func import vjp

from symnet._probe import GradientMismatchError
from symnet._util import with_time
from symnet.groups import Generator
from symnet.noether._quantities import gradients, lagrangian_charge_values

__all__ = ["verify_generators", "verify_charges", "FD_STATES"]

#: Sample states used by the finite-difference verification.
FD_STATES = 8
#: Random directions that set the scale of the function's variation.
N_RANDOM = 3
#: (step in natural units, relative tolerance) per dtype.
_FD = {torch.float64: (1e-3, 1e-6), torch.float32: (3e-2, 1e-3)}


def _subset(n: int, B: int, device: torch.device | None = None) -> Tensor:
    """Up to ``n`` indices spread evenly over a batch of ``B`` (on ``device``)."""
    m = min(n, B)
    return torch.linspace(0, B - 1, m, device=device).round().long().unique()


def _flat_norm(x: Tensor) -> Tensor:
    return x.reshape(x.shape[0], -1).norm(dim=1)


def _rms_size(x: Tensor) -> float:
    val = float(_flat_norm(x).pow(2).mean().sqrt())
    return val if val > 0 and math.isfinite(val) else 1.0


def _richardson(f: Callable[[float], Tensor], h: float) -> Tensor:
    """Central difference per unit step, extrapolated: ``(4 D(h/2) - D(h)) / 3``."""
    return (4.0 * f(h / 2.0) - f(h)) / 3.0


def _random_directions(
    q: Tensor, v: Tensor, Q: float, V: float, k: int, seed: int
) -> list[tuple[Tensor, Tensor]]:
    """``k`` random directions of unit natural length ``sqrt(|u_q/Q|^2 + |u_v/V|^2) = 1``."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(k):
        uq = torch.randn(q.shape, generator=gen, dtype=q.dtype).to(q.device)
        uv = torch.randn(v.shape, generator=gen, dtype=v.dtype).to(v.device)
        n = ((_flat_norm(uq) / 1.0) ** 2 + (_flat_norm(uv) / 1.0) ** 2).sqrt()
        shape = (-1,) + (1,) * (q.dim() - 1)
        out.append((uq * Q / n.reshape(shape), uv * V / n.reshape(shape)))
    return out


def _variation_scale(
    f: Callable[[Tensor, Tensor, Tensor], Tensor],
    q: Tensor,
    v: Tensor,
    t: Tensor,
    Q: float,
    V: float,
    h: float,
    seed: int,
) -> tuple[float, float]:
    """RMS of ``f``'s derivative along random unit directions, and ``max |f|`` seen."""
    derivs, fmax = [], 0.0
    for uq, uv in _random_directions(q, v, Q, V, N_RANDOM, seed):
        plus, minus = f(q + h * uq, v + h * uv, t), f(q - h * uq, v - h * uv, t)
        fmax = max(fmax, float(plus.abs().max()), float(minus.abs().max()))
        derivs.append((plus - minus) / (2.0 * h))
    return float(torch.stack(derivs).pow(2).mean().sqrt()), fmax


def _refuted(
    r_fd: Tensor, r_ad: Tensor, scale: float, fmax: float, h: float, tol: float, eps: float
) -> tuple[float, float, bool]:
    """Relative finite-difference and autodiff variations, and whether the first refutes."""
    scale = scale if scale > 0 else 1.0
    fd = float(r_fd.pow(2).mean().sqrt()) / scale
    ad = float(r_ad.pow(2).mean().sqrt()) / scale
    floor = 1e3 * eps * fmax / (h * scale)
    return fd, ad, fd > max(tol, 10.0 * ad) + floor


def _fail(subject: str, claim: str, fd: float, ad: float, culprits: str) -> GradientMismatchError:
    return GradientMismatchError(
        f"finite differences of {subject}'s values refute {claim}: {subject} changes along "
        f"it at relative {fd:.1e} of its variation along random directions, while autodiff "
        f"says {ad:.1e}. The autodiff derivatives of {culprits} are inconsistent with the "
        "values (computed partly under torch.no_grad(), on detached inputs, through numpy, "
        "or by a custom autograd.Function with a wrong backward?), so the result cannot "
        "be trusted"
    )


def verify_generators(
    L: Callable,
    generators: Sequence[Generator],
    q: Tensor,
    v: Tensor,
    t: Tensor,
    *,
    name: str = "L",
    seed: int = 0,
) -> None:
    """Raise when finite differences of ``L``'s values refute one of ``generators``.

    Parameters
    ----------
    L : callable
        ``L(q, qdot)`` or ``L(q, qdot, t)`` returning shape ``(B,)`` (already in
        the dtype of ``q``).
    generators : sequence of Generator
        The findings: ``delta L = dF/dt`` is claimed for each.
    q, v : Tensor
        Sample states, shape ``(B, *S)``; up to :data:`FD_STATES` are used.
    t : Tensor
        Times, shape ``(B,)``.

    Raises
    ------
    GradientMismatchError
        (a ``ValueError``) ``L`` varies along a generator by more than its
        autodiff gradient says.
    """
    if not generators or q.dtype not in _FD:
        return
    idx = _subset(FD_STATES, q.shape[0], q.device)
    q, v, t = q[idx].detach(), v[idx].detach(), t[idx].detach()
    f = with_time(L, 2)
    h0, tol = _FD[q.dtype]
    eps = torch.finfo(q.dtype).eps
    Q, V = _rms_size(q), _rms_size(v)
    T = Q / V
    shape = (-1,) + (1,) * (q.dim() - 1)
    grads = gradients(L, q, v, t, name)
    # what the discovery's autodiff claims: R - dF/dt with the autodiff prolongation
    claims = [lagrangian_charge_values(grads, g, q, v, t).rate.detach() for g in generators]
    with torch.no_grad():
        for h in (h0, h0 / 8.0):
            scale, fmax = _variation_scale(f, q, v, t, Q, V, h, seed)
            for gen, claim in zip(generators, claims, strict=True):
                fields = _generator_fields(gen, q, v, t, h * T)
                xi, xidot, dF = fields
                tau = gen.tau
                n = (_flat_norm(xi) / Q) ** 2 + (_flat_norm(xidot) / V) ** 2 + (tau / T) ** 2
                n = n.sqrt()
                keep = n > 0
                if not bool(keep.any()):
                    continue
                s = torch.where(keep, 1.0 / n.clamp_min(1e-300), 0.0)
                sx = s.reshape(shape)

                def along(step: float, xi=xi, xidot=xidot, sx=sx, s=s, tau=tau) -> Tensor:
                    plus = f(q + step * sx * xi, v + step * sx * xidot, t + step * s * tau)
                    minus = f(q - step * sx * xi, v - step * sx * xidot, t - step * s * tau)
                    return (plus - minus) / (2.0 * step)

                r_fd = (_richardson(along, h) - dF * s)[keep]
                r_ad = (claim * s)[keep]
                fd_rel, ad_rel, bad = _refuted(r_fd, r_ad, scale, fmax, h, tol, eps)
                if bad and h < h0:
                    what = f"the symmetry {gen.name!r}"
                    raise _fail(name, what, fd_rel, ad_rel, f"{name} (or of the generator)")
                if bad:
                    break  # confirm with the smaller step (a kink crossed by the first?)
            else:
                return


def _generator_fields(
    gen: Generator, q: Tensor, v: Tensor, t: Tensor, s: float
) -> tuple[Tensor, Tensor, Tensor]:
    """``xi``, ``xidot`` and ``dF/dt`` along the motion, by finite differences of values."""
    xi = gen.xi(q, t)

    def xidot(step: float) -> Tensor:
        return (gen.xi(q + step * v, t + step) - gen.xi(q - step * v, t - step)) / (2.0 * step)

    xd = _richardson(xidot, s)
    if gen.has_boundary:

        def rate(step: float) -> Tensor:
            plus, minus = gen.boundary(q + step * v, t + step), gen.boundary(q - step * v, t - step)
            return (plus - minus) / (2.0 * step)

        dF = _richardson(rate, s)
    else:
        dF = torch.zeros(q.shape[0], dtype=q.dtype, device=q.device)
    return xi.detach(), xd.detach(), dF.detach()


def verify_charges(
    H: Callable,
    charges: Sequence[object],
    q: Tensor,
    p: Tensor,
    t: Tensor,
    *,
    name: str = "H",
    seed: int = 0,
) -> None:
    """Raise when finite differences of values refute a conserved charge.

    For each charge ``Q`` (an object with ``name`` and ``fn(q, p) -> (B,)``)
    the autodiff bracket ``{Q, H}`` is what the discovery claims. Two
    value-only measurements must agree with it: ``H``'s change along the
    flow ``(dQ/dp, -dQ/dq)`` of ``Q`` (``{H, Q}``; catches a lost gradient of
    ``H``) and ``Q``'s change along the flow ``(dH/dp, -dH/dq)`` of ``H``
    (``{Q, H}``; catches a lost gradient of a candidate function).

    Parameters
    ----------
    H : callable
        ``H(q, p)`` or ``H(q, p, t)`` returning shape ``(B,)``.
    charges : sequence
        Objects with ``name`` and ``fn`` (:class:`Charge`).
    q, p : Tensor
        Sample states, shape ``(B, *S)``; up to :data:`FD_STATES` are used.
    t : Tensor
        Times, shape ``(B,)``.

    Raises
    ------
    GradientMismatchError
        (a ``ValueError``) ``H`` varies along a charge's flow, or the charge
        along ``H``'s, by more than the autodiff bracket says.
    """
    if not charges or q.dtype not in _FD:
        return
    idx = _subset(FD_STATES, q.shape[0], q.device)
    q, p, t = q[idx].detach(), p[idx].detach(), t[idx].detach()
    ham = with_time(H, 2)
    h0, tol = _FD[q.dtype]
    eps = torch.finfo(q.dtype).eps
    Qs, Ps = _rms_size(q), _rms_size(p)
    grads = gradients(H, q, p, t, name)
    flow_h = (grads.dv.detach(), -grads.dq.detach())
    checks = []  # (what is varied, its values, flow, claim, label)
    for c in charges:
        value, pull = vjp(lambda a, b, c=c: c.fn(a, b), q, p)
        dq, dp = pull(torch.ones_like(value))
        claim = (dq * grads.dv - dp * grads.dq).reshape(len(q), -1).sum(1).detach()

        def charge_values(a: Tensor, b: Tensor, _t: Tensor, c=c) -> Tensor:
            return c.fn(a, b)

        what = f"the conserved charge {c.name!r} (the flow of {c.name})"
        checks.append((name, ham, (dp.detach(), -dq.detach()), -claim, what, name))
        label, what = (
            f"charge {c.name!r}",
            f"that charge {c.name!r} is conserved (the flow of {name})",
        )
        checks.append((label, charge_values, flow_h, claim, what, f"{c.name} (or of {name})"))
    with torch.no_grad():
        for h in (h0, h0 / 8.0):
            bad_any = False
            scales: dict[int, tuple[float, float]] = {}
            for label, f, (a, b), claim, what, other in checks:
                if id(f) not in scales:
                    scales[id(f)] = _variation_scale(f, q, p, t, Qs, Ps, h, seed)
                scale, fmax = scales[id(f)]
                n = ((_flat_norm(a) / Qs) ** 2 + (_flat_norm(b) / Ps) ** 2).sqrt()
                keep = n > 0
                if not bool(keep.any()):
                    continue
                s = torch.where(keep, 1.0 / n.clamp_min(1e-300), 0.0)
                sx = s.reshape((-1,) + (1,) * (q.dim() - 1))

                def along(step: float, f=f, a=a, b=b, sx=sx) -> Tensor:
                    plus = f(q + step * sx * a, p + step * sx * b, t)
                    minus = f(q - step * sx * a, p - step * sx * b, t)
                    return (plus - minus) / (2.0 * step)

                r_fd = _richardson(along, h)[keep]
                r_ad = (claim * s)[keep]
                fd_rel, ad_rel, bad = _refuted(r_fd, r_ad, scale, fmax, h, tol, eps)
                if bad and h < h0:
                    raise _fail(label, what, fd_rel, ad_rel, other)
                if bad:
                    bad_any = True
                    break
            if not bad_any:
                return
