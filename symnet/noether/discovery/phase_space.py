"""Candidate charges for Hamiltonian discovery: basis families, templates, :class:`Charge`.

A charge ``Q(q, p) = sum_k c_k f_k(q, p)`` is conserved under an autonomous
flow iff ``{Q, H} = 0``; the bracket is linear in ``c``. Families of basis
functions ``f_k`` (for ``S = (N, d)``; ``z`` is ``(q, p)`` flattened):

- ``"affine"``: point-symmetry charges ``sum_i p_i . (E q_i)`` for an
  orthonormal basis ``E`` of gl(d), and ``sum_i p_i`` (momenta);
- ``"linear"``, ``"quadratic"``, ``"cubic"``: the monomials of ``z`` of that
  degree (``"quadratic"`` holds the Fradkin tensor of the isotropic
  oscillator, ``"cubic"`` the polynomial part of the Runge-Lenz vector);
- ``"radial"``: the unit vectors ``q_i / |q_i|`` (with ``"cubic"``: the
  Runge-Lenz vector ``A = p x L - m k x / |x|`` of the Kepler problem).

Found charges are named by matching the nullspace against templates: point
charges (momenta ``P_x``, angular momenta ``L_z``, ...), Runge-Lenz
components, Fradkin tensor components and ``H`` itself; the rest are
``charge_k``.

References
----------
D. M. Fradkin, "Existence of the dynamic symmetries O4 and SU3 for all
classical central potential problems", Prog. Theor. Phys. 37, 798 (1967).
H. Goldstein, C. Poole, J. Safko, *Classical Mechanics*, 3rd ed. (2002), 3.9.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.func import jvp, vjp

from symnet.groups import Generator
from symnet.noether.discovery.candidates import gl_basis

__all__ = [
    "Charge",
    "Basis",
    "FAMILIES",
    "build_basis",
    "affine_basis",
    "templates",
    "bracket_terms",
    "charge_bracket",
    "formula",
]

FAMILIES = ("affine", "linear", "quadratic", "cubic", "radial")


class Charge:
    """A discovered conserved quantity ``Q(q, p)``.

    Parameters
    ----------
    name : str
        ``P_x``, ``L_z``, ``runge_lenz_x``, ``fradkin_xy``, ``H`` or ``charge_k``.
    fn : callable
        ``fn(q, p) -> Tensor`` of shape ``(B,)`` for ``q, p`` of shape ``(B, *S)``.
    formula : str
        Readable expression.
    generator : Generator, optional
        For point symmetries (``Q = p . xi(q)``): the generator ``xi``.

    Attributes
    ----------
    relative_singular_value : float
        ``|{Q, H}|`` over the sample states relative to the largest singular
        value of the discovery (the Rayleigh quotient of the charge's coefficients).
    bracket_error : float
        ``rms {Q, H} / rms(|dQ/dq . dH/dp| + |dQ/dp . dH/dq|)`` at the sample
        states: the relative Poisson bracket, 0 for an exact charge.
    deviation : float
        How far the numerical nullspace direction was from the named form.
    """

    def __init__(
        self,
        name: str,
        fn: Callable[[Tensor, Tensor], Tensor],
        formula: str,
        generator: Generator | None = None,
    ) -> None:
        self.name = name
        self.fn = fn
        self.formula = formula
        self.generator = generator
        self.relative_singular_value = math.nan
        self.bracket_error = math.nan
        self.deviation = 0.0

    def __call__(self, q: Tensor, p: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``Q(q, p)``, shape ``(B,)``; ``t`` is accepted and ignored (autonomous charges)."""
        return self.fn(q, p)

    def __repr__(self) -> str:
        return f"Charge({self.name!r}: {self.formula})"


@dataclass
class Basis:
    """Candidate functions ``F(q, p) -> (B, K)`` with names ``(K,)``."""

    fn: Callable[[Tensor, Tensor], Tensor]
    names: list[str]
    families: list[str] | None = None

    def __post_init__(self) -> None:
        if self.families is None:
            self.families = ["custom"] * len(self.names)

    @property
    def size(self) -> int:
        """``K``."""
        return len(self.names)


def _var_names(shape: tuple[int, ...]) -> tuple[list[str], list[str]]:
    if len(shape) == 2 and shape[1] <= 3:
        N, d = shape
        axes = "xyz"[:d]
        if N == 1:
            return list(axes), [f"p_{a}" for a in axes]
        return (
            [f"{a}{i + 1}" for i in range(N) for a in axes],
            [f"p_{a}{i + 1}" for i in range(N) for a in axes],
        )
    n = math.prod(shape)
    return [f"q{i}" for i in range(n)], [f"p{i}" for i in range(n)]


def _monomial_name(idx: Sequence[int], names: list[str]) -> str:
    parts = []
    for j in sorted(set(idx)):
        e = list(idx).count(j)
        parts.append(names[j] if e == 1 else f"{names[j]}^{e}")
    return "*".join(parts)


def _flat(q: Tensor, p: Tensor) -> Tensor:
    return torch.cat([q.reshape(q.shape[0], -1), p.reshape(p.shape[0], -1)], dim=1)


def _affine(shape: tuple[int, ...]) -> Basis:
    d = shape[-1]
    E, kinds = gl_basis(d)
    names = [f"p.(E{k}_{kinds[k]} q)" for k in range(d * d)]
    names += [f"P{k}" for k in range(d)]

    def fn(q: Tensor, p: Tensor) -> Tensor:
        B = q.shape[0]
        q3, p3 = q.reshape(B, -1, d), p.reshape(B, -1, d)
        J = torch.einsum("sia,kab,sib->sk", p3, E.to(q), q3)
        return torch.cat([J, p3.sum(1)], dim=1)

    return Basis(fn, names, ["affine"] * len(names))


def _monomials(shape: tuple[int, ...], degree: int) -> Basis:
    qn, pn = _var_names(shape)
    names_all = qn + pn
    D = len(names_all)
    combos = list(itertools.combinations_with_replacement(range(D), degree))
    idx = torch.tensor(combos, dtype=torch.long)

    def fn(q: Tensor, p: Tensor) -> Tensor:
        z = _flat(q, p)
        return z[:, idx.to(z.device)].prod(dim=-1)

    names = [_monomial_name(c, names_all) for c in combos]
    return Basis(fn, names, [FAMILIES[degree]] * len(names))


def _radial(shape: tuple[int, ...]) -> Basis:
    d = shape[-1]
    qn, _ = _var_names(shape)
    if len(shape) == 2:
        N = shape[0]
        names = [
            f"{qn[i * d + a]}/|q{'' if N == 1 else i + 1}|" for i in range(N) for a in range(d)
        ]
    else:
        names = [f"{n}/|q|" for n in qn]

    def fn(q: Tensor, p: Tensor) -> Tensor:
        B = q.shape[0]
        q3 = q.reshape(B, -1, d)
        return (q3 / q3.norm(dim=-1, keepdim=True)).reshape(B, -1)

    return Basis(fn, names, ["radial"] * len(names))


def _custom(item: object, k: int) -> Basis:
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
        name, f = item
    else:
        name, f = getattr(item, "__name__", f"f{k}"), item
        if name == "<lambda>":
            name = f"f{k}"
    if not callable(f):
        raise TypeError(
            f"candidate {k} must be a family name ({', '.join(FAMILIES)}), a callable "
            f"f(q, p) -> (B,) or a (name, callable) pair; got {type(item).__name__}"
        )

    def fn(q: Tensor, p: Tensor) -> Tensor:
        out = f(q, p)
        if not isinstance(out, Tensor) or out.shape != (q.shape[0],):
            got = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
            raise ValueError(f"candidate {name!r} must return shape ({q.shape[0]},), got {got}")
        return out[:, None]

    return Basis(fn, [name])


def build_basis(candidates: Sequence[object], shape: tuple[int, ...]) -> Basis:
    """Concatenate the candidate families and custom functions into one :class:`Basis`."""
    parts: list[Basis] = []
    for k, item in enumerate(candidates):
        if isinstance(item, str):
            if item not in FAMILIES:
                raise ValueError(
                    f"unknown candidate family {item!r}; expected one of {', '.join(FAMILIES)} "
                    "or callables f(q, p)"
                )
            if item == "affine":
                parts.append(_affine(shape))
            elif item == "radial":
                parts.append(_radial(shape))
            else:
                parts.append(_monomials(shape, FAMILIES.index(item)))
        else:
            parts.append(_custom(item, k))
    names = [n for b in parts for n in b.names]
    families = [f for b in parts for f in (b.families or [])]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"candidate families listed twice (duplicate functions {dup[:3]})")
    fns = [b.fn for b in parts]

    def fn(q: Tensor, p: Tensor) -> Tensor:
        return torch.cat([f(q, p) for f in fns], dim=1)

    return Basis(fn, names, families)


