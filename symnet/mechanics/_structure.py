"""The structure of a mass matrix ``M = d2L/dqdot2`` and the checked solve with it.

Private module. ``M`` (``n x n``, ``n = prod(S)`` for states of shape
``(B, *S)``) is held as ``P`` diagonal blocks of size ``d x d``, shape
``(B, P, d, d)``:

- ``"dense"``: one block, ``P = 1, d = n`` (any Lagrangian);
- ``"block"``: one block per particle, ``S = (*P, d)``: the kinetic term
  couples the ``d`` velocity components of a particle but never two particles
  (``sum_j T_j(q, qdot_j)``, a relativistic or position-dependent mass);
- ``"diagonal"``: ``P = n, d = 1`` (``sum_i m_i(q) qdot_i^2 / 2``).

A block layout needs only ``d`` reverse passes with "comb" cotangents (the
unit vector ``k`` in every block at once: its pull-back is row ``k`` of every
block, because the blocks do not couple) instead of ``n``, and ``P`` small
solves instead of one ``n x n`` solve. A declared structure is verified
against the dense ``M`` (:meth:`MassLayout.check_dense`) before it is trusted.

The condition number is the one of the whole ``M``, whatever the layout:
``max |lambda| / min |lambda|`` over the eigenvalues of all the blocks
(``eigvalsh``: ``M`` is symmetric, and it is about 1.7x faster than
``svdvals``), so that declaring a structure changes the cost, never which
states are refused.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

from symnet.mechanics import _deferred
from symnet.mechanics._errors import SingularMassMatrixError

__all__ = ["STRUCTURES", "MassLayout", "Parts", "default_max_condition", "checked_solve"]

#: The accepted values of ``mass_structure``.
STRUCTURES = ("dense", "block", "diagonal")


def default_max_condition(dtype: torch.dtype) -> float:
    """``1 / (100 eps)`` of the dtype: about 4.5e13 in float64, 8.4e4 in float32."""
    return 1.0 / (100.0 * torch.finfo(dtype).eps)


class Parts(NamedTuple):
    """The pieces of the Euler-Lagrange equations at a batch of states.

    ``blocks`` (B, P, d, d): the blocks of ``M``; ``dq`` (B, n): ``dL/dq``;
    ``mixed`` (B, n): ``(d2L/dqdot dq) qdot + d_t dL/dqdot``; ``p`` (B, n):
    ``dL/dqdot``. The right-hand side is ``dq - mixed``.
    """

    blocks: Tensor
    dq: Tensor
    mixed: Tensor
    p: Tensor


class MassLayout:
    """The block layout ``(P, d)`` of ``M`` for a structure name and a state shape.

    Parameters
    ----------
    name : {"dense", "block", "diagonal"}
    shape : tuple of int
        ``S``, the state shape without the batch axis.
    """

    __slots__ = ("name", "shape", "n", "P", "d")

    def __init__(self, name: str, shape: tuple[int, ...]) -> None:
        self.name = name
        self.shape = tuple(shape)
        self.n = math.prod(self.shape)
        if name == "block" and len(self.shape) < 1:
            raise ValueError("mass_structure='block' needs states of shape (B, *P, d)")
        if name == "dense":
            self.P, self.d = 1, self.n
        elif name == "block":
            self.d = self.shape[-1]
            self.P = self.n // self.d if self.d else 0
        else:
            self.P, self.d = self.n, 1

    @property
    def structured(self) -> bool:
        """Whether there is more than one block (the comb cotangents apply)."""
        return self.name != "dense"

    def combs(self, dtype: torch.dtype, device: torch.device) -> Tensor:
        """The ``d`` comb cotangents of one state, shape (d, *S)."""
        eye = torch.eye(self.d, dtype=dtype, device=device)
        return eye[:, None, :].expand(self.d, self.P, self.d).reshape(self.d, *self.shape)

    def blocks_from_rows(self, rows: Tensor) -> Tensor:
        """``(k = d, B, n)`` comb pull-backs -> blocks (B, P, d, d)."""
        B = rows.shape[1]
        return rows.reshape(self.d, B, self.P, self.d).permute(1, 2, 0, 3)

    def dense(self, blocks: Tensor) -> Tensor:
        """Blocks (B, P, d, d) -> the full ``M``, shape (B, n, n)."""
        if self.P == 1:
            return blocks[:, 0]
        if self.d == 1:
            return torch.diag_embed(blocks[..., 0, 0])
        return _block_diag(blocks)

    def mask(self, dtype: torch.dtype, device: torch.device) -> Tensor:
        """1 on the entries of ``M`` inside the structure, 0 outside, shape (n, n)."""
        eye = torch.eye(self.P, dtype=dtype, device=device)
        return torch.kron(eye, torch.ones(self.d, self.d, dtype=dtype, device=device))

    def check_dense(self, M: Tensor) -> None:
        """Raise ValueError when a dense ``M`` (m, n, n) has entries beyond round-off outside.

        The tolerance is ``1000 eps`` of the largest entry of each matrix.
        """
        if not self.structured or M.shape[0] == 0:
            return
        M = M.detach()
        outside = (M * (1.0 - self.mask(M.dtype, M.device))).abs().flatten(1).amax(1)
        scale = M.abs().flatten(1).amax(1)
        tol = 1e3 * torch.finfo(M.dtype).eps
        bad = outside > tol * scale
        if bool(bad.any()):
            i = int(bad.nonzero()[0, 0])
            kind = "particles" if self.name == "block" else "velocity components"
            raise ValueError(
                f"mass_structure={self.name!r} does not hold for this L: d2L/dqdot2 couples "
                f"different {kind} (entry of size {float(outside[i]):.3e} outside the "
                f"{'d x d blocks' if self.name == 'block' else 'diagonal'}, largest entry "
                f"{float(scale[i]):.3e}, at state {i}; states of shape (B, *S) = "
                f"(B, {', '.join(map(str, self.shape))})). Declare mass_structure='dense' "
                "(the default)" + (" or 'block'" if self.name == "diagonal" else "")
            )

    def regularize(self, blocks: Tensor, lam: float) -> Tensor:
        """``M + lam I`` in block form."""
        if not lam:
            return blocks
        return blocks + lam * torch.eye(self.d, dtype=blocks.dtype, device=blocks.device)

    def flags(self, blocks: Tensor, limit: float) -> tuple[Tensor, Tensor, Tensor]:
        """``(finite, cond, bad)``, each of shape (B,), without host synchronisation.

        ``finite``: every entry of ``M`` is finite; ``cond``: the condition
        number of ``M`` (``inf`` when singular, 1 where not finite); ``bad``:
        finite and ``cond > limit`` (or NaN).
        """
        Bd = blocks.detach()
        finite = torch.isfinite(Bd).flatten(1).all(dim=1)
        if self.d == 1:
            lam = Bd[..., 0, 0].abs()
        else:
            eye = torch.eye(self.d, dtype=Bd.dtype, device=Bd.device)
            safe = torch.where(finite[:, None, None, None], Bd, eye)
            lam = torch.linalg.eigvalsh(safe).abs()  # (B, P, d)
        lam = torch.where(finite.view(-1, *([1] * (lam.dim() - 1))), lam, 1.0).flatten(1)
        big, small = lam.amax(1), lam.amin(1)
        cond = torch.where(small > 0, big / torch.where(small > 0, small, 1.0), math.inf)
        bad = finite & ~_within(lam, limit)
        return finite, cond, bad

    def flags_and_solve(self, blocks: Tensor, rhs: Tensor, limit: float) -> tuple[Tensor, Tensor]:
        """``(x, bad)``: :meth:`flags` and :meth:`solve` from one eigendecomposition.

        For the traceable form without gradients: ``M = V diag(lam) V^T``
        (``M`` is symmetric) gives the condition number and ``x = V (V^T rhs
        / lam)`` from one ``eigh`` per block instead of an ``eigvalsh`` and
        an LU solve (one library call less per evaluation; both solves are
        backward stable, they agree to ``cond(M) eps``). Not for a graph that
        is differentiated: the derivative of ``eigh`` is unbounded when
        eigenvalues coincide (use :meth:`flags` and :meth:`solve` there).
        ``bad`` rows get NaN as in :meth:`solve`; rows with NaN/inf in ``M``
        get NaN and are not bad.
        """
        B = rhs.shape[0]
        r = rhs.reshape(B, self.P, self.d)
        finite = torch.isfinite(blocks).flatten(1).all(dim=1)
        if self.d == 1:
            lam = blocks[..., 0, 0]
            x = r / lam.unsqueeze(-1)
        else:
            eye = torch.eye(self.d, dtype=blocks.dtype, device=blocks.device)
            safe = torch.where(finite[:, None, None, None], blocks, eye)
            lam, vecs = torch.linalg.eigh(safe)  # (B, P, d), (B, P, d, d)
            coeff = (vecs.transpose(-1, -2) @ r.unsqueeze(-1))[..., 0] / lam
            x = (vecs @ coeff.unsqueeze(-1))[..., 0]
        mag = torch.where(finite.view(-1, *([1] * (lam.dim() - 1))), lam.abs(), 1.0).flatten(1)
        bad = finite & ~_within(mag, limit)
        x = torch.where((finite & ~bad)[:, None, None], x, torch.full_like(x, math.nan))
        return x.reshape(B, self.n), bad

    def solve(self, blocks: Tensor, rhs: Tensor, use: Tensor | None = None) -> Tensor:
        """``M^-1 rhs`` for rhs (B, n); rows where ``use`` is False get NaN.

        No error checks and no host synchronisation (``solve_ex``): the
        caller has checked the conditioning.
        """
        B = rhs.shape[0]
        if use is not None:
            eye = torch.eye(self.d, dtype=blocks.dtype, device=blocks.device)
            blocks = torch.where(use[:, None, None, None], blocks, eye)
        r = rhs.reshape(B, self.P, self.d)
        if self.d == 1:
            x = r / blocks[..., 0]
        else:
            x = torch.linalg.solve_ex(blocks, r.unsqueeze(-1))[0][..., 0]
        x = x.reshape(B, self.n)
        if use is not None:
            x = torch.where(use[:, None], x, torch.full_like(x, math.nan))
        return x


def _within(lam: Tensor, limit: float) -> Tensor:
    """Per state, whether ``|eigenvalues|`` (B, n) give a condition number ``<= limit``.

    The one rule every solve path decides by (a zero eigenvalue is never within).
    """
    small = lam.amin(1)
    return (small > 0) & (lam.amax(1) <= limit * small)


def _block_diag(blocks: Tensor) -> Tensor:
    """Batched block-diagonal assembly: (B, P, d, d) -> (B, P d, P d)."""
    B, P, d, _ = blocks.shape
    eye = torch.eye(P, dtype=blocks.dtype, device=blocks.device)
    out = blocks[:, :, None, :, :] * eye[None, :, :, None, None]  # (B, P, P, d, d)
    return out.permute(0, 1, 3, 2, 4).reshape(B, P * d, P * d)


def checked_solve(
    layout: MassLayout,
    blocks: Tensor,
    rhs: Tensor,
    p: Tensor,
    max_condition: float | None,
    regularization: float,
    hint: str,
) -> Tensor:
    """Solve ``M x = rhs`` (rhs (B, n)) after checking every ``M``'s condition number.

    Matrices with NaN/inf entries are not reported here: their solution is set
    to NaN so that a rollout can name the step where the state went bad.
    Inside a rollout's deferred step (:mod:`symnet.mechanics._deferred`) the
    check reads nothing from the device: the rows that would raise get NaN
    and their flag is noted; the rollout runs the first flagged step again
    without deferral, which raises here.

    Raises
    ------
    SingularMassMatrixError
        At the first state whose ``M`` exceeds ``max_condition``.
    ValueError
        ``M`` and ``p`` vanish at every state: ``L`` does not depend on ``qdot``.
    """
    limit = default_max_condition(blocks.dtype) if max_condition is None else float(max_condition)
    if _deferred.deferring():
        finite, _, bad = layout.flags(blocks, limit)
        _deferred.note(bad)
        return layout.solve(blocks, rhs, finite & ~bad)
    Bd = blocks.detach()
    if bool(torch.isfinite(Bd).all()):  # the common case, with fewer operations
        lam = (Bd[..., 0, 0] if layout.d == 1 else torch.linalg.eigvalsh(Bd)).abs().flatten(1)
        ok = _within(lam, limit)
        if bool(ok.all()):
            return layout.solve(blocks, rhs)
    finite, cond, bad = layout.flags(blocks, limit)
    flags = torch.stack([bad.any(), finite.all()])  # one device-to-host transfer
    any_bad, all_finite = bool(flags[0]), bool(flags[1])
    if any_bad:
        b = int(bad.nonzero()[0, 0])
        if not regularization and not bool(blocks.detach().any()) and not bool(p.detach().any()):
            raise ValueError(
                "L does not depend on qdot: its gradient and Hessian with respect to qdot are "
                f"zero at every state of the batch. {hint}"
            )
        c = float(cond[b])
        what = "singular" if not math.isfinite(c) else f"ill-conditioned (condition number {c:.3e})"
        raise SingularMassMatrixError(
            f"mass matrix d2L/dqdot2 is {what} at batch index {b} "
            f"({int(bad.sum())} of {blocks.shape[0]} states exceed max_condition={limit:.3e}); "
            "the Euler-Lagrange equations do not determine qddot there. Pass regularization=lam "
            "to solve (M + lam I) instead (biases the dynamics), or raise max_condition",
            batch_index=b,
            condition=c,
        )
    return layout.solve(blocks, rhs, None if all_finite else finite)
