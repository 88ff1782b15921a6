"""Shared test models for the Noether checker tests."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class MLPLagrangian(nn.Module):
    """A randomly initialized float32 MLP ``L(q, qdot)`` for ``q, qdot`` of shape ``(B, 2, 2)``.

    It has no symmetry but the time shift (it does not depend on ``t``).
    """

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.net = nn.Sequential(
                nn.Linear(8, 32), nn.Softplus(), nn.Linear(32, 32), nn.Softplus(), nn.Linear(32, 1)
            )

    def forward(self, q: Tensor, qdot: Tensor) -> Tensor:
        return self.net(torch.cat([q.flatten(1), qdot.flatten(1)], dim=-1)).squeeze(-1)


class AnisotropicWell:
    """One particle in 3D, ``L = 1/2 |v|^2 - V(r_eps)``, ``V = r^4/4 - r^2/2``.

    ``r_eps^2 = x^2 + (1 + eps) y^2 + z^2``: the rotations about x and z are
    broken with a relative invariance error of ``eps / (2 + eps)`` at *every*
    state (the size of the breaking is a fixed fraction of the terms of the
    Lie derivative); the rotation about y stays exact. Closed-form
    acceleration ``a = -(r_eps^2 - 1) (x, (1 + eps) y, z)``.
    """

    def __init__(self, eps: float) -> None:
        self.eps = eps
        self.w = torch.tensor([1.0, 1.0 + eps, 1.0], dtype=torch.float64)

    def _r2(self, q: Tensor) -> Tensor:
        return (self.w.to(q) * q * q).sum((-1, -2))

    def lagrangian(self, q: Tensor, qdot: Tensor) -> Tensor:
        r2 = self._r2(q)
        return 0.5 * (qdot * qdot).sum((-1, -2)) - (0.25 * r2 * r2 - 0.5 * r2)

    def acceleration(self, q: Tensor, qdot: Tensor) -> Tensor:
        return -(self._r2(q) - 1.0)[:, None, None] * self.w.to(q) * q
