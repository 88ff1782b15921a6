"""Numerical nullspace solvers behind :func:`symnet.nn.equivariant_basis`.

Two routes give an orthonormal basis of the equivariant maps, then one
canonical form (:func:`canonical`) makes the result independent of the route:

* **dense** (:func:`dense_nullspace`): the SVD of the stacked Kronecker
  constraints ``C`` of shape ``(m, n)``, ``n = d_out d_in``, ``m`` a multiple
  of ``n``; ``O(m n^2)`` time and ``m n`` memory.
* **Gram** (:func:`gram_nullspace`): the eigenvectors of ``C^T C`` with
  eigenvalue ``<= GRAM_RTOL * lambda_max``. ``C^T C`` is assembled from the
  generators without forming ``C``: for one constraint ``M = A (x) I - I (x)
  B^T`` (``A = rho_out``, ``B = rho_in`` of a generator),

  ``M^T M = A^T A (x) I - A^T (x) B^T - A (x) B + I (x) B B^T``

  (``n x n``, whatever the number of generators), and one symmetric
  eigendecomposition replaces the larger SVD. Eigenvalues are squared
  singular values, so the threshold is on ``sigma^2``; round-off of the
  eigenvalues is ``~ n eps lambda_max`` (``1e-13`` here) and the spectral
  gaps of symnet's reps are ``>= 1e-4 lambda_max`` (``sigma >= 1e-2
  sigma_max``), so ``1e-9`` sits between them. The route refuses (returns
  None, and the caller falls back to the dense SVD) when an eigenvalue lies
  in the ambiguous band ``(1e-12, 1e-6) lambda_max`` or when a basis element
  is not equivariant to ``1e-10`` relative residual.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__: list[str] = []

_F64 = torch.float64
#: Absolute threshold for a pivot of the orthonormal nullspace basis (entries <= 1).
PIVOT_TOL = 1e-8
#: Relative eigenvalue threshold of the Gram route (see the module docstring).
GRAM_RTOL = 1e-9
#: Eigenvalues in this relative band make the Gram route refuse.
_AMBIGUOUS = (1e-12, 1e-6)
#: Largest relative equivariance residual the Gram route accepts.
_RESIDUAL_TOL = 1e-10

#: A constraint ``(A, B)``: the map ``W`` must satisfy ``A W - W B = 0``.
Constraint = tuple[Tensor, Tensor]


def kron_all(mats: list[Tensor], kind: str = "prod") -> Tensor:
    """The Kronecker product (``"prod"``) or sum (``"sum"``) of square matrices.

    The sum is ``sum_i I (x) M_i (x) I``; both have shape ``(n, n)`` with ``n``
    the product of the matrices' sizes.
    """
    if kind == "prod":
        out = torch.ones(1, 1, dtype=_F64)
        for m in mats:
            out = torch.kron(out, m)
        return out
    n = 1
    for m in mats:
        n *= m.shape[0]
    out = torch.zeros(n, n, dtype=_F64)
    left = 1
    for m in mats:
        right = n // (left * m.shape[0])
        eye_l, eye_r = torch.eye(left, dtype=_F64), torch.eye(right, dtype=_F64)
        out += torch.kron(torch.kron(eye_l, m), eye_r)
        left *= m.shape[0]
    return out


def stacked(constraints: list[Constraint], d_out: int, d_in: int) -> Tensor:
    """The constraint matrix ``C`` acting on row-major ``vec(W)``.

    One block ``A (x) I - I (x) B^T`` per constraint ``(A, B)``: shape ``(m,
    d_out d_in)``, ``m = 0`` without constraints.
    """
    if not constraints:
        return torch.zeros(0, d_out * d_in, dtype=_F64)
    eye_out, eye_in = torch.eye(d_out, dtype=_F64), torch.eye(d_in, dtype=_F64)
    return torch.cat(
        [torch.kron(A, eye_in) - torch.kron(eye_out, B.T.contiguous()) for A, B in constraints]
    )


def dense_nullspace(C: Tensor, rtol: float) -> Tensor:
    """Orthonormal basis of the nullspace of ``C`` (singular values ``<= rtol max``), ``(n, k)``."""
    m, n = C.shape
    if m < n:  # full set of right-singular vectors: pad with zero rows
        C = torch.cat([C, C.new_zeros(n - m, n)])
    if n == 0:
        return C.new_zeros(0, 0)
    _, sigma, vh = torch.linalg.svd(C, full_matrices=False)
    null = sigma <= rtol * sigma.max()
    return vh[null].T


def canonical(Q: Tensor) -> Tensor:
    """Canonical orthonormal basis of ``span(Q)``: RREF with pivots in order, then QR.

    Parameters
    ----------
    Q : Tensor
        Shape ``(n, k)``, orthonormal columns.

    Returns
    -------
    Tensor
        Shape ``(n, k)``: the reduced row echelon form of the span (unique)
        orthonormalised in pivot order with a positive diagonal, so the result
        depends only on the span, up to round-off.
    """
    return canonical_pivots(Q)[0]


def canonical_pivots(Q: Tensor) -> tuple[Tensor, Tensor]:
    """:func:`canonical` and the pivot index of each column, shape ``(k,)``."""
    n, k = Q.shape
    if k == 0:
        return Q, torch.zeros(0, dtype=torch.long)
    A = Q.T.clone()  # (k, n): reduce the rows to echelon form
    pivots = torch.zeros(k, dtype=torch.long)
    for r in range(k):
        cols = torch.nonzero(A[r:].abs().amax(0) > PIVOT_TOL)
        c = int(cols[0])
        pivots[r] = c
        i = r + int(A[r:, c].abs().argmax())
        A[[r, i]] = A[[i, r]]
        A[r] = A[r] / A[r, c]
        others = torch.arange(k) != r
        A[others] -= A[others, c : c + 1] * A[r]
    q, R = torch.linalg.qr(A.T)
    return q * torch.sign(torch.diagonal(R)), pivots


def gram_matrix(constraints: list[Constraint]) -> Tensor:
    """``C^T C`` of the stacked constraints, assembled from Kronecker products, ``(n, n)``."""
    A0, B0 = constraints[0]
    d_out, d_in = A0.shape[0], B0.shape[0]
    eye_out, eye_in = torch.eye(d_out, dtype=_F64), torch.eye(d_in, dtype=_F64)
    left = torch.zeros(d_out, d_out, dtype=_F64)
    right = torch.zeros(d_in, d_in, dtype=_F64)
    gram = torch.zeros(d_out * d_in, d_out * d_in, dtype=_F64)
    for A, B in constraints:
        left += A.T @ A
        right += B @ B.T
        gram -= torch.kron(A.T, B.T) + torch.kron(A, B)
    gram += torch.kron(left, eye_in) + torch.kron(eye_out, right)
    return gram


def residuals(basis: Tensor, constraints: list[Constraint]) -> Tensor:
    """Relative equivariance residual of each basis element, ``(k,)``.

    ``max_c ||A_c W - W B_c||_F / (||A_c|| + ||B_c||)`` over the constraints,
    for ``W`` of unit Frobenius norm (``basis`` has shape ``(k, d_out, d_in)``).
    """
    out = basis.new_zeros(basis.shape[0])
    for A, B in constraints:
        scale = float(torch.linalg.matrix_norm(A, 2) + torch.linalg.matrix_norm(B, 2)) or 1.0
        r = torch.linalg.matrix_norm(A @ basis - basis @ B) / scale
        out = torch.maximum(out, r)
    return out


def gram_nullspace(constraints: list[Constraint]) -> Tensor | None:
    """Orthonormal nullspace basis ``(n, k)`` from ``eigh(C^T C)``, or None when unsure."""
    gram = gram_matrix(constraints)
    w, U = torch.linalg.eigh(gram)
    top = float(w[-1])
    if top <= 0:
        return torch.eye(gram.shape[0], dtype=_F64)
    rel = w / top
    if ((rel > _AMBIGUOUS[0]) & (rel < _AMBIGUOUS[1])).any():
        return None
    return U[:, rel <= GRAM_RTOL]


def checked(basis: Tensor, constraints: list[Constraint]) -> bool:
    """Whether every element of ``basis`` ``(k, d_out, d_in)`` is equivariant to round-off."""
    return basis.shape[0] == 0 or bool((residuals(basis, constraints) <= _RESIDUAL_TOL).all())
