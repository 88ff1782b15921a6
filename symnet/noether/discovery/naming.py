"""Canonical forms and names of affine generators: translations, rotations, screws, ...

:func:`name_rows` turns the canonical nullspace rows of the affine family
(:mod:`~symnet.noether.discovery.candidates`) into named generators.

Given one affine part ``(A, b, tau)`` of a nullspace vector, decide whether
it is a translation (``A = 0``), a time shift, a rotation (``A``
antisymmetric; in 3D about an axis ``w``, possibly through a point or with a
pitch: a screw), a dilation (``A`` a multiple of the identity), and bring it
to a canonical normalization (unit axis, unit direction, ``tau = 1``). The
comparisons are relative, with a tolerance set by the noise of the nullspace.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from symnet.groups import Generator, Group, Rotation, TimeShift, Translation
from symnet.groups.utils import axis_names
from symnet.noether.discovery.candidates import Layout, apply_affine
from symnet.noether.discovery.linalg import fmt_vector

__all__ = ["Named", "category", "classify", "name_rows"]

_CATEGORIES = ("translation", "shift", "rotation", "screw", "dilation", "time")


def category(name: str) -> int:
    """Sort key of a generator name: translations, rotations, screws, dilations, time, others."""
    for i, prefix in enumerate(_CATEGORIES):
        if name.startswith(prefix):
            return i
    return len(_CATEGORIES) + int(name.startswith("symmetry_"))


def _axis_name(u: Tensor, tol: float, prefix: str, names: list[str]) -> str | None:
    i = int(u.abs().argmax())
    if abs(float(u[i])) >= 1.0 - tol and float(u.abs().sum() - u[i].abs()) <= tol:
        return names[i]
    return None


def classify(
    layout: Layout, A: Tensor, b: Tensor, tau: float, ell: float, T: float, tol: float
) -> tuple[str | None, Tensor, Tensor, float, Group | None, float]:
    """Name and canonical ``(A, b, tau)`` of one common affine part; ``None`` if generic."""
    d = layout.d
    nA, nb, nt = float(A.norm()), float(b.norm()) / ell, abs(tau) / T
    total = math.sqrt(nA * nA + nb * nb + nt * nt)
    small = tol * total
    zero_A, zero_b = torch.zeros_like(A), torch.zeros_like(b)
    if nA <= small and nt <= small:  # translation / shift
        u = b / b.norm()
        u = u * (1.0 if float(u[int(u.abs().argmax())]) > 0 else -1.0)
        dev = (nA + nt) / total
        if layout.particles:
            nm = _axis_name(u, tol, "translation", axis_names("translation", d))
            group = Translation(d) if nm is not None else None
            return nm or f"translation_along{fmt_vector(u)}", zero_A, u, 0.0, group, dev
        nm = _axis_name(u, tol, "shift", [f"shift_{i}" for i in range(d)])
        u = u / u.abs().max()
        return nm or f"shift{fmt_vector(u)}", zero_A, u, 0.0, None, dev
    if nA <= small and nb <= small:  # time shift
        return "time", zero_A, zero_b, 1.0, TimeShift(), (nA + nb) / total
    if nt > small:
        return None, A, b, tau, None, 0.0
    sym, skew = 0.5 * (A + A.T), 0.5 * (A - A.T)
    if float(sym.norm()) <= tol * nA:
        return _rotation(layout, skew, b, ell, tol, (float(sym.norm()) + nt) / total)
    trace = float(torch.trace(A)) / d
    eye = torch.eye(d, dtype=A.dtype, device=A.device)
    if float((A - trace * eye).norm()) <= tol * nA:
        dev = float((A - trace * eye).norm()) / nA
        c = -b / trace
        name = "dilation" if float(c.norm()) <= tol * ell else f"dilation(center={fmt_vector(c)})"
        return name, eye, -c, 0.0, None, dev
    return None, A, b, tau, None, 0.0


def _rotation(
    layout: Layout, skew: Tensor, b: Tensor, ell: float, tol: float, dev: float
) -> tuple[str | None, Tensor, Tensor, float, Group | None, float]:
    d = layout.d
    if not layout.particles or d > 3:
        i, j = divmod(int(skew.abs().argmax()), d)
        i, j = min(i, j), max(i, j)
        plane = torch.zeros_like(skew)
        plane[j, i], plane[i, j] = 1.0, -1.0
        s = float(skew[j, i])
        if (
            float((skew - s * plane).norm()) > tol * float(skew.norm())
            or float(b.norm()) > tol * ell
        ):
            return None, skew, b, 0.0, None, 0.0
        if layout.particles:
            return f"rotation_{i}{j}", plane, 0 * b, 0.0, Rotation(d), dev
        return f"rotation_q{i}q{j}", plane, 0 * b, 0.0, None, dev
    if d == 2:
        theta = float(skew[1, 0])
        A, b = skew / theta, b / theta
        J = torch.tensor([[0.0, 1.0], [-1.0, 0.0]], dtype=b.dtype, device=b.device)
        c = -(J @ b)  # c = J^-1 (-b) = J b
        if float(c.norm()) <= tol * ell:
            return "rotation", A, 0 * b, 0.0, Rotation(2), dev
        return f"rotation(center={fmt_vector(c)})", A, b, 0.0, None, dev
    w = torch.stack([skew[2, 1], skew[0, 2], skew[1, 0]])
    nw = w.norm()
    first = next(i for i in range(3) if abs(float(w[i])) > tol * float(nw))
    sign = 1.0 if float(w[first]) > 0 else -1.0
    w, A, b = w * sign / nw, skew * sign / nw, b * sign / nw
    pitch = float(w @ b)
    b_perp = b - pitch * w
    point = torch.linalg.cross(w, b_perp)
    axis = _axis_name(w, tol, "rotation", ["rotation_x", "rotation_y", "rotation_z"])
    rot = axis or f"rotation_about{fmt_vector(w)}"
    through = float(b_perp.norm()) > tol * ell
    if abs(pitch) > tol * ell:
        name = f"screw(axis={fmt_vector(w)}, pitch={pitch:.4g})"
        if through:
            name = name[:-1] + f", through={fmt_vector(point)})"
        return name, A, b, 0.0, None, dev
    if through:
        return f"{rot}(through={fmt_vector(point)})", A, b_perp, 0.0, None, dev
    return rot, A, 0 * b, 0.0, (Rotation(3) if axis else None), dev


@dataclass
class Named:
    """A canonical generator: its name, the object, and how far it was from the ideal form.

    Attributes
    ----------
    generator : Generator
    coefficients : Tensor
        The generator's coefficient vector (physical units), shape ``(m,)``.
    deviation : float
        Relative size of the parts dropped when the numerical nullspace
        vector was given its canonical form (0 for exact symmetries).
    """

    generator: Generator
    coefficients: Tensor
    deviation: float


def _affine_xi(A: Tensor, b: Tensor, d: int) -> Callable[[Tensor], Tensor]:
    """``xi(q) = A_i q_i + b_i`` per particle (blocks of 1 apply to every particle)."""

    def xi(q: Tensor) -> Tensor:
        q3 = q.reshape(q.shape[0], -1, d)
        return apply_affine(A.to(q), b.to(q), q3, True).reshape(q.shape)

    return xi


def _combine(
    layout: Layout,
    customs: list[Generator],
    cust: Tensor,
    tau: float,
    A: Tensor,
    b: Tensor,
    name: str,
) -> Generator:
    """A generator ``sum_k c_k X_k + tau d/dt + (A q + b)`` (custom parts with their boundaries)."""
    used = [(float(c), g) for c, g in zip(cust.tolist(), customs, strict=True) if c != 0.0]
    affine = layout.affine and bool((A != 0).any() or (b != 0).any())
    aff = _affine_xi(A, b, layout.d) if affine else None

    def xi(q: Tensor, t: Tensor) -> Tensor:
        out = torch.zeros_like(q) if aff is None else aff(q)
        for c, g in used:
            out = out + c * g.xi(q, t)
        return out

    tau_total = tau + sum(c * g.tau for c, g in used)
    bounded = [(c, g) for c, g in used if g.has_boundary]
    boundary = None
    if bounded:

        def boundary(q: Tensor, t: Tensor) -> Tensor:
            return sum(c * g.boundary(q, t) for c, g in bounded)

    return Generator(name, xi, tau=tau_total, boundary=boundary)


def name_rows(
    layout: Layout,
    rows: Tensor,
    customs: list[Generator],
    ell: float,
    T: float,
    tol: float,
) -> list[Named]:
    """Canonical, named generators from RREF rows (physical coefficients), shape ``(k, m)``."""
    out: list[Named] = []
    generic = 0
    for row in rows:
        cust, tau, A, b = layout.split(row)
        nonzero_c = [i for i, c in enumerate(cust.tolist()) if c != 0.0]
        affine_zero = not layout.affine or float(A.norm() + b.norm() / ell) == 0.0
        name, group, dev, coeffs = None, None, 0.0, row.clone()
        if len(nonzero_c) == 1 and affine_zero and tau == 0.0:
            i = nonzero_c[0]
            coeffs = row / row[i]
            out.append(Named(customs[i], coeffs, 0.0))
            continue
        # an affine part (and time)
        common = None
        if not nonzero_c and layout.affine:
            same = float((A - A[:1]).norm() + (b - b[:1]).norm() / ell) <= tol * float(
                A.norm() + b.norm() / ell + abs(tau) / T
            )
            live = [i for i in range(layout.blocks) if float(A[i].norm() + b[i].norm()) > 0]
            if same:
                common = (None, A[0], b[0])
            elif len(live) == 1 and tau == 0.0:
                common = (live[0], A[live[0]], b[live[0]])
        elif not nonzero_c and not layout.affine and tau != 0.0:
            name, group = "time", TimeShift()
            coeffs, tau = row / tau, 1.0
        if common is not None:
            which, A0, b0 = common
            name, A1, b1, tau1, group, dev = classify(layout, A0, b0, tau, ell, T, tol)
            if name is not None:
                A = torch.zeros_like(A) if which is not None else A1.expand_as(A).clone()
                b = torch.zeros_like(b) if which is not None else b1.expand_as(b).clone()
                if which is not None:
                    A[which], b[which] = A1, b1
                    name, group = f"{name}[particle {which}]", None
                tau = tau1
                coeffs = _pack(layout, cust * 0, tau, A, b)
        if name is None:
            generic += 1
            name = f"symmetry_{generic}"
            coeffs = row / float(row[int(row.abs().argmax())])
            cust, tau, A, b = layout.split(coeffs)
        if layout.affine and common is not None and common[0] is None and not nonzero_c:
            gen = Generator.linear(name, A[0], b[0] if bool((b[0] != 0).any()) else None, tau=tau)
        else:
            gen = _combine(layout, customs, cust, tau, A, b, name)
        gen.group = group
        out.append(Named(gen, coeffs, dev))
    return sorted(out, key=lambda item: category(item.generator.name))


def _pack(layout: Layout, cust: Tensor, tau: float, A: Tensor, b: Tensor) -> Tensor:
    """Inverse of :meth:`Layout.split`."""
    parts = [cust]
    if layout.time:
        parts.append(torch.tensor([tau], dtype=cust.dtype, device=cust.device))
    if layout.affine:
        coords = torch.einsum("nij,kij->nk", A, layout.basis.to(A))
        parts += [coords.reshape(-1), b.reshape(-1)]
    return torch.cat(parts)
