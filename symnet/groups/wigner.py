"""Wigner D matrices of O(3) for e3nn irreps, accurate to round-off for every matrix.

e3nn's ``D_from_matrix`` goes through Euler angles and ``torch.linalg.matrix_exp``
of ``alpha X_y``, ``beta X_x``, ``gamma X_y``. Two things lose digits there:
the angles are ill-conditioned near the pole (``beta`` near 0 or pi), and
torch's float64 ``matrix_exp`` picks its Taylor degree from the largest norm
in the batch, so a lone matrix of small norm (an Euler angle of about 0.005
to 0.05) gets a low degree and an error up to about 2e-10; the symmetry
assertions act with one element at a time and met it. Here no angle and no
matrix exponential is used: ``D^1(R)`` is ``R`` in e3nn's basis of
``1o`` (exact), and each higher order follows from the one below through
the Clebsch-Gordan (Wigner 3j) coefficients,

    ``D^l(R) = C_l^T (D^(l-1)(R) (x) D^1(R)) C_l``,

with the isometry ``C_l = sqrt(2l + 1) wigner_3j(l - 1, 1, l)`` (``C_l^T C_l = I``). The 3j symbols
intertwine e3nn's own D matrices, so the result is e3nn's convention, and the
recursion is a product of orthogonal maps: a homomorphism to round-off.

An improper ``Q`` (``det Q = -1``) acts as in e3nn's ``D_from_matrix``: an
irrep of parity ``p`` gets ``p D^l(-Q)``.

Examples
--------
>>> import torch
>>> from e3nn import o3
>>> from symnet.groups.wigner import wigner_d
>>> R = torch.tensor([[[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]], dtype=torch.float64)
>>> torch.equal(wigner_d(o3.Irreps("1o"), R), R)  # e3nn's basis of l = 1 is (x, y, z)
True
>>> wigner_d(o3.Irreps("0e + 0o"), -torch.eye(3, dtype=torch.float64)[None])
tensor([[[ 1.,  0.],
         [ 0., -1.]]], dtype=torch.float64)
"""

from __future__ import annotations

import itertools
from functools import lru_cache
from typing import Any

import torch
from torch import Tensor

__all__ = ["wigner_d", "irreps_lie", "parity_signs"]


@lru_cache(maxsize=1)
def _basis() -> Tensor:
    """The signed permutation ``Q`` with e3nn's ``D^1(R) = Q R Q^T``, float64 (3, 3)."""
    from e3nn import o3

    from symnet.groups.utils import default_dtype

    with default_dtype(torch.float64):  # e3nn builds its generators in the default dtype
        R = o3.angles_to_matrix(*torch.tensor([0.3, 1.1, 0.7], dtype=torch.float64))
        D = o3.Irrep("1o").D_from_matrix(R)
    eye = torch.eye(3, dtype=torch.float64)
    best, err = eye, float("inf")
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1.0, -1.0), repeat=3):
            Q = eye[list(perm)] * torch.tensor(signs, dtype=torch.float64)[:, None]
            e = float((Q @ R @ Q.T - D).abs().max())
            if e < err:
                best, err = Q, e
    if err > 1e-8:  # pragma: no cover - e3nn changed its basis beyond a permutation
        raise RuntimeError(f"e3nn's D^1 is not a signed permutation of R (error {err:.1e})")
    return best


@lru_cache(maxsize=32)
def _cg(order: int) -> Tensor:
    """``sqrt(2l + 1) wigner_3j(l - 1, 1, l)``, an isometry: float64, ``(2l - 1, 3, 2l + 1)``."""
    from e3nn import o3

    return (2 * order + 1) ** 0.5 * o3.wigner_3j(order - 1, 1, order, dtype=torch.float64)


def _chain(lmax: int, D1: Tensor) -> list[Tensor]:
    """``[D^0, ..., D^lmax]`` from ``D^1`` of shape ``(n, 3, 3)`` (each ``(n, 2l+1, 2l+1)``)."""
    out = [torch.ones(D1.shape[0], 1, 1, dtype=D1.dtype, device=D1.device), D1]
    for order in range(2, lmax + 1):
        C = _cg(order).to(D1)
        out.append(torch.einsum("ijk,nia,njb,abm->nkm", C, out[-1], D1, C))
    return out[: lmax + 1]


