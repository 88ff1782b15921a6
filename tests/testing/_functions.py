"""Functions with known symmetries (and deliberately broken twins) for the checker's tests.

Shapes: configurations ``q`` and velocities ``v`` are ``(B, N, d)``; times
``(B,)`` or ``(B, 2)``.
"""

from __future__ import annotations

import torch
from hypothesis import HealthCheck, settings
from torch import Tensor, nn

# Few, cheap examples: each one runs a whole check (about 20 evaluations of fn).
SETTINGS = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def randn(*shape: int, seed: int = 0, dtype: torch.dtype = torch.float64) -> Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def pair_differences(x: Tensor) -> Tensor:
    """``x_i - x_j`` for ``i < j``: ``(B, N, d) -> (B, N (N - 1) / 2, d)``."""
    i, j = torch.triu_indices(x.shape[-2], x.shape[-2], 1)
    return x[..., i, :] - x[..., j, :]


def pair_distances(q: Tensor) -> Tensor:
    """Sum of pairwise distances, ``(B, N, d) -> (B,)``: E(d) x S_N invariant."""
    return pair_differences(q).norm(dim=-1).sum(-1)


def external_field(q: Tensor) -> Tensor:
    """Pairwise distances plus a uniform field along x: breaks translations."""
    return pair_distances(q) + 0.5 * q[..., 0].sum(-1)


def anisotropic(q: Tensor) -> Tensor:
    """``sum_{i<j} r_ij^T W r_ij`` with ``W = diag(1, 2, ...)``: translation invariant only."""
    w = torch.arange(1, q.shape[-1] + 1, dtype=q.dtype)
    return (pair_differences(q) ** 2 * w).sum((-1, -2))


def weighted_sum(q: Tensor) -> Tensor:
    """``sum_i w_i |q_i|^2`` with distinct weights: rotation invariant, order-dependent."""
    w = torch.linspace(1.0, 2.0, q.shape[-2], dtype=q.dtype)
    return (w[:, None] * q**2).sum((-1, -2))


def centre_of_mass(q: Tensor) -> Tensor:
    """``(B, N, d) -> (B, 1, d)``, a point: E(d) equivariant, S_N invariant."""
    return q.mean(-2, keepdim=True)


def kinetic(v: Tensor) -> Tensor:
    """``sum |v_i|^2``, ``(B, N, d) -> (B,)``: invariant under rotations and permutations."""
    return (v**2).sum((-1, -2))


def relative_energy(q: Tensor, v: Tensor, t: Tensor) -> Tensor:
    """Function of relative positions and velocities only: Galilean invariant.

    ``q, v``: ``(B, N, d)``; ``t``: ``(B,)`` (unused, so time shifts leave it invariant).
    """
    dq, dv = pair_differences(q), pair_differences(v)
    return (dv**2).sum((-1, -2)) - (1.0 / (1.0 + (dq**2).sum(-1))).sum(-1)


def absolute_energy(q: Tensor, v: Tensor, t: Tensor) -> Tensor:
    """:func:`relative_energy` plus the centre-of-mass kinetic energy: not boost invariant."""
    return relative_energy(q, v, t) + (v.sum(-2) ** 2).sum(-1)


def time_difference(t: Tensor) -> Tensor:
    """``sin(t1 - t0)`` for ``t`` of shape ``(B, 2)``: time-shift invariant."""
    return torch.sin(t[:, 1] - t[:, 0])


def absolute_time(t: Tensor) -> Tensor:
    """``sin(t1 - t0) + cos(t0)``: depends on absolute time."""
    return time_difference(t) + torch.cos(t[:, 0])


class DeepSets(nn.Module):
    """``rho(sum_i phi(|q_i - q_cm|^2, s_i))``: E(3) x S_N invariant, ``(B, N, 3), (B, N, C)``.

    Returns ``(B, 2)`` globals. Built in float32 (torch's default) on purpose.
    """

    def __init__(self, channels: int = 2, hidden: int = 16) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(1)
        self.phi = nn.Sequential(nn.Linear(1 + channels, hidden), nn.Tanh(), nn.Linear(hidden, 8))
        self.rho = nn.Sequential(nn.Linear(8, hidden), nn.Tanh(), nn.Linear(hidden, 2))
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=gen) * 0.5)

    def forward(self, q: Tensor, s: Tensor) -> Tensor:
        r2 = ((q - q.mean(-2, keepdim=True)) ** 2).sum(-1, keepdim=True)
        return self.rho(self.phi(torch.cat([r2, s], dim=-1)).sum(-2))


class OrderedSets(DeepSets):
    """:class:`DeepSets` with a position-dependent weight in the sum: breaks S_N."""

    def forward(self, q: Tensor, s: Tensor) -> Tensor:
        r2 = ((q - q.mean(-2, keepdim=True)) ** 2).sum(-1, keepdim=True)
        w = torch.linspace(1.0, 1.5, q.shape[-2], dtype=q.dtype)[:, None]
        return self.rho((w * self.phi(torch.cat([r2, s], dim=-1))).sum(-2))
