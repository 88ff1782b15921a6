"""Naming discovered charges: point charges, templates (Runge-Lenz, Fradkin, H), the rest.

The nullspace of the bracket matrix is a space of functions. It is compared
with template spaces through principal angles between subspaces of function
values at the sample states (a cosine of 1 means the template space holds a
conserved combination): first the point-symmetry charges ``p . (A q + b)``
(named by the generator's canonical form, as in :func:`discover`), then the
Runge-Lenz and Fradkin components and ``H``; what remains is ``charge_k`` in
reduced row echelon form over the candidate functions.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import torch
from torch import Tensor

from symnet.groups import Generator
from symnet.noether.discovery.candidates import Layout
from symnet.noether.discovery.linalg import Spectrum, rref
from symnet.noether.discovery.naming import name_rows
from symnet.noether.discovery.phase_space import (
    Basis,
    Charge,
    affine_basis,
    charge_bracket,
    formula,
    templates,
)

__all__ = ["name_charges"]


def _orth(X: Tensor, rtol: float = 1e-10) -> Tensor:
    """Orthonormal basis of the column space of ``X`` (shape ``(S, j)``)."""
    if X.shape[1] == 0:
        return X
    U, s, _ = torch.linalg.svd(X, full_matrices=False)
    return U[:, : int((s > rtol * max(float(s[0]), 1e-300)).sum())]


def _remainder(Qn: Tensor, accepted: list[Tensor]) -> Tensor:
    """Orthonormal basis of ``span(Qn)`` minus the accepted directions (all ``(S, .)``)."""
    if not accepted:
        return Qn
    A = _orth(torch.stack(accepted, dim=1))
    R = Qn - A @ (A.T @ Qn)
    keep = Qn.shape[1] - A.shape[1]
    if keep <= 0:
        return Qn[:, :0]
    U, _, _ = torch.linalg.svd(R, full_matrices=False)
    return U[:, :keep]


def _intersect(Qn: Tensor, T: Tensor, tol: float) -> tuple[Tensor, Tensor]:
    """Directions of ``span(Qn)`` inside ``span(T)``: ``(S, j)`` vectors and their ``1 - cos``."""
    if Qn.shape[1] == 0:
        return Qn, Qn.new_zeros(0)
    Qt = _orth(T / T.norm(dim=0).clamp_min(1e-300))
    if Qt.shape[1] == 0:
        return Qn[:, :0], Qn.new_zeros(0)
    Uc, cos, _ = torch.linalg.svd(Qn.T @ Qt, full_matrices=False)
    good = (1.0 - cos) <= tol
    return Qn @ Uc[:, : len(cos)][:, good], (1.0 - cos)[good]


def _new_direction(vecs: Tensor, accepted: list[Tensor], tol: float = 1e-6) -> int | None:
    """Index of the first column of ``vecs`` not in the span of ``accepted`` (or None)."""
    if vecs.shape[1] == 0:
        return None
    if not accepted:
        return 0
    A = _orth(torch.stack(accepted, dim=1))
    for j in range(vecs.shape[1]):
        v = vecs[:, j]
        if float((v - A @ (A.T @ v)).norm()) > tol * float(v.norm()):
            return j
    return None


def _point_fn(gen: Generator) -> Callable[[Tensor, Tensor], Tensor]:
    def charge_fn(q: Tensor, p: Tensor) -> Tensor:
        return (p * gen.xi(q)).reshape(q.shape[0], -1).sum(1)

    return charge_fn


def _point_charges(
    Qn: Tensor, q: Tensor, p: Tensor, tol: float, noise: float
) -> list[tuple[Charge, float]]:
    shape = tuple(q.shape[1:])
    aff = affine_basis(shape)
    Av = aff.fn(q, p)
    vecs, dev = _intersect(Qn, Av, tol)
    if vecs.shape[1] == 0:
        return []
    coef = torch.linalg.lstsq(Av, vecs, driver="gelsd").solution  # (na, j)
    d = shape[-1]
    ell = float(q.reshape(q.shape[0], -1, d).pow(2).sum(-1).mean().sqrt()) or 1.0
    s = torch.tensor([1.0] * (d * d) + [ell] * d, dtype=q.dtype, device=q.device)
    layout = Layout(shape, 0, False, True)
    unit = coef.T / s
    unit = unit / unit.norm(dim=1, keepdim=True)
    rows = rref(unit, layout.order(), tol=min(max(10 * noise, 1e-8), 0.3))
    big = rows.abs().amax(dim=1, keepdim=True)
    rows = torch.where(rows.abs() <= min(10 * noise, 1e-6) * big, 0.0, rows)
    named = name_rows(layout, rows * s, [], ell, 1.0, tol=min(max(10 * noise, 1e-6), 0.2))
    out = []
    for item, dv in zip(named, dev.tolist(), strict=False):
        gen = item.generator
        c = Charge(gen.charge_label, _point_fn(gen), f"p . xi[{gen.name}]", generator=gen)
        out.append((c, max(item.deviation, dv)))
    return out


def _product_fn(f: Callable, g: Callable) -> Callable[[Tensor, Tensor], Tensor]:
    def charge_fn(q: Tensor, p: Tensor) -> Tensor:
        return f(q, p) * g(q, p)

    return charge_fn


def _independent(F: Tensor, order: list[int], rtol: float = 1e-8) -> list[int]:
    """Greedy maximal set of linearly independent columns of ``F`` (``(S, K)``), in ``order``."""
    chosen: list[int] = []
    Q = F.new_zeros(F.shape[0], 0)
    for k in order:
        v = F[:, k]
        nv = float(v.norm())
        if nv == 0.0:
            continue
        r = v - Q @ (Q.T @ v)
        r = r - Q @ (Q.T @ r)
        if float(r.norm()) > rtol * nv:
            chosen.append(k)
            Q = torch.cat([Q, (r / r.norm())[:, None]], dim=1)
    return chosen


def _template_fn(fn: Callable, alpha: Tensor) -> Callable[[Tensor, Tensor], Tensor]:
    def charge_fn(q: Tensor, p: Tensor) -> Tensor:
        return fn(q, p) @ alpha.to(q)

    return charge_fn


def _basis_fn(basis: Basis, idx: list[int], c: Tensor) -> Callable[[Tensor, Tensor], Tensor]:
    def charge_fn(q: Tensor, p: Tensor) -> Tensor:
        return basis.fn(q, p)[:, idx] @ c.to(q)

    return charge_fn


def name_charges(
    *,
    spec: Spectrum,
    U: Tensor,
    W: Tensor,
    s: Tensor,
    basis: Basis,
    q: Tensor,
    p: Tensor,
    H: Callable[[Tensor, Tensor], Tensor],
    Mw: Tensor,
    noise: float,
    grads: tuple[Tensor, Tensor],
) -> list[Charge]:
    """Named charges spanning the nullspace ``spec.null_basis`` (whitened coordinates).

    Parameters
    ----------
    spec : Spectrum
        Of the whitened bracket matrix ``Mw`` (shape ``(S, r)``).
    U : Tensor
        Shape ``(S, r)``: orthonormal function values (divided by ``sqrt(S)``)
        of the whitened coordinates.
    W : Tensor
        Shape ``(K, r)``: whitened coordinates to unit-rms basis coefficients.
    s : Tensor
        Shape ``(K,)``: unit-rms to physical basis coefficients (``1 / rms``).
    basis : Basis
    q, p : Tensor
        The sample states, shape ``(S, *S)``.
    H : callable
        ``H(q, p) -> (B,)``.
    Mw : Tensor
        The normalized bracket matrix in whitened coordinates, ``(S, r)``.
    noise : float
        Expected noise of the nullspace directions (from the gap).
    grads : tuple of Tensor
        ``(dH/dq, dH/dp)`` at the samples.
    """
    if spec.n_null == 0:
        return []
    S = q.shape[0]
    tol = min(max(1e-8, 10 * noise * noise), 0.05)  # on 1 - cos(angle) ~ angle^2 / 2
    Qn = U @ spec.null_basis.T  # (S, k), orthonormal
    found: list[tuple[Charge, float]] = []
    accepted: list[Tensor] = []

    def accept(c: Charge, dev: float) -> None:
        v = c.fn(q, p).detach()
        accepted.append(v / v.norm().clamp_min(1e-300))
        found.append((c, dev))

    for c, dev in _point_charges(Qn, q, p, tol, noise):
        accept(c, dev)
    point = [c for c, _ in found]
    for i, j in itertools.combinations_with_replacement(range(len(point)), 2):
        a, b = point[i], point[j]
        fn = _product_fn(a.fn, b.fn)
        vecs, dev = _intersect(Qn, fn(q, p).detach()[:, None], tol)
        if _new_direction(vecs, accepted) is None:
            continue
        name = f"{a.name}^2" if i == j else f"{a.name}*{b.name}"
        accept(Charge(name, fn, f"({a.name}) ({b.name})"), float(dev[0]))
    for name, terms, fn in templates(tuple(q.shape[1:]), H):
        Tv = fn(q, p).detach()
        vecs, dev = _intersect(Qn, Tv, tol)
        j = _new_direction(vecs, accepted)
        if j is None:
            continue
        alpha = torch.linalg.lstsq(Tv, vecs[:, j : j + 1], driver="gelsd").solution[:, 0]
        lead = (
            0
            if abs(float(alpha[0])) > 1e-8 * float(alpha.abs().max())
            else int(alpha.abs().argmax())
        )
        alpha = alpha / alpha[lead]
        alpha = torch.where(alpha.abs() <= 1e-12, 0.0, alpha)
        accept(Charge(name, _template_fn(fn, alpha), formula(alpha.tolist(), terms)), float(dev[j]))
    rem = _remainder(Qn, accepted)
    if rem.shape[1]:
        # generic charges over independent candidate functions, monomials before affine ones
        F = basis.fn(q, p).detach() * s
        fam = basis.families or []
        order = [k for k in range(basis.size) if fam[k] != "affine"]
        order += [k for k in range(basis.size) if fam[k] == "affine"]
        idx = _independent(F, order)
        coef = torch.linalg.lstsq(F[:, idx], rem * math.sqrt(S), driver="gelsd").solution
        rows = rref(coef.T, list(range(len(idx))), tol=min(max(10 * noise, 1e-8), 0.3))
        for j, row in enumerate(rows):
            row = row / row.abs().max()
            row = torch.where(row.abs() <= min(10 * noise, 1e-9), 0.0, row)
            c = row * s[idx]
            names = [basis.names[k] for k in idx]
            fn = _basis_fn(basis, idx, c)
            accept(Charge(f"charge_{j + 1}", fn, formula(c.tolist(), names)), 0.0)
    top = float(spec.singular_values[0]) or 1.0
    dHdq, dHdp = grads
    out = []
    for c, dev in found:
        vals, rate, terms = charge_bracket(c.fn, q, p, dHdq, dHdp)
        w = U.T @ (vals.detach() / math.sqrt(S))
        wn = float(w.norm())
        c.relative_singular_value = (
            float((Mw @ w).norm()) / (math.sqrt(S) * wn * top) if wn > 0 else math.nan
        )
        scale = float(terms.pow(2).mean().sqrt())
        err = float(rate.pow(2).mean().sqrt())
        c.bracket_error = err / scale if scale > 0 else 0.0
        c.deviation = dev
        out.append(c)
    return out
