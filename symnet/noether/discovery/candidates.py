"""Affine candidates ``xi(q) = A q + b`` for discovery: coordinates, columns, fields.

Coefficients of a candidate are laid out as ``[custom | tau | A | b]``:

- ``custom``: one coefficient per user-given vector field (or Generator);
- ``tau``: the time component (a time shift), when asked for;
- ``A``: coordinates of ``A`` in an orthonormal basis of gl(d) ordered as
  so(d) (rotations), the identity (dilation), symmetric traceless matrices;
  one block for all particles, or one per particle (``particlewise``);
- ``b``: the translation, one block of ``d`` per block of ``A``.

The Lie derivative ``R = dL/dq . xi + dL/dqdot . (A qdot) + tau dL/dt`` is a
contraction of the gradients of ``L`` with ``(A, b, tau)``, so one ``vjp`` of
``L`` gives every column. A canonical nullspace basis comes from a reduced
row echelon form pivoting on custom, so(d), tau, dilation, symmetric and, last,
translation coordinates: translations (``A = 0``) come out separated from the
rest, whose translation parts are reduced modulo the translation symmetries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from symnet.groups import Generator
from symnet.groups.rotation import so_basis

__all__ = ["Layout", "affine_columns", "apply_affine", "field_matrix", "gl_basis"]


def gl_basis(d: int, dtype: torch.dtype = torch.float64) -> tuple[Tensor, list[str]]:
    """Orthonormal (Frobenius) basis of gl(d): so(d), identity, symmetric traceless.

    Returns
    -------
    basis : Tensor
        Shape ``(d*d, d, d)``.
    kinds : list of str
        ``"so"``, ``"dil"`` or ``"sym"`` per basis matrix.
    """
    mats: list[Tensor] = []
    kinds: list[str] = []
    if d >= 2:
        so = so_basis(d, dtype)[1]
        mats += list(so)
        kinds += ["so"] * so.shape[0]
    mats.append(torch.eye(d, dtype=dtype))
    kinds.append("dil")
    for i in range(d):
        for j in range(i + 1, d):
            m = torch.zeros(d, d, dtype=dtype)
            m[i, j] = m[j, i] = 1.0
            mats.append(m)
            kinds.append("sym")
    for i in range(d - 1):
        m = torch.zeros(d, d, dtype=dtype)
        m[i, i] = 1.0
        mats.append(m)
        kinds.append("sym")
    raw = torch.stack([m.reshape(-1) for m in mats], dim=1)  # (d*d, d*d) columns
    Q, R = torch.linalg.qr(raw)
    Q = Q * torch.sign(torch.diagonal(R))
    return Q.T.reshape(d * d, d, d).contiguous(), kinds


@dataclass
class Layout:
    """Where each kind of coefficient lives in a candidate vector.

    Attributes
    ----------
    config_shape : tuple of int
        ``S``: ``(N, d)`` (particles) or ``(n,)`` (generalized coordinates).
    n_custom : int
        Custom candidates (first coordinates).
    time : bool
        Whether a ``tau`` coordinate follows.
    affine : bool
        Whether ``A`` and ``b`` coordinates follow.
    particlewise : bool
        One ``(A, b)`` per particle instead of one for all.
    """

    config_shape: tuple[int, ...]
    n_custom: int
    time: bool
    affine: bool
    particlewise: bool = False
    basis: Tensor = field(init=False)
    kinds: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.basis, self.kinds = gl_basis(self.d)

    @property
    def particles(self) -> bool:
        """Configurations ``(N, d)`` rather than generalized coordinates ``(n,)``."""
        return len(self.config_shape) == 2

    @property
    def d(self) -> int:
        """Size of the vectors that ``A`` acts on (``d``, or ``n`` for generalized coordinates)."""
        return self.config_shape[-1]

    @property
    def blocks(self) -> int:
        """Number of ``(A, b)`` blocks: ``N`` when particlewise, else 1."""
        if not self.affine:
            return 0
        return self.config_shape[0] if self.particlewise else 1

    @property
    def t_index(self) -> int:
        """Index of ``tau`` (meaningful when :attr:`time`)."""
        return self.n_custom

    @property
    def a_start(self) -> int:
        """First ``A`` coordinate."""
        return self.n_custom + int(self.time)

    @property
    def b_start(self) -> int:
        """First ``b`` coordinate."""
        return self.a_start + self.blocks * self.d * self.d

    @property
    def size(self) -> int:
        """Number of coefficients ``m``."""
        return self.b_start + self.blocks * self.d

    def order(self) -> list[int]:
        """Pivot priority: custom, so(d), tau, dilation, symmetric, translations."""
        out = list(range(self.n_custom))
        dd = self.d * self.d
        a_idx = {
            kind: [self.a_start + blk * dd + i for blk in range(self.blocks) for i in range(dd)]
            for kind in ("so", "dil", "sym")
        }
        a_idx = {
            kind: [j for j in idx if self.kinds[(j - self.a_start) % dd] == kind]
            for kind, idx in a_idx.items()
        }
        out += a_idx["so"]
        if self.time:
            out.append(self.t_index)
        out += a_idx["dil"] + a_idx["sym"]
        out += list(range(self.b_start, self.size))
        return out

    def split(self, c: Tensor) -> tuple[Tensor, float, Tensor, Tensor]:
        """``(custom (n_custom,), tau, A (blocks, d, d), b (blocks, d))`` of a vector ``c``."""
        d, nb = self.d, self.blocks
        coords = c[self.a_start : self.b_start].reshape(nb, d * d)
        A = torch.einsum("nk,kij->nij", coords, self.basis.to(c))
        b = c[self.b_start :].reshape(nb, d)
        tau = float(c[self.t_index]) if self.time else 0.0
        return c[: self.n_custom], tau, A, b


def affine_columns(
    layout: Layout, g: Tensor, p: Tensor, q: Tensor, v: Tensor
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Lie-derivative columns of the ``A`` and ``b`` coordinates, with their term scales.

    Parameters
    ----------
    layout : Layout
    g, p : Tensor
        ``dL/dq`` and ``dL/dqdot``, shape ``(B, N, d)`` (``N = 1`` for
        generalized coordinates).
    q, v : Tensor
        States, shape ``(B, N, d)``.

    Returns
    -------
    MA, TA : Tensor
        Shape ``(B, blocks * d*d)``: ``R`` for each basis matrix and the sum
        of absolute values of its terms.
    Mb, Tb : Tensor
        Shape ``(B, blocks * d)``.
    """
    gq = torch.einsum("sia,sib->siab", g, q)
    pv = torch.einsum("sia,sib->siab", p, v)
    MA, TA, Mb, Tb = gq + pv, gq.abs() + pv.abs(), g, g.abs()
    if not layout.particlewise:
        MA, TA = MA.sum(1, keepdim=True), TA.sum(1, keepdim=True)
        Mb, Tb = Mb.sum(1, keepdim=True), Tb.sum(1, keepdim=True)
    E = layout.basis.to(g)
    B = g.shape[0]
    MAk = torch.einsum("sjab,kab->sjk", MA, E).reshape(B, -1)
    TAk = torch.einsum("sjab,kab->sjk", TA, E.abs()).reshape(B, -1)
    return MAk, TAk, Mb.reshape(B, -1), Tb.reshape(B, -1)


