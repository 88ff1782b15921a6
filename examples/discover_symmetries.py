"""Discovering symmetries: exact systems, a hidden symmetry, and learned Lagrangians.

1. The two-body spring: ``discover`` returns the six generators of E(3)
   (three translations, three rotations) and the time shift, with the Lie
   algebra they span, and ``check`` verifies their charges along trajectories.
2. The Kepler problem in Hamiltonian form: ``discover_hamiltonian`` finds the
   angular momentum and the Runge-Lenz vector, a symmetry that is not a point
   symmetry.
3. Lagrangian neural networks trained on the 2D isotropic oscillator, which is
   rotation invariant: an MLP potential of the raw positions learns the
   rotation approximately (small, separated singular value); an MLP of the
   raw state ``(q, qdot)`` learns the dynamics but not a rotation-invariant
   ``L``, because terms the dynamics cannot see (odd in the velocity, such as
   total derivatives ``grad F(q) . qdot``) are left unconstrained.

Set ``SYMNET_EXAMPLE_SMALL=1`` to run in seconds (fewer states and steps).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import torch
from torch import nn

import symnet as sn
from symnet.mechanics import lagrangian_vector_field

SMALL = os.environ.get("SYMNET_EXAMPLE_SMALL") == "1"
STEPS = 60 if SMALL else 400
torch.manual_seed(0)


def exact_systems() -> None:
    """Two-body spring (Lagrangian) and Kepler (Hamiltonian): exact symmetries."""
    gen = torch.Generator().manual_seed(0)
    spring = sn.systems.TwoBodySpring()
    q, v = spring.sample_states(64 if SMALL else 200, gen)
    found = sn.noether.discover(spring.lagrangian, q, v)
    print(found, "\n")
    assert found.names[:6] == [
        *("translation_x", "translation_y", "translation_z"),
        *("rotation_x", "rotation_y", "rotation_z"),
    ]
    report = found.check(q[:4], v[:4], dt=0.02, steps=20 if SMALL else 100, method="leapfrog")
    print(report, "\n")
    assert report.all_conserved

    kepler = sn.systems.Kepler()
    q, v = kepler.sample_states(200 if SMALL else 400, gen)
    families = ("affine", "quadratic", "cubic", "radial")
    charges = sn.noether.discover_hamiltonian(
        kepler.hamiltonian, q, kepler.momentum(q, v), families
    )
    print(charges, "\n")
    assert "runge_lenz_z" in charges.names


class MLPPotential(nn.Module):
    """``L = |qdot|^2 / 2 - V(q)`` with ``V`` an MLP of the raw positions (no invariants)."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.V = nn.Sequential(
            nn.Linear(2, width), nn.Softplus(), nn.Linear(width, width), nn.Softplus(),
            nn.Linear(width, 1),
        )  # fmt: skip

    def forward(self, q: torch.Tensor, qdot: torch.Tensor) -> torch.Tensor:
        """``L``, shape ``(B,)``."""
        return 0.5 * (qdot**2).sum((-1, -2)) - self.V(q.reshape(q.shape[0], -1))[:, 0]


class MLPLagrangian(nn.Module):
    """``L = |qdot|^2 / 2 + MLP(q, qdot)``: the MLP sees the raw state."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(4, width), nn.Softplus(), nn.Linear(width, width), nn.Softplus(),
            nn.Linear(width, 1),
        )  # fmt: skip

    def forward(self, q: torch.Tensor, qdot: torch.Tensor) -> torch.Tensor:
        """``L``, shape ``(B,)``."""
        x = torch.cat([q.reshape(q.shape[0], -1), qdot.reshape(q.shape[0], -1)], dim=-1)
        return 0.5 * (qdot**2).sum((-1, -2)) + self.net(x)[:, 0]


def even_part(model: nn.Module) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """``(L(q, qdot) + L(q, -qdot)) / 2``: drops every term odd in ``qdot``."""

    def lagrangian(q: torch.Tensor, qdot: torch.Tensor) -> torch.Tensor:
        return 0.5 * (model(q, qdot) + model(q, -qdot))

    return lagrangian


def train(model: nn.Module, system: sn.systems.System, steps: int) -> float:
    """Fit the Euler-Lagrange accelerations of ``model`` to the system's (float32, Adam)."""
    gen = torch.Generator().manual_seed(1)
    q, v = system.sample_states(2048, gen)
    a = system.acceleration(q, v).float()
    q, v = q.float(), v.float()
    field = lagrangian_vector_field(model)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(steps):
        idx = torch.randint(0, q.shape[0], (256,), generator=gen)
        loss = ((field(q[idx], v[idx]) - a[idx]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return float(loss.detach()) / float((a**2).mean())


def learned() -> None:
    """Train two LNNs on the isotropic oscillator and discover their symmetries."""
    system = sn.systems.IsotropicOscillator()
    q, v = system.sample_states(400, torch.Generator().manual_seed(2))
    for model in (MLPPotential(), MLPLagrangian()):
        start = time.perf_counter()
        err = train(model, system, STEPS)
        took = time.perf_counter() - start
        name = type(model).__name__
        print(f"{name}: {STEPS} Adam steps in {took:.0f} s, relative acceleration error {err:.1e}")
        found = sn.noether.discover(model, q, v)
        print(found, "\n")
        if isinstance(model, MLPLagrangian):
            print(f"{name}, its part even in qdot:")
            print(sn.noether.discover(even_part(model.double()), q, v), "\n")


if __name__ == "__main__":
    exact_systems()
    learned()