def _lie_chain(lmax: int, X1: Tensor) -> list[Tensor]:
    """The Lie algebra matrices ``X^0 .. X^lmax`` of ``X^1`` (3, 3), by the product rule."""
    eye3 = torch.eye(3, dtype=X1.dtype, device=X1.device)
    out = [torch.zeros(1, 1, dtype=X1.dtype, device=X1.device), X1]
    for order in range(2, lmax + 1):
        C = _cg(order).to(X1)
        prev = out[-1]
        eye = torch.eye(prev.shape[0], dtype=X1.dtype, device=X1.device)
        out.append(
            torch.einsum("ijk,ia,jb,abm->km", C, prev, eye3, C)
            + torch.einsum("ijk,ia,jb,abm->km", C, eye, X1, C)
        )
    return out[: lmax + 1]


def _irreps(irreps: Any) -> Any:
    from e3nn import o3

    return o3.Irreps(irreps)


def parity_signs(irreps: Any, dtype: torch.dtype = torch.float64) -> Tensor:
    """The parity ``p`` of each component of ``irreps``, shape ``(dim,)``: ``+1`` or ``-1``.

    Parameters
    ----------
    irreps : e3nn.o3.Irreps or str
        The representation, e.g. ``"1x0e + 1x1o"``.
    dtype : torch.dtype
        Of the result.
    """
    irreps = _irreps(irreps)
    signs = [float(ir.p) for mul, ir in irreps for _ in range(mul * ir.dim)]
    return torch.tensor(signs, dtype=dtype).reshape(-1)


def wigner_d(irreps: Any, R: Tensor) -> Tensor:
    """Wigner D matrices of orthogonal matrices, accurate to round-off for every matrix.

    Computed without Euler angles or matrix exponentials (see the module
    docs); an improper matrix (``det R = -1``) acts with each irrep's parity,
    as e3nn's ``D_from_matrix`` does.

    Parameters
    ----------
    irreps : e3nn.o3.Irreps or str
        The representation.
    R : Tensor
        Orthogonal matrices, shape ``(n, 3, 3)``; the result has their dtype.

    Returns
    -------
    Tensor
        Shape ``(n, irreps.dim, irreps.dim)``, block diagonal.
    """
    irreps = _irreps(irreps)
    if R.dim() != 3 or R.shape[-2:] != (3, 3):
        raise ValueError(f"R must have shape (n, 3, 3), got {tuple(R.shape)}")
    det = torch.sign(torch.linalg.det(R))
    proper = R * det[:, None, None]
    Q = _basis().to(R)
    lmax = max((ir.l for _, ir in irreps), default=0)
    blocks = _chain(lmax, Q @ proper @ Q.T)
    out = torch.zeros(R.shape[0], irreps.dim, irreps.dim, dtype=R.dtype, device=R.device)
    start = 0
    for mul, ir in irreps:
        D = blocks[ir.l]
        if ir.p == -1:
            D = D * det[:, None, None]
        for _ in range(mul):
            out[:, start : start + ir.dim, start : start + ir.dim] = D
            start += ir.dim
    return out


def irreps_lie(irreps: Any, A: Tensor) -> Tensor:
    """The matrix of ``irreps`` for the so(3) element ``A`` (antisymmetric, shape ``(3, 3)``).

    ``d/ds wigner_d(irreps, exp(s A))`` at ``s = 0``, exact to round-off
    (the product rule applied to the recursion of :func:`wigner_d`).

    Returns
    -------
    Tensor
        Shape ``(irreps.dim, irreps.dim)``, antisymmetric, in ``A``'s dtype.
    """
    irreps = _irreps(irreps)
    Q = _basis().to(A)
    lmax = max((ir.l for _, ir in irreps), default=0)
    blocks = _lie_chain(lmax, Q @ A @ Q.T)
    out = torch.zeros(irreps.dim, irreps.dim, dtype=A.dtype, device=A.device)
    start = 0
    for mul, ir in irreps:
        for _ in range(mul):
            out[start : start + ir.dim, start : start + ir.dim] = blocks[ir.l]
            start += ir.dim
    return out