def apply_affine(A: Tensor, b: Tensor, x: Tensor, shift: bool) -> Tensor:
    """``A_i x_i (+ b_i)`` per particle: ``A`` of shape ``(1 or N, d, d)``, ``x`` ``(B, N, d)``."""
    out = torch.einsum("nab,snb->sna", A.expand(x.shape[1], -1, -1), x)
    return out + b.expand(x.shape[1], -1) if shift else out


def field_matrix(
    layout: Layout, customs: list[Generator], q: Tensor, v: Tensor, t: Tensor
) -> Tensor:
    """The prolonged field ``(xi, xidot, tau, F)`` of each unit candidate at the samples.

    A combination of candidates whose prolonged field (with time component
    and boundary term) vanishes at every sample, such as a custom field that
    repeats an affine one, has a zero Lie derivative without being a
    symmetry; the nullspace of this matrix is removed before the search.

    Returns
    -------
    Tensor
        Shape ``(B * (2 n + 2), m)`` with ``n = prod(S)``.
    """
    B = q.shape[0]
    q3, v3 = q.reshape(B, -1, layout.d), v.reshape(B, -1, layout.d)
    zero, one = q.new_zeros(B, 1), q.new_ones(B, 1)

    def column(xi: Tensor, xd: Tensor, tau: Tensor, F: Tensor) -> Tensor:
        parts = [xi.reshape(B, -1), xd.reshape(B, -1), tau, F.reshape(B, 1)]
        return torch.cat(parts, dim=1).reshape(-1)

    cols = []
    for gen in customs:
        xi, xd = gen.prolong(q, v, t)
        cols.append(column(xi, xd, one * gen.tau, gen.boundary(q, t)))
    if layout.time:
        cols.append(column(q.new_zeros(q.shape), q.new_zeros(q.shape), one, zero))
    for j in range(layout.a_start, layout.size):
        e = q.new_zeros(layout.size)
        e[j] = 1.0
        _, _, A, b = layout.split(e)
        cols.append(column(apply_affine(A, b, q3, True), apply_affine(A, b, v3, False), zero, zero))
    return torch.stack(cols, dim=1)