def affine_basis(shape: tuple[int, ...]) -> Basis:
    """The point-symmetry charges ``p . (A q + b)`` (the ``"affine"`` family)."""
    return _affine(shape)


def bracket_terms(
    fn: Callable[[Tensor, Tensor], Tensor], q: Tensor, p: Tensor, dHdq: Tensor, dHdp: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """Values, ``dF/dq . dH/dp`` and ``dF/dp . dH/dq`` of ``fn`` (any trailing shape)."""
    zq, zp = torch.zeros_like(q), torch.zeros_like(p)
    val, a = jvp(fn, (q, p), (dHdp, zp))
    _, b = jvp(fn, (q, p), (zq, dHdq))
    return val, a, b


def charge_bracket(
    fn: Callable[[Tensor, Tensor], Tensor], q: Tensor, p: Tensor, dHdq: Tensor, dHdp: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """``Q``, ``{Q, H}`` and the sum of absolute values of the bracket's terms, each ``(B,)``.

    Terms are elementwise: ``sum_j |dQ/dq_j dH/dp_j| + |dQ/dp_j dH/dq_j|``, so a
    bracket whose terms cancel identically (``{L_z, |p|^2}``) has a
    meaningful scale.
    """
    val, pull = vjp(fn, q, p)
    gq, gp = pull(torch.ones_like(val))
    B = q.shape[0]
    a, b = (gq * dHdp).reshape(B, -1), (gp * dHdq).reshape(B, -1)
    return val, a.sum(1) - b.sum(1), a.abs().sum(1) + b.abs().sum(1)


def templates(
    shape: tuple[int, ...], H: Callable[[Tensor, Tensor], Tensor]
) -> list[tuple[str, list[str], Callable[[Tensor, Tensor], Tensor]]]:
    """Named template spaces: ``(name, term names, F(q, p) -> (B, t))``, in matching order.

    Runge-Lenz components (one particle in 2 or 3 dimensions), Fradkin tensor
    components (one particle), then ``H``.
    """
    out: list[tuple[str, list[str], Callable[[Tensor, Tensor], Tensor]]] = []
    if len(shape) == 2 and shape[0] == 1 and shape[1] <= 3:
        d = shape[1]
        axes = "xyz"[:d]
        if d >= 2:
            for a in range(d):

                def rl(q: Tensor, p: Tensor, a: int = a) -> Tensor:
                    x, v = q[:, 0], p[:, 0]
                    cubic = x[:, a] * (v * v).sum(-1) - v[:, a] * (x * v).sum(-1)
                    return torch.stack([cubic, x[:, a] / x.norm(dim=-1)], dim=1)

                ax = axes[a]
                out.append((f"runge_lenz_{ax}", [f"({ax}|p|^2 - p_{ax} (x.p))", f"{ax}/|x|"], rl))
        for a in range(d):
            for b in range(a, d):

                def fr(q: Tensor, p: Tensor, a: int = a, b: int = b) -> Tensor:
                    x, v = q[:, 0], p[:, 0]
                    return torch.stack([v[:, a] * v[:, b], x[:, a] * x[:, b]], dim=1)

                pa, pb, xa, xb = f"p_{axes[a]}", f"p_{axes[b]}", axes[a], axes[b]
                pp = f"{pa}^2" if a == b else f"{pa}*{pb}"
                qq = f"{xa}^2" if a == b else f"{xa}*{xb}"
                out.append((f"fradkin_{axes[a]}{axes[b]}", [pp, qq], fr))

    def energy(q: Tensor, p: Tensor) -> Tensor:
        return H(q, p)[:, None]

    out.append(("H", ["H"], energy))
    return out


def formula(coeffs: Sequence[float], names: Sequence[str], top: int = 6) -> str:
    """``x*p_y - y*p_x``: a combination, its largest ``top`` terms when longer."""
    pairs = [(c, n) for c, n in zip(coeffs, names, strict=True) if c != 0.0]
    if len(pairs) > top:
        pairs.sort(key=lambda cn: -abs(cn[0]))
    parts = []
    for c, n in pairs[:top]:
        mag = "" if abs(abs(c) - 1.0) <= 1e-9 else f"{abs(c):.4g} "
        parts.append(f"{'-' if c < 0 else '+'} {mag}{n}")
    text = " ".join(parts)
    text = text[2:] if text.startswith("+ ") else "-" + text[2:] if text else "0"
    if len(pairs) > top:
        text += f" + ... ({len(pairs) - top} more terms)"
    return text
