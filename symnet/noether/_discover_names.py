"""Canonical forms and names of affine generators: translations, rotations, screws, ...

Given one affine part ``(A, b, tau)`` of a nullspace vector, decide whether
it is a translation (``A = 0``), a time shift, a rotation (``A``
antisymmetric; in 3D about an axis ``w``, possibly through a point or with a
pitch: a screw), a dilation (``A`` a multiple of the identity), and bring it
to a canonical normalization (unit axis, unit direction, ``tau = 1``). The
comparisons are relative, with a tolerance set by the noise of the nullspace.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from symnet.groups import Group, Rotation, TimeShift, Translation
from symnet.groups.translation import axis_names
from symnet.noether._discover_linalg import fmt_vector

if TYPE_CHECKING:
    from symnet.noether._discover_affine import Layout

__all__ = ["category", "classify"]

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
    if float((A - trace * torch.eye(d, dtype=A.dtype)).norm()) <= tol * nA:
        dev = float((A - trace * torch.eye(d, dtype=A.dtype)).norm()) / nA
        eye, c = torch.eye(d, dtype=A.dtype), -b / trace
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
        J = torch.tensor([[0.0, 1.0], [-1.0, 0.0]], dtype=b.dtype)  # c = J^-1 (-b) = J b
        c = -(J @ b)
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
