"""A matrix-free nullspace solver for large reps: Chebyshev-filtered subspace iteration.

The equivariant maps are the nullspace of ``C^T C = sum_c M_c^T M_c`` with
``M_c vec(W) = vec(A_c W - W B_c)`` for the constraints ``(A_c, B_c)``; its
product with a block of candidate maps needs only ``d x d`` matrix products,
never ``C`` nor ``C^T C`` (memory ``O(n b)`` for ``n = d_out d_in`` unknowns
and a block of ``b`` vectors, against ``O(n^2)`` for the Gram route).

A block of random maps is filtered by the Chebyshev polynomial of degree
``degree`` that is bounded by 1 on ``[a, lambda_max]`` and grows fastest below
``a`` (Zhou & Saad's filtered subspace iteration), re-orthonormalised, and
reduced by Rayleigh-Ritz; ``a`` is the largest Ritz value of the block, so
the filter adapts to the spectral gap. The iteration stops when every Ritz
pair ``(theta, x)`` is either equivariant at round-off (``||C x|| <= 1e-12
sqrt(lambda_max)``) or certainly not (``theta - ||C^T C x - theta x|| >= 1e-6
lambda_max``: an eigenvalue of ``C^T C`` lies within the Ritz residual of
``theta``), with at least ``_SPARE`` pairs of the second kind (else, or when even the
largest Ritz value is below ``1e-3 lambda_max``, the block doubles: the
nullspace might not fit). ``lambda_max`` is bounded by ``sum_c
(||A_c|| + ||B_c||)^2``. One more filtered step after the criterion is met
polishes the null vectors to round-off.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from symnet.nn._basis_solve import kron_all

__all__: list[str] = []

_F64 = torch.float64
#: Null: ``||C x|| <= _NULL sqrt(lambda_max)``; not null: an eigenvalue ``>= _CLEAR lambda_max``.
_NULL, _CLEAR = 1e-12, 1e-6
_SPARE = 4
#: Factors up to this dimension are multiplied as full matrices, larger ones axis by axis.
_DENSE_OPS = 512
#: A block whose largest Ritz value is below ``_GROW lambda_max`` doubles.
_GROW = 1e-3


class Lazy:
    """One constraint ``A W - W B`` with ``A``, ``B`` Kronecker sums or products of small matrices.

    ``kind`` is ``"sum"`` (a Lie algebra generator: ``A = sum_j I (x) A_j (x) I``)
    or ``"prod"`` (a group element: ``A = A_1 (x) A_2 (x) ...``); ``out`` and
    ``inp`` hold the matrices of the output and input tensor factors. Applied
    to maps ``W`` of shape ``(b, *out dims, *in dims)`` axis by axis, at a cost
    of ``n sum_j d_j`` per map instead of ``n d``.
    """

    def __init__(self, kind: str, out: list[Tensor], inp: list[Tensor]) -> None:
        self.kind, self.out, self.inp = kind, out, inp
        self.n_out = math.prod(m.shape[0] for m in out)
        self.n_in = math.prod(m.shape[0] for m in inp)
        # small enough: multiply by the full matrices (faster than axis by axis)
        self.dense = None
        if max(self.n_out, self.n_in) <= _DENSE_OPS:
            self.dense = tuple(kron_all(ms, kind) for ms in (out, inp))
        norms_out = [float(torch.linalg.matrix_norm(m, 2)) for m in out]
        norms_in = [float(torch.linalg.matrix_norm(m, 2)) for m in inp]
        if kind == "sum":
            self.bound = sum(norms_out) + sum(norms_in)
        else:
            self.bound = math.prod(norms_out) + math.prod(norms_in)

    def _side(self, W: Tensor, mats: list[Tensor], first_axis: int) -> Tensor:
        if self.kind == "sum":
            out = torch.zeros_like(W)
            for j, m in enumerate(mats):
                out = out + _on_axis(W, m, first_axis + j)
            return out
        for j, m in enumerate(mats):
            W = _on_axis(W, m, first_axis + j)
        return W

    def residual(self, W: Tensor) -> Tensor:
        """``A W - W B``."""
        if self.dense is not None:
            A, B = self.dense
            W2 = W.reshape(-1, self.n_out, self.n_in)
            return (A @ W2 - W2 @ B).reshape(W.shape)
        r = len(self.out)
        return self._side(W, self.out, 1) - self._side(W, [m.T for m in self.inp], 1 + r)

    def adjoint(self, R: Tensor) -> Tensor:
        """``A^T R - R B^T``."""
        if self.dense is not None:
            A, B = self.dense
            R2 = R.reshape(-1, self.n_out, self.n_in)
            return (A.T @ R2 - R2 @ B.T).reshape(R.shape)
        r = len(self.out)
        return self._side(R, [m.T for m in self.out], 1) - self._side(R, self.inp, 1 + r)


def _on_axis(W: Tensor, m: Tensor, axis: int) -> Tensor:
    """Multiply every fibre of ``W`` along ``axis`` by ``m`` (``m @ fibre``)."""
    return torch.movedim(torch.tensordot(m, W, dims=([1], [axis])), 0, axis)


def _apply(cons: list[Lazy], X: Tensor, shape: tuple[int, ...]) -> Tensor:
    """``C^T C X`` for a block ``X`` of shape ``(n, b)``, matrix-free."""
    W = X.T.reshape(-1, *shape)
    out = torch.zeros_like(W)
    for c in cons:
        out += c.adjoint(c.residual(W))
    return out.reshape(W.shape[0], -1).T


def _residuals(cons: list[Lazy], X: Tensor, shape: tuple[int, ...]) -> Tensor:
    """``||C x||`` for each column of ``X``, without squaring round-off."""
    W = X.T.reshape(-1, *shape)
    sq = torch.zeros(W.shape[0], dtype=_F64)
    for c in cons:
        sq += c.residual(W).pow(2).reshape(W.shape[0], -1).sum(1)
    return sq.sqrt()


def krylov_nullspace(
    cons: list[Lazy],
    shape: tuple[int, ...],
    *,
    block: int | None = None,
    degree: int = 16,
    max_iter: int = 60,
    seed: int = 0,
) -> Tensor | None:
    """Orthonormal nullspace basis ``(n, k)`` of the constraints, or None if not converged.

    Parameters
    ----------
    cons : list of Lazy
        The constraints.
    shape : tuple of int
        The dimensions of the output tensor factors, then of the input ones
        (``n`` is their product).
    block, degree, max_iter, seed : int
        Initial block size (default ``max(32, n / 64)``; doubled while the
        nullspace may not fit), the Chebyshev degree per step, the step limit
        and the seed of the start.
    """
    n = math.prod(shape)
    top = sum(c.bound**2 for c in cons)
    if top == 0:
        return torch.eye(n, dtype=_F64)
    scale = top**0.5
    gen = torch.Generator().manual_seed(seed)
    b = min(n, block if block is not None else max(32, n // 64))
    X = torch.linalg.qr(torch.randn(n, b, dtype=_F64, generator=gen))[0]
    lower = top / 2
    polish = False
    for _ in range(max_iter):
        # Chebyshev filter on [lower, top]: y = T_d((top + lower - 2 lambda) / (top - lower)) x
        e, c = (top - lower) / 2, (top + lower) / 2
        Y0 = X
        Y1 = (c * X - _apply(cons, X, shape)) / e
        for _ in range(degree - 1):
            Y0, Y1 = Y1, 2 * (c * Y1 - _apply(cons, Y1, shape)) / e - Y0
        X = torch.linalg.qr(Y1)[0]
        GX = _apply(cons, X, shape)
        theta, V = torch.linalg.eigh((X.T @ GX + GX.T @ X) / 2)
        X, GX = X @ V, GX @ V
        ritz = (GX - X * theta).norm(dim=0)  # an eigenvalue lies within ritz of theta
        null = _residuals(cons, X, shape) <= _NULL * scale
        nonnull = theta - ritz >= _CLEAR * top
        full = float(theta[-1]) < _GROW * top  # the whole block is (nearly) null
        if full or int(null.sum()) > b - _SPARE:  # the nullspace may not fit: grow the block
            if b >= n:
                return X[:, null] if bool((null | nonnull).all()) else None
            extra = torch.randn(n, min(b, n - b), dtype=_F64, generator=gen)
            X = torch.linalg.qr(torch.cat([X, extra], 1))[0]
            b = X.shape[1]
            continue
        if bool((null | nonnull).all()):
            if polish:
                return X[:, null]
            polish = True  # one more filtered step takes the residuals to round-off
        lower = max(float(theta[-1]), 1e-3 * top)
    return None
