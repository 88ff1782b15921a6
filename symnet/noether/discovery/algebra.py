"""The Lie algebra spanned by discovered symmetries: brackets and structure constants.

Vector fields (Lagrangian form): ``[X, Y](q) = DX(q) Y(q) - DY(q) X(q)``, the
sign that makes the bracket of linear fields ``X = A q``, ``Y = B q`` the
matrix commutator ``[A, B] q`` (and of affine fields the commutator of the
matrices ``[[A, b], [0, 0]]``): with it so(3) reads ``[rotation_x,
rotation_y] = rotation_z``. Time shifts commute with time-independent fields.

Charges (Hamiltonian form): the Poisson bracket
``{F, G} = dF/dq . dG/dp - dF/dp . dG/dq``.

Brackets are evaluated at sample states and expanded in the span of the
generators (charges, plus constants) by least squares; what does not lie in
the span is reported as the closure residual instead of being hidden.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.func import jvp, vjp

from symnet.groups import Generator

__all__ = ["LieAlgebra", "vector_field_algebra", "poisson_algebra"]

_ZERO = 1e-9  # brackets and coefficients below this (relative) count as zero
_MAX_LINES = 30


@dataclass
class LieAlgebra:
    """Structure of the span of discovered generators (or charges).

    Attributes
    ----------
    names : list of str
        Basis, in the order of the discovery.
    structure_constants : Tensor
        ``C[i, j, k]`` with ``[X_i, X_j] = sum_k C[i, j, k] X_k``, shape ``(n, n, n)``.
    residual : Tensor
        Relative part of each bracket outside the span, shape ``(n, n)``
        (0 when the span closes under the bracket).
    constants : Tensor or None
        For Poisson brackets: the constant term of each bracket, shape ``(n, n)``.
    bracket : str
        ``"[X, Y]"`` (vector fields) or ``"{F, G}"`` (Poisson).
    """

    names: list[str]
    structure_constants: Tensor
    residual: Tensor
    constants: Tensor | None = None
    bracket: str = "[X, Y]"

    @property
    def dimension(self) -> int:
        """Number of basis elements."""
        return len(self.names)

    @property
    def closes(self) -> bool:
        """Whether every bracket lies in the span (relative residual below 1e-6)."""
        return bool((self.residual <= 1e-6).all()) if self.dimension else True

    @property
    def is_abelian(self) -> bool:
        """Whether all brackets vanish."""
        n = self.dimension
        C = self.structure_constants
        big = C.abs().amax(dim=-1) > _ZERO if n else C.new_zeros(0, dtype=torch.bool)
        return not bool(big.any()) and self.closes

    def lines(self) -> list[str]:
        """The nonzero brackets, one per line."""
        n, out = self.dimension, []
        left, right = ("[", "]") if self.bracket == "[X, Y]" else ("{", "}")
        for i in range(n):
            for j in range(i + 1, n):
                terms = _terms(self.structure_constants[i, j], self.names)
                if self.constants is not None and abs(float(self.constants[i, j])) > _ZERO:
                    terms.append(f"{float(self.constants[i, j]):+.4g}")
                res = float(self.residual[i, j])
                if not terms and res <= 1e-6:
                    continue
                rhs = " ".join(terms).lstrip("+ ") if terms else "0"
                if rhs.startswith("- "):
                    rhs = "-" + rhs[2:]
                text = f"{left}{self.names[i]}, {self.names[j]}{right} = "
                if res > 1e-3:
                    text += f"(not in the span; relative residual {res:.1e})"
                elif res > 1e-6:
                    text += f"{rhs}  (+ a part outside the span: relative residual {res:.1e})"
                else:
                    text += rhs
                out.append(text)
        return out

    def __str__(self) -> str:
        head = f"Lie algebra of dimension {self.dimension}"
        if self.dimension == 0:
            return head
        body = self.lines()
        if len(body) > _MAX_LINES:
            body = [*body[:_MAX_LINES], f"... and {len(body) - _MAX_LINES} more brackets"]
        if self.is_abelian:
            return head + ": abelian (all brackets vanish)"
        tail = "" if self.closes else " (does not close in the span; see residuals)"
        return "\n".join([head + tail + ":", *("  " + b for b in body)])


def _terms(coeffs: Tensor, names: Sequence[str]) -> list[str]:
    out = []
    for c, name in zip(coeffs.tolist(), names, strict=True):
        if abs(c) <= _ZERO:
            continue
        sign = "-" if c < 0 else "+"
        mag = abs(c)
        text = name if abs(mag - 1.0) <= 1e-9 else f"{mag:.4g} {name}"
        out.append(f"{sign} {text}")
    return out


def _expand(target: Tensor, basis: Tensor, scale: Tensor) -> tuple[Tensor, float]:
    """Least-squares coefficients of ``target`` (shape ``(P,)``) on ``basis`` (``(P, n)``)."""
    if basis.shape[1] == 0:
        coef = basis.new_zeros(0)
    else:
        coef = torch.linalg.lstsq(basis, target[:, None], driver="gelsd").solution[:, 0]
    res = target - basis @ coef
    denom = float(scale)
    rel = float(res.norm()) / denom if denom > 0 else 0.0
    return coef, rel


def vector_field_algebra(gens: Sequence[Generator], q: Tensor) -> LieAlgebra:
    """Brackets of affine or custom vector fields, evaluated at configurations ``q`` (``(B, *S)``).

    Time components enter as one more coordinate (a time shift has ``xi = 0``
    and ``tau = 1``); the brackets of time-independent fields have none.
    """
    n = len(gens)
    if n == 0:
        return LieAlgebra([], q.new_zeros(0, 0, 0), q.new_zeros(0, 0))
    t = q.new_zeros(q.shape[0])
    vals = [g.xi(q, t).reshape(-1) for g in gens]
    weight = max(float(torch.stack(vals).norm()) if vals else 1.0, 1.0)
    taus = [q.new_full((1,), g.tau * weight) for g in gens]
    basis = torch.stack([torch.cat([v, tv]) for v, tv in zip(vals, taus, strict=True)], dim=1)
    C = q.new_zeros(n, n, n)
    R = q.new_zeros(n, n)
    for i in range(n):
        for j in range(i + 1, n):
            Xi, Xj = vals[i].reshape(q.shape), vals[j].reshape(q.shape)
            a = jvp(lambda x, g=gens[i]: g.xi(x, t), (q,), (Xj,))[1].reshape(-1)
            b = jvp(lambda x, g=gens[j]: g.xi(x, t), (q,), (Xi,))[1].reshape(-1)
            target = torch.cat([a - b, a.new_zeros(1)])
            scale = a.norm() + b.norm()
            if float(scale) == 0.0:
                continue
            coef, rel = _expand(target, basis, scale)
            coef = torch.where(coef.abs() > _ZERO * float(coef.abs().max()), coef, 0.0)
            C[i, j], C[j, i] = coef, -coef
            R[i, j] = R[j, i] = rel
    return LieAlgebra([g.name for g in gens], C, R)


def poisson_algebra(
    names: Sequence[str],
    charges: Sequence[Callable[[Tensor, Tensor], Tensor]],
    q: Tensor,
    p: Tensor,
) -> LieAlgebra:
    """Poisson brackets of charges ``Q(q, p) -> (B,)`` at states ``(q, p)``, shape ``(B, *S)``.

    Each bracket is expanded on the charges and the constant function.
    """
    n = len(charges)
    if n == 0:
        return LieAlgebra([], q.new_zeros(0, 0, 0), q.new_zeros(0, 0), q.new_zeros(0, 0), "{F, G}")
    values, grads = [], []
    for fn in charges:
        val, pull = vjp(fn, q, p)
        values.append(val)
        grads.append(pull(torch.ones_like(val)))
    B = q.shape[0]
    basis = torch.stack([*values, q.new_ones(B)], dim=1)
    C = q.new_zeros(n, n, n)
    K = q.new_zeros(n, n)
    R = q.new_zeros(n, n)
    for i in range(n):
        for j in range(i + 1, n):
            a = (grads[i][0] * grads[j][1]).reshape(B, -1).sum(1)
            b = (grads[i][1] * grads[j][0]).reshape(B, -1).sum(1)
            scale = (a.abs() + b.abs()).norm()
            if float(scale) == 0.0:
                continue
            target = a - b
            if float(target.norm()) <= _ZERO * float(scale):
                continue
            coef, rel = _expand(target, basis, scale)
            big = coef.abs() > _ZERO * max(float(coef.abs().max()), 1e-300)
            coef = torch.where(big, coef, 0.0)
            C[i, j], C[j, i] = coef[:n], -coef[:n]
            K[i, j], K[j, i] = coef[n], -coef[n]
            R[i, j] = R[j, i] = rel
    return LieAlgebra(list(names), C, R, K, bracket="{F, G}")
