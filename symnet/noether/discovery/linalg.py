"""Linear algebra of symmetry discovery: the spectrum, the cut, canonical bases.

The Lie derivative of ``L`` along a candidate ``sum_k c_k X_k`` is linear in
the coefficients ``c``; stacked over sample states it is a matrix ``M c``.
Its numerical nullspace, read off the singular value decomposition, holds the
symmetries (Z. Liu and M. Tegmark, "Machine learning hidden symmetries",
PRL 128, 180201 (2022); A. Moskalev et al., "LieGG: Studying learned Lie group
generators", NeurIPS 2022). The cut between nullspace and the rest is put at
the largest gap of the log singular values, and the (arbitrary) nullspace
basis is made canonical by a reduced row echelon form in a chosen order of
coordinates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["Spectrum", "spectrum", "rref", "noise_level", "fmt_vector", "orthonormal_rows"]


@dataclass
class Spectrum:
    """Singular values of a stacked, normalized Lie-derivative matrix and the chosen cut.

    Attributes
    ----------
    singular_values : Tensor
        Shape ``(m,)``, descending, of ``M / sqrt(S)`` (root mean square over
        the ``S`` states of the relative Lie derivative along unit candidates).
    relative : Tensor
        ``singular_values / singular_values[0]``, shape ``(m,)``.
    n_null : int
        Number ``k`` of singular values below the cut (the symmetries).
    gap : float or None
        Ratio of the singular values on either side of the cut (``None``
        when nothing lies below it).
    threshold : float
        The relative cut: symmetries have ``relative < threshold``.
    null_basis : Tensor
        Shape ``(k, m)``: orthonormal right singular vectors below the cut.
    """

    singular_values: Tensor
    relative: Tensor
    n_null: int
    gap: float | None
    threshold: float
    null_basis: Tensor


def spectrum(
    M: Tensor, *, threshold: float | None, max_relative: float, min_gap: float
) -> Spectrum:
    """SVD of ``M`` (shape ``(S, m)``, ``S >= m``) and the cut at the largest log gap.

    Parameters
    ----------
    M : Tensor
        Rows: states (normalized); columns: candidate coefficients.
    threshold : float, optional
        A fixed relative cut. ``None`` considers every cut whose lower
        singular values are below ``max_relative`` and whose gap (ratio of
        the singular values on either side) is at least ``min_gap``: on
        exact models one cut qualifies, the largest gap in ``log sigma``;
        when several do (a learned model: exact symmetries at round-off,
        approximate ones well separated from the rest), the highest is used,
        so that the approximate symmetries are kept, each with its own
        relative singular value.
    max_relative : float
        Largest relative singular value that may count as a symmetry.
    min_gap : float
        Smallest ratio across an automatic cut.

    Notes
    -----
    Relative singular values below ``10 eps`` of the dtype (2.2e-15 in
    float64) are round-off: they count as equal in the gaps, so an exact
    symmetry and an exactly zero column do not compete with the real cut, and
    a reported gap is at most ``1 / (10 eps)``.
    """
    S, m = M.shape
    # thin unless S < m: a full U would be (S, S), quadratic in the number of states
    _, sv, Vh = torch.linalg.svd(M / math.sqrt(S), full_matrices=S < m)
    if sv.shape[0] < m:  # pragma: no cover - callers ensure S >= m
        sv = torch.cat([sv, sv.new_zeros(m - sv.shape[0])])
    top = float(sv[0])
    if top <= 0.0 or not math.isfinite(top):
        rel = torch.zeros_like(sv)
        return Spectrum(sv, rel, m, None, float(threshold or max_relative), Vh.clone())
    rel = sv / top
    floor = torch.clamp(rel, min=10 * torch.finfo(M.dtype).eps)
    if threshold is not None:
        k = int((rel < threshold).sum())
        gap = None
        if 0 < k < m:
            gap = float(floor[m - k - 1] / floor[m - k])
        return Spectrum(sv, rel, k, gap, float(threshold), Vh[m - k :].clone())
    best_k, best_gap = 0, None
    for k in range(1, m):
        above, below = float(floor[m - k - 1]), float(floor[m - k])
        if below > max_relative:
            break
        g = above / below
        if g < min_gap:
            continue
        best_k, best_gap = k, g  # the highest qualifying cut
    if best_gap is None:
        return Spectrum(sv, rel, 0, None, float(max_relative), Vh[:0].clone())
    above, below = float(floor[m - best_k - 1]), float(floor[m - best_k])
    cut = math.sqrt(above * below)
    return Spectrum(sv, rel, best_k, best_gap, cut, Vh[m - best_k :].clone())


def noise_level(gap: float | None) -> float:
    """Expected size of the noise in nullspace vectors: ``1 / gap``, clamped to [1e-13, 0.1].

    A perturbation ``E`` of a matrix tilts its singular subspaces by about
    ``|E| / delta`` (Wedin's theorem): here ``sigma_below / sigma_above``.
    """
    if gap is None or not math.isfinite(gap) or gap <= 0:
        return 1e-13
    return min(max(1.0 / gap, 1e-13), 0.1)


def rref(V: Tensor, order: Sequence[int], tol: float) -> Tensor:
    """Reduced row echelon form of the rows of ``V`` with pivots taken in ``order``.

    Parameters
    ----------
    V : Tensor
        Shape ``(k, m)``, rows linearly independent (an orthonormal basis).
    order : sequence of int
        Column indices in pivoting priority (a permutation of ``range(m)``).
    tol : float
        Entries up to ``tol`` (in absolute value) are not used as pivots in a
        first pass; a second pass takes the largest remaining entries so that
        exactly ``k`` rows come back.

    Returns
    -------
    Tensor
        Shape ``(k, m)``: each row has a 1 in its pivot column and zeros in
        the other rows' pivot columns; rows sorted by pivot priority.
    """
    R = V.clone()
    k = R.shape[0]
    row = 0
    pivots: list[int] = []
    for limit in (tol, 0.0):
        for j in order:
            if row >= k:
                break
            if j in pivots:
                continue
            col = R[row:, j].abs()
            i = int(col.argmax())
            if float(col[i]) <= limit:
                continue
            i += row
            if i != row:
                R[[row, i]] = R[[i, row]]
            R[row] = R[row] / R[row, j]
            for r in range(k):
                if r != row:
                    R[r] = R[r] - R[r, j] * R[row]
            pivots.append(j)
            row += 1
    rank = {j: n for n, j in enumerate(order)}
    perm = sorted(range(row), key=lambda r: rank[pivots[r]])
    return R[perm]


def orthonormal_rows(V: Tensor, rtol: float = 1e-10) -> Tensor:
    """An orthonormal basis of the row space of ``V`` (shape ``(k, m)``), shape ``(r, m)``."""
    if V.shape[0] == 0:
        return V.clone()
    _, s, Vh = torch.linalg.svd(V, full_matrices=False)
    r = int((s > rtol * max(float(s[0]), 1e-300)).sum())
    return Vh[:r]


def fmt_vector(v: Tensor | Sequence[float], digits: int = 4) -> str:
    """``[0.6,0.8,0]``: compact, at most ``digits`` significant digits, no ``-0``."""
    vals = v.tolist() if isinstance(v, Tensor) else list(v)
    big = max((abs(x) for x in vals), default=0.0)
    parts = []
    for x in vals:
        x = 0.0 if abs(x) <= 1e-9 * big else x
        s = f"{x:.{digits}g}"
        parts.append("0" if s in ("-0", "0", "-0.0") else s)
    return "[" + ",".join(parts) + "]"
